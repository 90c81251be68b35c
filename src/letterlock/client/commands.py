"""The client sub-commands of ``letterlock`` (argument parsing stays in cli.py).

Every command prints human-readable text, or one JSON document with ``--json``
(``receive`` prints one line per event: JSON lines with ``--json``). Errors go to stderr
(as ``{"error", "detail"}`` with ``--json``) with exit status 1.

Printing received message text is this module's purpose (it is the user's own
terminal); nothing else here prints or logs message content or keys (``verify`` prints
the safety number and its QR code: meant to be compared, and derived from public keys).

Security events (a device on our account we did not link, or removed by someone else; a
split view of the log) are printed boxed under a ``!! SECURITY`` banner by ``receive``,
and ``audit`` exits 1 when the log is broken, saying what broke.

``send`` says whether the message was delivered to the server or only queued in the
profile's outbox (the server could not be reached): ``"status": "sent"|"queued"``
with ``--json``. A queued message is sent by the next ``send`` or ``receive``, which
prints a ``delivery`` line when it goes out (or fails for good).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import io
import json
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import httpx
import segno

from letterlock.transparency import AuditReport, TransparencyError

from .audit import AuditState, run_audit
from .client import Account, Client, Device
from .content import Text
from .conversations import Conversation
from .errors import ClientError, NotRegistered, ServerError
from .events import (
    ContactDevicesChanged,
    ConversationJoined,
    DeliveryGap,
    DeliveryStatus,
    DeviceRemovedFromAccount,
    Error,
    Event,
    MembershipChanged,
    MessageDelivery,
    MessageReceived,
    NewDeviceOnAccount,
    RemovedFromConversation,
    SplitViewAlert,
)
from .transport import Api

__all__ = ["run_client_command"]


def _fingerprint(key: bytes) -> str:
    return key.hex()[:16]


def _account_json(account: Account) -> dict[str, Any]:
    data = asdict(account)
    data["signature_key"] = base64.b64encode(account.signature_key).decode()
    return data


def _device_json(device: Device) -> dict[str, Any]:
    data = asdict(device)
    data["signature_key"] = base64.b64encode(device.signature_key).decode()
    return data


async def _register(client: Client, args: argparse.Namespace) -> tuple[Any, str]:
    account = await client.register(args.handle, args.server, invite=args.invite)
    return _account_json(account), (
        f"registered {account.handle} on {account.server_url}\n"
        f"device {account.device_id} (key {_fingerprint(account.signature_key)})")


async def _show(client: Client, _args: argparse.Namespace) -> tuple[Any, str]:
    account = client.account()
    return _account_json(account), (
        f"{account.handle} on {account.server_url}\n"
        f"device {account.device_id} (key {_fingerprint(account.signature_key)}, "
        f"cipher suite {account.cipher_suite})")


async def _devices(client: Client, _args: argparse.Namespace) -> tuple[Any, str]:
    devices = await client.devices()
    lines = [f"{'*' if d.current else ' '} {d.device_id}  key {_fingerprint(d.signature_key)}"
             f"  suite {d.cipher_suite}  added {d.created_at}" for d in devices]
    return {"devices": [_device_json(d) for d in devices]}, "\n".join(lines)


# conversations ---------------------------------------------------------------------------

def _conversation_json(conv: Conversation) -> dict[str, Any]:
    return {"id": conv.id.hex(), "direct": conv.direct, "name": conv.name,
            "title": conv.title, "members": list(conv.members), "active": conv.active,
            "created_at": conv.created_at}


def _conversation_line(conv: Conversation) -> str:
    kind = "direct" if conv.direct else "group"
    state = "" if conv.active else "  (left)"
    return (f"{conv.id.hex()[:12]}  {kind:6}  {conv.title}  "
            f"[{', '.join(conv.members)}]{state}")


async def _send(client: Client, args: argparse.Namespace) -> tuple[Any, str]:
    if args.to.startswith("@"):
        conv = await client.start_conversation(args.to)
    else:
        conv = await client.conversation(args.to)
    sent = await client.send_message(conv, args.text)
    queued = sent.status is DeliveryStatus.PENDING
    data = {"conversation": conv.id.hex(), "client_message_id": sent.client_message_id.hex(),
            "status": "queued" if queued else "sent", "queued": queued}
    if queued:
        return data, (f"queued for {conv.title}, NOT delivered yet: the server could not "
                      "be reached. It is kept (encrypted) in this profile and sent the next "
                      "time it connects (letterlock send or receive).")
    return data, f"sent to {conv.title}"


async def _group_create(client: Client, args: argparse.Namespace) -> tuple[Any, str]:
    conv = await client.create_group(args.name, args.handles)
    return _conversation_json(conv), f"created {_conversation_line(conv)}"


async def _group_add(client: Client, args: argparse.Namespace) -> tuple[Any, str]:
    conv = await client.conversation(args.group)
    await client.add_members(conv, args.handles)
    conv = await client.conversation(conv.id)
    return _conversation_json(conv), f"added {', '.join(args.handles)} to {conv.title}"


async def _group_remove(client: Client, args: argparse.Namespace) -> tuple[Any, str]:
    conv = await client.conversation(args.group)
    await client.remove_members(conv, args.handles)
    conv = await client.conversation(conv.id)
    return (_conversation_json(conv),
            f"removed {', '.join(args.handles)} from {conv.title}")


async def _group_leave(client: Client, args: argparse.Namespace) -> tuple[Any, str]:
    conv = await client.conversation(args.group)
    await client.leave(conv)
    return ({"conversation": conv.id.hex(), "requested": True},
            f"asked to leave {conv.title}; another member completes it")


async def _group_list(client: Client, _args: argparse.Namespace) -> tuple[Any, str]:
    convs = await client.conversations()
    return ({"conversations": [_conversation_json(c) for c in convs]},
            "\n".join(_conversation_line(c) for c in convs) or "no conversations")


async def _group_members(client: Client, args: argparse.Namespace) -> tuple[Any, str]:
    conv = await client.conversation(args.group)
    members = await client.members(conv)
    return ({"conversation": conv.id.hex(), "members": [asdict(m) for m in members]},
            "\n".join(f"{'*' if m.current else ' '} {m.handle}  device "
                      f"{m.device_id or '?'}  leaf {m.leaf}" for m in members))


async def _group_rename(client: Client, args: argparse.Namespace) -> tuple[Any, str]:
    conv = await client.rename(await client.conversation(args.group), args.name)
    return _conversation_json(conv), f"renamed {_conversation_line(conv)}"


async def _verify(client: Client, args: argparse.Namespace) -> tuple[Any, str]:
    """A safety number (and its QR code) with ``@handle``, or a group's epoch code."""
    if args.target.startswith("@"):
        number = await client.safety_number(args.target)
        qr = io.StringIO()
        segno.make(number.replace(" ", ""), error="m").terminal(out=qr, compact=True)
        rows = [number[i:i + 23] for i in range(0, len(number), 24)]
        text = (f"safety number with {args.target} (compare it with theirs, or scan "
                f"their code):\n\n" + "\n".join(f"    {row}" for row in rows) +
                "\n\n" + qr.getvalue())
        return {"handle": args.target, "safety_number": number}, text
    conv = await client.conversation(args.target)
    epoch, code = await client.epoch_code(conv)
    return ({"conversation": conv.id.hex(), "epoch": epoch, "epoch_code": code},
            f"{conv.title} at epoch {epoch}: {code}\n"
            "(every member sees the same code at the same epoch)")


def event_json(event: Event, titles: dict[bytes, str]) -> dict[str, Any] | None:
    """One event as a JSON object for ``receive --json`` (None: not shown)."""
    if isinstance(event, NewDeviceOnAccount):
        return {"type": "security", "alert": "new_device_on_account",
                "handle": event.handle, "device_id": event.device_id,
                "log_index": event.index, "known_device": event.known_device,
                "message": f"a device you did not link ({event.device_id}) was added to "
                           f"{event.handle}" + (" with a new key" if event.known_device
                                                else "")}
    if isinstance(event, DeviceRemovedFromAccount):
        return {"type": "security", "alert": "device_removed_from_account",
                "handle": event.handle, "device_id": event.device_id,
                "log_index": event.index,
                "message": f"a device ({event.device_id}) was removed from {event.handle}, "
                           "and not by this device"}
    if isinstance(event, SplitViewAlert):
        where = titles.get(event.conversation_id) if event.conversation_id else None
        return {"type": "security", "alert": "split_view",
                "conversation": event.conversation_id.hex() if event.conversation_id
                else None, "title": where, "sender": event.sender,
                "message": f"the server may be showing people different key logs: "
                           f"{event.detail}"}
    if isinstance(event, ContactDevicesChanged):
        return {"type": "contact_devices", "handle": event.handle, "reason": event.reason}
    if isinstance(event, MessageReceived):
        body = event.content.body
        return {"type": "message", "conversation": event.conversation_id.hex(),
                "title": titles.get(event.conversation_id), "sender": event.sender,
                "seq": event.seq, "client_message_id": event.content.client_message_id.hex(),
                "sent_at_ms": event.content.sent_at_ms,
                "text": body.text if isinstance(body, Text) else None,
                "content_type": event.content.content_type,
                "group_seq": event.group_seq, "late": event.late}
    if isinstance(event, ConversationJoined):
        return {"type": "joined", "conversation": event.conversation_id.hex(),
                "by": event.by, "members": list(event.members), "direct": event.direct}
    if isinstance(event, MembershipChanged):
        return {"type": "membership", "conversation": event.conversation_id.hex(),
                "by": event.by, "epoch": event.epoch, "added": list(event.added),
                "removed": list(event.removed)}
    if isinstance(event, RemovedFromConversation):
        return {"type": "removed", "conversation": event.conversation_id.hex(),
                "by": event.by}
    if isinstance(event, MessageDelivery):
        return {"type": "delivery", "conversation": event.conversation_id.hex(),
                "title": titles.get(event.conversation_id),
                "client_message_id": event.client_message_id.hex(),
                "status": "queued" if event.status is DeliveryStatus.PENDING
                else event.status.value, "detail": event.detail}
    if isinstance(event, DeliveryGap):
        return {"type": "gap", "first": event.first, "last": event.last,
                "conversation": event.conversation_id.hex()
                if event.conversation_id else None}
    if isinstance(event, Error):
        return {"type": "error", "message": event.message, "seq": event.seq,
                "fatal": event.fatal}
    return None


def event_text(data: dict[str, Any]) -> str:
    """The human line for an event_json object."""
    where = data.get("title") or str(data.get("conversation") or "")[:12]
    kind = data["type"]
    if kind == "message":
        shown = data["text"] if data["text"] is not None else \
            f"<content type {data['content_type']}>"
        late = " (arrived late: fills an earlier gap)" if data.get("late") else ""
        return f"[{where}] {data['sender']}: {shown}{late}"
    if kind == "joined":
        return f"* {data['by']} added you to [{where}] with {', '.join(data['members'])}"
    if kind == "membership":
        parts = [f"added {', '.join(data['added'])}"] if data["added"] else []
        parts += [f"removed {', '.join(data['removed'])}"] if data["removed"] else []
        return f"* [{where}] {data['by']} {' and '.join(parts) or 'changed devices'}"
    if kind == "removed":
        return f"* [{where}] {data['by']} removed you"
    if kind == "security":
        line = f"!! SECURITY: {data['message']}"
        bar = "!" * min(len(line) + 4, 100)
        return f"{bar}\n! {line} !\n{bar}"
    if kind == "contact_devices":
        return (f"* {data['handle']}'s devices changed ({data['reason']}); your safety "
                f"number with them changed")
    if kind == "delivery":
        said = {"queued": "is queued (the server could not be reached)",
                "sent": "was sent", "failed": "could not be sent"}[data["status"]]
        detail = f": {data['detail']}" if data["status"] == "failed" else ""
        return f"* [{where}] your message {data['client_message_id'][:8]} {said}{detail}"
    if kind == "gap":
        return f"! [{where}] messages {data['first']}..{data['last']} have not arrived"
    return f"! error: {data['message']}"


async def _receive(client: Client, args: argparse.Namespace) -> int:
    """Print events: without ``--follow`` until ``--timeout`` seconds (default 2) pass
    with nothing new; with it, until ``--timeout`` seconds in all (default: forever)."""
    follow, timeout = args.follow, args.timeout
    idle = timeout if timeout is not None else 2.0
    deadline = time.monotonic() + timeout if follow and timeout is not None else None
    titles = {c.id: c.title for c in await client.conversations()}
    events = client.events()
    status = 0
    while True:
        wait = idle if not follow else (None if deadline is None
                                        else max(deadline - time.monotonic(), 0))
        try:
            event = await asyncio.wait_for(anext(events), wait)
        except (TimeoutError, StopAsyncIteration):
            break
        if isinstance(event, ConversationJoined | MembershipChanged):
            titles = {c.id: c.title for c in await client.conversations()}
        data = event_json(event, titles)
        if data is None:
            continue
        print(json.dumps(data) if args.json else event_text(data), flush=True)
        if isinstance(event, Error) and event.fatal:
            status = 1
            break
    await client.background_done()  # e.g. committing a member's leave request
    return status


_COMMANDS: dict[tuple[str, str], Callable[[Client, argparse.Namespace],
                                          Awaitable[tuple[Any, str]]]] = {
    ("account", "register"): _register,
    ("account", "show"): _show,
    ("devices", "list"): _devices,
    ("send", ""): _send,
    ("group", "create"): _group_create,
    ("group", "add"): _group_add,
    ("group", "remove"): _group_remove,
    ("group", "leave"): _group_leave,
    ("group", "list"): _group_list,
    ("group", "members"): _group_members,
    ("group", "rename"): _group_rename,
    ("verify", ""): _verify,
}


async def _audit(args: argparse.Namespace) -> tuple[Any, str] | int:
    """Replay the log of ``--server``; exit 1 and say what broke if it is broken.

    Without ``--auditor-token`` the profile's device logs in to read the log, which
    only works on the server it is registered on: for any other server this refuses
    (a ClientError, exit 1) rather than audit the profile's server instead.
    """
    state_path = Path(args.state) if args.state else None
    state = AuditState.load(state_path) if state_path else AuditState()
    api = Api(args.server)
    try:
        if args.auditor_token is None:
            async with Client.open(args.profile) as client:
                report = await _audited(_device_api(client, api.server_url), state, None,
                                        state_path)
        else:
            report = await _audited(api, state, args.auditor_token, state_path)
    except TransparencyError as exc:
        data = {"ok": False, "broken": type(exc).__name__, "detail": str(exc)}
        if args.json:
            print(json.dumps(data))
        else:
            print(f"!! AUDIT FAILED: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    finally:
        await api.aclose()
    return ({"ok": True, "entries": report.entries, "added": report.added,
             "removed": report.removed, "tree_heads": report.tree_heads,
             "root_hash": report.root_hash.hex(),
             "removals_of_unknown": list(report.removals_of_unknown)},
            f"audit passed: {report.entries} entries ({report.added} added, "
            f"{report.removed} removed), {report.tree_heads} tree heads consistent"
            + (f"; removals of unknown devices at {list(report.removals_of_unknown)}"
               if report.removals_of_unknown else ""))


def _device_api(client: Client, server_url: str) -> Api:
    """The profile's logged-in API, if its account is on ``server_url``.

    :raises ClientError: the profile has no account there: an auditor token is needed.
    """
    try:
        registered_on: str | None = client.account().server_url
    except NotRegistered:
        registered_on = None
    if registered_on is None or _origin(registered_on) != _origin(server_url):
        where = ("has no account" if registered_on is None
                 else f"is registered on {registered_on}")
        raise ClientError(f"auditing {server_url} needs --auditor-token: this profile "
                          f"{where}, so its device cannot log in there")
    return client.api


def _origin(url: str) -> tuple[str, str, int | None, str]:
    """``url`` as compared for "the same server" (case, default port, trailing /)."""
    parsed = httpx.URL(url)
    return parsed.scheme, parsed.host, parsed.port, parsed.path.rstrip("/")


async def _audited(api: Api, state: AuditState, token: str | None,
                   state_path: Path | None) -> AuditReport:
    try:
        return await run_audit(api, state, token=token)
    finally:
        if state_path is not None:
            state.save(state_path)  # the heads seen are evidence, whatever the outcome


async def _run(args: argparse.Namespace) -> tuple[Any, str] | int:
    if args.command == "audit":
        return await _audit(args)
    async with Client.open(args.profile) as client:
        if args.command == "receive":
            return await _receive(client, args)
        command = _COMMANDS[(args.command, getattr(args, "action", None) or "")]
        return await command(client, args)


def run_client_command(args: argparse.Namespace) -> int:
    """Run ``args.command``/``args.action`` against ``args.profile``; the exit status."""
    try:
        result = asyncio.run(_run(args))
        if isinstance(result, int):
            return result
        data, text = result
    except ClientError as exc:
        code = exc.code if isinstance(exc, ServerError) else type(exc).__name__
        detail = exc.detail if isinstance(exc, ServerError) else str(exc)
        if args.json:
            print(json.dumps({"error": code, "detail": detail}), file=sys.stderr)
        else:
            print(f"error: {detail} ({code})", file=sys.stderr)
        return 1
    print(json.dumps(data) if args.json else text)
    return 0
