"""Mailbox over HTTP: direct sends, fetch and acknowledge (the WebSocket is in ws.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from .deps import CurrentDevice, Now, Svc
from .schemas import (
    MAX_SEQ,
    AckRequest,
    AckResponse,
    GapOut,
    MailboxEntryOut,
    MailboxPage,
    SendRequest,
    SendResponse,
)

router = APIRouter(prefix="/v1", tags=["mailbox"])


@router.post("/messages")
async def send(body: SendRequest, svc: Svc, now: Now, device: CurrentDevice) -> SendResponse:
    """Send opaque bytes to devices' mailboxes; a repeated client_msg_id is a no-op."""
    sent = await svc.mailbox.send(device.id, body.client_msg_id, body.recipients,
                                  body.payload, now)
    return SendResponse(duplicate=sent.duplicate, seqs=sent.seqs)


@router.get("/mailbox")
async def fetch(svc: Svc, now: Now, device: CurrentDevice,
                after: Annotated[int, Query(ge=0, le=MAX_SEQ)] = 0,
                limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> MailboxPage:
    """Entries after sequence ``after``; ``gap`` names sequences lost to retention."""
    page = await svc.mailbox.fetch(device.id, after, now, limit)
    return MailboxPage(
        entries=[MailboxEntryOut(seq=e.seq, sender_device_id=e.sender_device_id,
                                 payload=e.payload, created_at=e.created_at)
                 for e in page.entries],
        gap=GapOut(first=page.gap[0], last=page.gap[1]) if page.gap else None)


@router.post("/mailbox/ack")
async def ack(body: AckRequest, svc: Svc, device: CurrentDevice) -> AckResponse:
    """Delete every entry up to and including ``seq``."""
    return AckResponse(acked=await svc.mailbox.acknowledge(device.id, body.seq))
