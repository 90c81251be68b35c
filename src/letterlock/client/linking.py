"""Linking a device to an existing account, and removing one: the owner's own changes,
which the key-transparency monitor must not mistake for an attack.

The flow (``letterlock v1 add-device`` statement, see
:mod:`letterlock.protocol.statements`)::

    new device (B)                      approving device (A)             server
    Client.request_link(handle, url) ── POST /v1/accounts/{h}/nonces ──────────►
      (its key is made and sealed first)
    LinkRequest ─────────── out of band (QR code, copy and paste) ──►
                                        Client.approve_link(request):
                                          signs the statement; records the key as
                                          approved, so its log entry is no alert
    ◄─────────── LinkApproval (the signature, and A's known devices) ─
    Client.complete_link(request, approval) ── POST /v1/accounts/{h}/devices ──►
      pins the log; trusts the devices A named, each only if the log proves it
      with that key; anything else in the log for the account still alerts

Both objects travel as bytes (:meth:`LinkRequest.to_bytes`); they hold public keys,
a server nonce and a signature, nothing secret. Removal
(:meth:`letterlock.client.Client.remove_device`) is announced to the monitor before it
is sent, so its log entry is no alert either.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

from letterlock.codec import DecodeError, Reader, Writer, decode, encode

from .errors import LinkError, TransportError
from .transport import Api

__all__ = ["LinkApproval", "LinkError", "LinkRequest", "add_device", "approval_nonce",
           "remove_device"]

_REQUEST_LABEL = b"letterlock link request v1"
_APPROVAL_LABEL = b"letterlock link approval v1"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _label(r: Reader, label: bytes, what: str) -> None:
    if r.pull_opaque() != label:
        raise DecodeError(f"not a {what}", 0)


@dataclass(frozen=True, slots=True)
class LinkRequest:
    """What the new device hands the approving one: the account and server, its public
    signature key and suite, and the server's single-use nonce with its expiry."""

    handle: str
    server_url: str
    signature_key: bytes
    cipher_suite: int
    nonce: bytes
    expires_at: int

    def to_bytes(self) -> bytes:
        def body(w: Writer) -> None:
            w.push_opaque(_REQUEST_LABEL)
            w.push_opaque(self.handle.encode())
            w.push_opaque(self.server_url.encode())
            w.push_opaque(self.signature_key)
            w.push_uint16(self.cipher_suite)
            w.push_opaque(self.nonce)
            w.push_uint64(self.expires_at)

        return encode(body)

    @classmethod
    def from_bytes(cls, data: bytes) -> LinkRequest:
        """:raises LinkError: not a link request."""
        def body(r: Reader) -> LinkRequest:
            _label(r, _REQUEST_LABEL, "link request")
            return cls(r.pull_utf8("handle"), r.pull_utf8("server URL"), r.pull_opaque(),
                       r.pull_uint16(), r.pull_opaque(), r.pull_uint64())

        try:
            return decode(data, body)
        except DecodeError as exc:
            raise LinkError(f"not a link request: {exc}") from None


@dataclass(frozen=True, slots=True)
class LinkApproval:
    """What the approving device hands back: its device id, its signature over the
    add-device statement, and the account's devices it knows (id, signature key)."""

    approver_device_id: str
    approval: bytes
    devices: tuple[tuple[str, bytes], ...]

    def to_bytes(self) -> bytes:
        def body(w: Writer) -> None:
            def device(sub: Writer, pair: tuple[str, bytes]) -> None:
                sub.push_opaque(pair[0].encode())
                sub.push_opaque(pair[1])

            w.push_opaque(_APPROVAL_LABEL)
            w.push_opaque(self.approver_device_id.encode())
            w.push_opaque(self.approval)
            w.push_vector(self.devices, device)

        return encode(body)

    @classmethod
    def from_bytes(cls, data: bytes) -> LinkApproval:
        """:raises LinkError: not a link approval."""
        def body(r: Reader) -> LinkApproval:
            _label(r, _APPROVAL_LABEL, "link approval")
            approver, approval = r.pull_utf8("device id"), r.pull_opaque()
            devices = r.pull_vector(lambda sub: (sub.pull_utf8("device id"),
                                                 sub.pull_opaque()))
            return cls(approver, approval, tuple(devices))

        try:
            return decode(data, body)
        except DecodeError as exc:
            raise LinkError(f"not a link approval: {exc}") from None


async def approval_nonce(api: Api, handle: str, purpose: str) -> tuple[bytes, int]:
    """A single-use server nonce for an ``add-device`` or ``remove-device`` statement
    about ``handle``, and when it expires (Unix seconds).

    :raises ServerError: e.g. NotFoundError (no such account); :raises TransportError.
    """
    issued = await api.call("POST", f"/v1/accounts/{handle}/nonces", {"purpose": purpose},
                            auth=False)
    return _field(issued, "nonce", lambda v: base64.b64decode(v, validate=True)), \
        _field(issued, "expires_at", int)


async def add_device(api: Api, request: LinkRequest, approval: LinkApproval,
                     possession: bytes) -> tuple[str, bytes | None]:
    """Register the new device with its approval; its device id and the server's log
    key (None if it has no log).

    :raises ServerError: e.g. AuthError (nonce used or expired, a signature does not
        verify), ForbiddenError (the approver is not the account's); TransportError.
    """
    created = await api.call("POST", f"/v1/accounts/{request.handle}/devices", {
        "signature_key": _b64(request.signature_key), "cipher_suite": request.cipher_suite,
        "approver_device_id": approval.approver_device_id, "nonce": _b64(request.nonce),
        "approval": _b64(approval.approval), "possession": _b64(possession)}, auth=False)
    key = created.get("log_public_key")
    return _field(created, "device_id", str), \
        None if key is None else _field(created, "log_public_key",
                                        lambda v: base64.b64decode(v, validate=True))


async def remove_device(api: Api, device_id: str, nonce: bytes, signature: bytes) -> None:
    """Remove ``device_id`` of our account (signed ``remove-device`` statement).

    :raises ServerError: NotFoundError, ForbiddenError, ConflictError (the account's
        last device), AuthError; :raises TransportError.
    """
    await api.call("POST", f"/v1/devices/{device_id}/remove",
                   {"nonce": _b64(nonce), "signature": _b64(signature)})


def _field(found: Any, name: str, parse: Any) -> Any:
    try:
        return parse(found[name])
    except (KeyError, TypeError, ValueError) as exc:
        raise TransportError(f"malformed answer from the server ({name}): {exc}") from None
