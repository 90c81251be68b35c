"""The client side: a verifier that follows the log's tree heads, and a monitor that
watches one account's own entries.

:class:`LogVerifier` pins the log's public key and the newest tree head it has
accepted. Every new head must be signed by the pinned key, be no smaller and no older
than the one held, and come with a consistency proof from it (RFC 9162 §2.1.4): the
log may grow, never rewrite, shrink or fork. The first head is accepted on its
signature alone (trust on first use of the log's state, not of its key).

:class:`DeviceMonitor` reads the pages of the log's listing for its own handle, checks
each entry's opening and inclusion against the verifier's head, and reports devices
its owner does not know (:class:`UnknownDeviceAlert`).

Both are sans-I/O and serialise their state with ``to_bytes``/``from_bytes``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from itertools import pairwise
from typing import Self

from letterlock.codec import DecodeError, Reader, Struct, Writer

from .entries import (
    MAX_DEVICE_ID,
    MAX_HANDLE,
    LogAction,
    LogEntry,
    ProvenEntry,
    pull_text,
    text_problem,
)
from .errors import (
    InconsistentLogError,
    InvalidEntryError,
    InvalidProofError,
    SplitViewError,
    TransparencyError,
    UsageError,
)
from .events import DeviceRemoved, MonitorEvent, UnknownDeviceAlert
from .merkle import ConsistencyProof, InclusionProof, verify_consistency, verify_inclusion
from .tree_head import LOG_KEY_SIZE, SignedTreeHead, check_log_key, log_id


class LogVerifier(Struct):
    """Follows one log's signed tree heads and verifies inclusion against them.

    Wire form of the state::

        struct { opaque log_public_key[32]; optional<SignedTreeHead> latest; } VerifierState;
    """

    __slots__ = ("_latest", "_public_key")

    def __init__(self, log_public_key: bytes, latest: SignedTreeHead | None = None) -> None:
        """Pin ``log_public_key`` (raw Ed25519); ``latest`` resumes from a held head.

        Raises:
            UsageError: the key is malformed.
            BadSignatureError: ``latest`` is not signed by that key.
        """
        check_log_key(log_public_key)
        if latest is not None:
            latest.verify(log_public_key)
        self._public_key = bytes(log_public_key)
        self._latest = latest

    @property
    def log_public_key(self) -> bytes:
        return self._public_key

    @property
    def log_id(self) -> bytes:
        return log_id(self._public_key)

    @property
    def latest(self) -> SignedTreeHead | None:
        """The newest tree head accepted so far, or None before the first."""
        return self._latest

    def update(self, sth: SignedTreeHead, proof: ConsistencyProof | None) -> None:
        """Accept ``sth`` as the newest head if it extends the one held.

        ``proof`` is the log's consistency proof from the held head's size to
        ``sth.tree_size``; it may be None for the first head and for a head of the same
        size. Nothing changes unless every check passes.

        Raises:
            BadSignatureError: ``sth`` is not signed by the pinned log.
            SplitViewError: same size as the held head, different root (equivocation).
            InconsistentLogError: a smaller tree or an earlier timestamp than the held
                head, or a consistency proof that fails (rewritten history); also raised
                when the proof is missing or for other sizes.
        """
        sth.verify(self._public_key)
        held = self._latest
        if held is None:
            self._latest = sth
            return
        if sth.tree_size < held.tree_size:
            raise InconsistentLogError(
                f"the log went back from {held.tree_size} to {sth.tree_size} entries", held, sth)
        # Equivocation first: two signed roots for one size is the strongest evidence,
        # whatever the timestamps say.
        if sth.tree_size == held.tree_size and sth.root_hash != held.root_hash:
            raise SplitViewError(f"the log signed two roots for size {sth.tree_size}",
                                 held, sth)
        if sth.timestamp < held.timestamp:
            raise InconsistentLogError("the log's tree head is older than the one held",
                                       held, sth)
        if sth.tree_size == held.tree_size:
            self._latest = sth
            return
        if proof is None:
            raise InconsistentLogError("a larger tree head came without a consistency proof",
                                       held, sth)
        if (proof.first_size, proof.second_size) != (held.tree_size, sth.tree_size):
            raise InconsistentLogError(
                f"consistency proof is for sizes {proof.first_size}->{proof.second_size}, "
                f"not {held.tree_size}->{sth.tree_size}", held, sth)
        try:
            verify_consistency(proof, held.root_hash, sth.root_hash)
        except InvalidProofError as error:
            raise InconsistentLogError(f"the new tree does not extend the held one: {error}",
                                       held, sth) from error
        self._latest = sth

    def verify_inclusion(self, entry: LogEntry, proof: InclusionProof,
                         sth: SignedTreeHead) -> None:
        """Return if ``entry`` is in the log under ``sth``, the head held now.

        Call :meth:`update` with the head first: a proof against any other head is
        refused, so every inclusion this verifier accepts lies on one consistent history.

        Raises:
            BadSignatureError: ``sth`` is not signed by the pinned log.
            SplitViewError: ``sth`` has the held head's size but another root.
            InvalidProofError: the proof is for another size, or does not verify.
            UsageError: ``sth`` is not the held head (call :meth:`update` first).
        """
        sth.verify(self._public_key)
        held = self._latest
        if held is None or held.tree_size != sth.tree_size:
            raise UsageError("verify inclusion against the held tree head; update() first")
        if held.root_hash != sth.root_hash:
            raise SplitViewError(f"the log signed two roots for size {sth.tree_size}", held, sth)
        if proof.tree_size != sth.tree_size:
            raise InvalidProofError(
                f"inclusion proof is for size {proof.tree_size}, the head for {sth.tree_size}")
        verify_inclusion(entry.leaf_hash(), proof, sth.root_hash)

    def push(self, w: Writer) -> None:
        w.push_bytes(self._public_key, LOG_KEY_SIZE)
        w.push_optional(self._latest, lambda inner, sth: sth.push(inner))

    @classmethod
    def pull(cls, r: Reader) -> Self:
        start = r.position
        key = r.pull_bytes(LOG_KEY_SIZE)
        latest = r.pull_optional(SignedTreeHead.pull)
        try:
            return cls(key, latest)
        except TransparencyError as error:
            # Stored state that no longer verifies is corrupt input, not caller misuse.
            raise DecodeError(f"verifier state does not verify: {error}", start) from None


class DeviceMonitor(Struct):
    """Watches the log's entries for one handle and reports devices the owner doesn't know.

    ``known`` maps the owner's device ids to their signature keys (the devices this
    client linked or approved). The monitor keeps a cursor, :attr:`next_index`, for the
    next listing page, and remembers what it already reported, so that each unknown
    device or key raises one alert. An entry below the cursor (one an earlier page left
    out) is still checked: omitting an entry and showing it later must not hide it.

    Wire form of the state::

        struct {
            opaque handle<V>;
            uint64 next_index;
            DeviceKey known<V>;       /* struct { opaque device_id<V>; opaque key<V>; } */
            DeviceKey reported<V>;
        } MonitorState;
    """

    __slots__ = ("_handle", "_known", "_next_index", "_reported")

    def __init__(self, handle: str, known: Mapping[str, bytes], *, next_index: int = 0,
                 reported: Iterable[tuple[str, bytes]] = ()) -> None:
        """Watch ``handle``, whose owner knows the devices in ``known`` (id -> key).

        Raises:
            UsageError: ``handle`` is not 1..255 bytes of UTF-8.
        """
        problem = text_problem(handle, MAX_HANDLE, "handle")
        if problem is not None:
            raise UsageError(problem)
        if not 0 <= next_index < 1 << 64:
            raise UsageError("next_index is a uint64")
        self._handle = handle
        self._known: dict[str, bytes] = {}
        for device_id, signature_key in known.items():
            self.trust_device(device_id, signature_key)
        self._next_index = next_index
        self._reported: set[tuple[str, bytes]] = set(reported)

    @property
    def handle(self) -> str:
        return self._handle

    @property
    def next_index(self) -> int:
        """Where the next listing page should start (one past the highest entry seen)."""
        return self._next_index

    @property
    def known_devices(self) -> dict[str, bytes]:
        return dict(self._known)

    def trust_device(self, device_id: str, signature_key: bytes) -> None:
        """Record a device the owner linked, so that its entry raises no alert.

        Raises:
            UsageError: ``device_id`` is not 1..255 bytes of UTF-8.
        """
        problem = text_problem(device_id, MAX_DEVICE_ID, "device id")
        if problem is not None:
            raise UsageError(problem)
        self._known[device_id] = bytes(signature_key)

    def forget_device(self, device_id: str) -> None:
        """Drop a device the owner removed."""
        self._known.pop(device_id, None)

    def process(self, page: Sequence[ProvenEntry], verifier: LogVerifier) -> list[MonitorEvent]:
        """Check one page of the listing for this handle and return what it shows.

        Every entry must open to this handle and be included under the verifier's held
        tree head. The page is checked whole before any state changes.

        Raises:
            InvalidEntryError: an entry is for another handle (its opening differs).
            InvalidProofError: an entry's inclusion proof fails or is for another size.
            UsageError: the verifier holds no tree head yet.
        """
        sth = verifier.latest
        if sth is None:
            raise UsageError("the verifier holds no tree head yet; update() first")
        for item in page:
            if item.opening.handle != self._handle:
                raise InvalidEntryError(
                    f"listing for {self._handle!r} holds an entry for another handle")
            item.opening.check(item.entry.handle_commitment)
            verifier.verify_inclusion(item.entry, item.proof, sth)
        events: list[MonitorEvent] = []
        reported = set(self._reported)
        next_index = self._next_index
        for item in sorted(page, key=lambda proven: proven.index):
            entry = item.entry
            next_index = max(next_index, item.index + 1)
            if entry.action is LogAction.REMOVED:
                events.append(DeviceRemoved(item.index, entry.device_id, entry.timestamp))
                continue
            pair = (entry.device_id, entry.signature_key)
            if self._known.get(entry.device_id) == entry.signature_key or pair in reported:
                continue
            reported.add(pair)
            events.append(UnknownDeviceAlert(
                item.index, entry.device_id, entry.signature_key, entry.cipher_suite,
                entry.timestamp, known_device=entry.device_id in self._known))
        self._reported = reported
        self._next_index = next_index
        return events

    def push(self, w: Writer) -> None:
        w.push_opaque(self._handle.encode("utf-8"))
        w.push_uint64(self._next_index)
        w.push_vector(sorted(self._known.items()), _push_device_key)
        w.push_vector(sorted(self._reported), _push_device_key)

    @classmethod
    def pull(cls, r: Reader) -> Self:
        handle = pull_text(r, MAX_HANDLE, "handle")
        next_index = r.pull_uint64()
        known = _pull_sorted(r, unique_ids=True)
        reported = _pull_sorted(r, unique_ids=False)
        return cls(handle, dict(known), next_index=next_index, reported=reported)


def _push_device_key(w: Writer, pair: tuple[str, bytes]) -> None:
    w.push_opaque(pair[0].encode("utf-8"))
    w.push_opaque(pair[1])


def _pull_device_key(r: Reader) -> tuple[str, bytes]:
    return pull_text(r, MAX_DEVICE_ID, "device id"), r.pull_opaque()


def _pull_sorted(r: Reader, *, unique_ids: bool) -> list[tuple[str, bytes]]:
    # One encoding per state: the pairs are written sorted, so they must read strictly
    # increasing; in ``known`` a device id may appear once (it maps to one key).
    start = r.position
    pairs = r.pull_vector(_pull_device_key)
    if any(a >= b for a, b in pairwise(pairs)):
        raise DecodeError("device list is not sorted without repeats", start)
    if unique_ids and len({device_id for device_id, _ in pairs}) != len(pairs):
        raise DecodeError("a device id is known with two keys", start)
    return pairs


__all__ = ["DeviceMonitor", "LogVerifier"]
