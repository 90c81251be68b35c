"""Who a group member is: the client's Authentication Service (RFC 9420 §5.3.1).

Letterlock credentials are basic credentials whose identity is the account handle
(``@alice``). A leaf is accepted when its signature key is the key of a device of that
handle. :class:`Directory` caches the server's device lists; :class:`CredentialPolicy`
is the MLS ``CredentialValidator`` over that cache.

Where the lists come from: with key transparency (the default), ``fetch`` is
:meth:`letterlock.client.keylog.KeyLog.devices` — each device proven by an entry opened
to the handle and included in the verified log — so the server cannot add a device of
its own making to ``@bob``'s list without logging it where @bob's monitor sees it. The
server's own device list (``name``) then only names a refused device in the error.
Without key transparency, ``fetch`` is the server's list.

Validation runs inside the receive pipeline's transaction, where there is no I/O. A
handle or key that the cache does not know raises
:class:`~letterlock.client.errors.UnknownIdentity` (not a verdict): the caller refreshes
those handles from the server and tries again, and only a key still unknown after a
fresh look-up is rejected (``CredentialRejectedError``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

from letterlock.mls.constants import CredentialType
from letterlock.mls.leaf_node import LeafNode
from letterlock.mls.tree_validation import CredentialRejectedError

from .errors import NotFoundError, UnknownIdentity
from .transport import DeviceInfo

__all__ = ["CredentialPolicy", "Directory", "handle_of", "resolving"]

T = TypeVar("T")


def handle_of(identity: bytes) -> str:
    """The handle a basic credential's identity names, or raise CredentialRejectedError."""
    try:
        handle = identity.decode("utf-8")
    except UnicodeDecodeError:
        raise CredentialRejectedError("credential identity is not UTF-8") from None
    if not handle.startswith("@") or len(handle) < 2:
        raise CredentialRejectedError("credential identity is not an @handle")
    return handle


@dataclass(frozen=True, slots=True)
class _Listing:
    devices: dict[bytes, str]  # signature key -> device id


class Directory:
    """The server's device lists, cached per handle for this session.

    ``fetch`` lists a handle's devices (the server's ``GET /v1/accounts/{h}/devices``).
    Handles refreshed since the last :meth:`settle` are *fresh*: a key missing from a
    fresh list is rejected rather than looked up again.
    """

    def __init__(self, fetch: Callable[[str], Awaitable[list[DeviceInfo]]], *,
                 name: Callable[[str], Awaitable[list[DeviceInfo]]] | None = None,
                 source: str = "the server's device list") -> None:
        self._fetch = fetch
        self._name = name
        self.source = source
        self._listings: dict[str, _Listing] = {}
        self._names: dict[str, _Listing] = {}
        self._fresh: set[str] = set()

    async def refresh(self, handles: Iterable[str]) -> None:
        """Fetch the device lists of ``handles`` (an unknown account lists no devices)."""
        for handle in sorted(set(handles)):
            try:
                listed = await self._fetch(handle)
            except NotFoundError:
                listed = []
            self._listings[handle] = _Listing({d.signature_key: d.device_id for d in listed})
            if self._name is not None:
                try:
                    named = await self._name(handle)
                except NotFoundError:
                    named = []
                self._names[handle] = _Listing({d.signature_key: d.device_id
                                                for d in named})
            self._fresh.add(handle)

    def settle(self) -> None:
        """Forget which handles are fresh (called after each operation)."""
        self._fresh.clear()

    def learn(self, handle: str, devices: Iterable[DeviceInfo]) -> None:
        """Record a listing obtained elsewhere (e.g. our own account's devices)."""
        self._listings[handle] = _Listing({d.signature_key: d.device_id for d in devices})

    def device_id(self, handle: str, signature_key: bytes) -> str | None:
        """The id of ``handle``'s device with this key, if the cache lists it."""
        listing = self._listings.get(handle)
        return None if listing is None else listing.devices.get(signature_key)

    def device_ids(self, handle: str) -> list[str]:
        """The device ids the cache lists for ``handle``."""
        listing = self._listings.get(handle)
        return [] if listing is None else sorted(listing.devices.values())

    def named(self, handle: str, signature_key: bytes) -> str | None:
        """The device id the server (unverified) gives this key, for error messages."""
        listing = self._names.get(handle)
        return None if listing is None else listing.devices.get(signature_key)

    def handle_of_device(self, device_id: str) -> str | None:
        """The handle whose cached listing has ``device_id``, if any."""
        for handle, listing in self._listings.items():
            if device_id in listing.devices.values():
                return handle
        return None

    def is_fresh(self, handle: str) -> bool:
        return handle in self._fresh


class CredentialPolicy:
    """The MLS credential validator: basic ``@handle`` credentials bound to that
    handle's device keys. Call it as a ``CredentialValidator``."""

    def __init__(self, directory: Directory) -> None:
        self.directory = directory

    def __call__(self, leaf: LeafNode, previous: LeafNode | None) -> None:
        credential = leaf.credential
        if credential.credential_type != CredentialType.BASIC:
            raise CredentialRejectedError("only basic @handle credentials are accepted")
        handle = handle_of(credential.identity)
        # §5.3.1: a replacement leaf must be a valid successor: the same account.
        if previous is not None and previous.credential != credential:
            raise CredentialRejectedError("a member's leaf may not change its identity")
        self.check_device(handle, leaf.signature_key)

    def check_device(self, handle: str, signature_key: bytes) -> None:
        """Accept the key if it belongs to a device of ``handle``.

        The key-transparency seam: this is where an inclusion proof will be checked.

        :raises UnknownIdentity: the cache may be stale; refresh and retry.
        :raises CredentialRejectedError: a fresh listing does not have the key.
        """
        if self.directory.device_id(handle, signature_key) is not None:
            return
        if self.directory.is_fresh(handle):
            name = self.directory.named(handle, signature_key) or "(unlisted)"
            raise CredentialRejectedError(
                f"{handle}'s device {name}: its signature key is not in "
                f"{self.directory.source}")
        raise UnknownIdentity(frozenset({handle}))


async def resolving(directory: Directory, step: Callable[[], Awaitable[T]]) -> T:
    """Run ``step``; each time it names handles the cache lacks, look them up and run
    it again. Terminates: a handle once refreshed is fresh, and a fresh handle's
    unknown key is rejected instead of raising UnknownIdentity again."""
    while True:
        try:
            return await step()
        except UnknownIdentity as miss:
            if all(directory.is_fresh(h) for h in miss.handles):
                raise  # cannot happen with CredentialPolicy; never loop on it
            await directory.refresh(miss.handles)
