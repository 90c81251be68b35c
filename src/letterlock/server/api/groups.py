"""Group delivery over HTTP: create a group, commit, send, catch up.

Group ids travel in paths as unpadded base64url (RFC 4648 §5); bodies use standard
base64 like every other route.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Annotated

from fastapi import APIRouter, Path, Query

from letterlock.server.services.errors import InvalidInput

from .deps import CurrentDevice, Now, Svc
from .schemas import (
    MAX_SEQ,
    AcceptedOut,
    CommitOut,
    CommitRequest,
    CommitsOut,
    CreateGroupRequest,
    GroupCreatedOut,
    GroupMemberOut,
    GroupMessageRequest,
    GroupOut,
)

router = APIRouter(prefix="/v1/groups", tags=["groups"])

# A group id in a path or a ``send`` frame: unpadded base64url (up to 255 bytes).
GROUP_ID = re.compile(r"[A-Za-z0-9_-]{1,344}")
GroupIdPath = Annotated[str, Path(pattern=f"^{GROUP_ID.pattern}$",
                                  description="group id, unpadded base64url")]


def group_id_of(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise InvalidInput("group id is not base64url", "bad_group_id") from None


def group_id_text(group_id: bytes) -> str:
    return base64.urlsafe_b64encode(group_id).decode().rstrip("=")


@router.post("", status_code=201)
async def create(body: CreateGroupRequest, svc: Svc, now: Now,
                 device: CurrentDevice) -> GroupCreatedOut:
    """Register a new group from a member's GroupInfo (with its ratchet tree)."""
    created = await svc.delivery.create_group(device, body.group_info, body.ratchet_tree, now)
    return GroupCreatedOut(group_id=group_id_text(created.group_id), epoch=created.epoch)


@router.get("/{group_id}")
async def show(group_id: GroupIdPath, svc: Svc, device: CurrentDevice) -> GroupOut:
    """The group's epoch and member devices (members only)."""
    view = await svc.delivery.view(device, group_id_of(group_id))
    return GroupOut(group_id=group_id, epoch=view.epoch,
                    members=[GroupMemberOut(leaf=leaf, device_id=d, handle=h)
                             for leaf, d, h in view.members])


@router.post("/{group_id}/commit")
async def commit(group_id: GroupIdPath, body: CommitRequest, svc: Svc, now: Now,
                 device: CurrentDevice) -> AcceptedOut:
    """A commit for the current epoch; 409 ``epoch_advanced`` (with the commits to catch
    up on) when another commit won it."""
    accepted = await svc.delivery.commit(device, group_id_of(group_id), body.client_msg_id,
                                         body.commit, body.welcome, now)
    return AcceptedOut(seq=accepted.seq, epoch=accepted.epoch, duplicate=accepted.duplicate)


@router.post("/{group_id}/messages")
async def send(group_id: GroupIdPath, body: GroupMessageRequest, svc: Svc, now: Now,
               device: CurrentDevice) -> AcceptedOut:
    """An application message or proposal from a member device, for the current epoch."""
    accepted = await svc.delivery.send(device, group_id_of(group_id), body.client_msg_id,
                                       body.message, now)
    return AcceptedOut(seq=accepted.seq, epoch=accepted.epoch, duplicate=accepted.duplicate)


@router.get("/{group_id}/commits")
async def commits(group_id: GroupIdPath, svc: Svc, device: CurrentDevice,
                  since: Annotated[int, Query(ge=0, le=MAX_SEQ)] = 0) -> CommitsOut:
    """Accepted commits sent in epoch ``since`` or later, to catch up."""
    found = await svc.delivery.commits_since(device, group_id_of(group_id), since)
    return CommitsOut(commits=[CommitOut(epoch=c.epoch, seq=c.seq, message=c.message)
                               for c in found])
