"""Key transparency: thin routes over TransparencyService.

Binary values are standard base64 of the :mod:`letterlock.transparency` encodings
(``to_bytes()``). The key and the tree head are public (anyone may follow the log); an
account's entries, which carry the openings of their handle commitments, need a device
token; the whole log (entries without openings) needs a device or an auditor token.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from .deps import CurrentDevice, Now, Svc, bearer_token, get_now, get_services
from .schemas import (
    AccountEntriesOut,
    LogEntriesOut,
    LogEntryOut,
    ProvenEntryOut,
    TransparencyKeyOut,
    TreeHeadOut,
)

router = APIRouter(prefix="/v1/transparency", tags=["transparency"])

MAX_INDEX = 2**63 - 1


async def _device_or_auditor(request: Request) -> None:
    """Let an auditor token through; anything else must be a valid device token."""
    services = get_services(request)
    token = bearer_token(request)
    if not services.transparency.is_auditor(token):
        await services.auth.authenticate(token, get_now(request))


DeviceOrAuditor = Annotated[None, Depends(_device_or_auditor)]


@router.get("/key")
async def log_key(svc: Svc) -> TransparencyKeyOut:
    """The log's public key and id (pin the key from the registration response)."""
    return TransparencyKeyOut(public_key=svc.transparency.public_key,
                              log_id=svc.transparency.log_id)


@router.get("/head")
async def tree_head(svc: Svc, now: Now,
                    since: Annotated[int, Query(ge=0, le=MAX_INDEX)] = 0) -> TreeHeadOut:
    """The current signed tree head, with a consistency proof from size ``since``."""
    head, proof = await svc.transparency.head(since, now)
    return TreeHeadOut(tree_head=head.to_bytes(),
                       consistency=proof.to_bytes() if proof is not None else None)


@router.get("/accounts/{handle}")
async def account_entries(handle: str, svc: Svc, now: Now, device: CurrentDevice,
                          after: Annotated[int, Query(ge=-1, le=MAX_INDEX)] = -1,
                          limit: Annotated[int, Query(ge=1, le=100)] = 100,
                          ) -> AccountEntriesOut:
    """``handle``'s entries after index ``after``, each opened and proven."""
    head, entries = await svc.transparency.account_entries(device.id, handle, after, limit,
                                                           now)
    return AccountEntriesOut(tree_head=head.to_bytes(), entries=[
        ProvenEntryOut(index=e.index, proven=e.to_bytes()) for e in entries])


@router.get("/entries")
async def log_entries(svc: Svc, now: Now, _caller: DeviceOrAuditor,
                      start: Annotated[int, Query(ge=0, le=MAX_INDEX)] = 0,
                      limit: Annotated[int, Query(ge=1, le=1000)] = 1000) -> LogEntriesOut:
    """The log's entries from ``start`` (no openings), for auditors and monitors."""
    head, entries = await svc.transparency.entries(start, limit, now)
    return LogEntriesOut(tree_head=head.to_bytes(), entries=[
        LogEntryOut(index=e.index, entry=e.entry) for e in entries])
