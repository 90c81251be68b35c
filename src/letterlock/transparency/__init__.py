"""Key transparency: an append-only log of which device keys each account has.

Letterlock must let users' own software notice a substituted key or a ghost device.
The server appends one entry to a public Merkle log whenever an account gains or loses
a device; clients refuse KeyPackages whose signature key is not logged, follow the
log's signed tree heads so that it cannot fork or rewrite history unnoticed, and watch
their own account's entries for devices they do not know.

Public surface (sans-I/O: bytes and ``now`` in, values and events out):

- :mod:`.merkle`: RFC 9162 §2.1 hashing, :class:`MerkleLog`, :class:`InclusionProof`,
  :class:`ConsistencyProof`, :func:`verify_inclusion`, :func:`verify_consistency`.
- :mod:`.entries`: :class:`LogEntry`, :class:`LogAction`, :class:`HandleOpening` (the
  handle commitment and its opening), :class:`ProvenEntry` (entry + opening + proof).
- :mod:`.tree_head`: :class:`SignedTreeHead` (Ed25519 over a labelled TBS).
- :mod:`.verifier`: :class:`LogVerifier` (the client's view of the log) and
  :class:`DeviceMonitor` (an account watching its own entries), with
  :mod:`.events` (:class:`UnknownDeviceAlert`, :class:`DeviceRemoved`).
- :mod:`.audit`: :func:`audit_log`, a full replay of a log against the heads seen.

Errors (see :mod:`.errors`)::

    TransparencyError
    ├── InvalidProofError       a Merkle proof does not verify (RFC 9162 §2.1.3.2, §2.1.4.2)
    ├── BadSignatureError       a tree head is not signed by the pinned log key
    ├── InconsistentLogError    rewritten history, a smaller tree, time running backwards
    │   └── SplitViewError      two roots signed for one size (equivocation evidence)
    ├── InvalidEntryError       an entry or opening is not what it is claimed to be
    └── UsageError              caller misuse
    DecodeError (letterlock.codec)  malformed bytes, from every decoder here

Why the handle is a commitment, and what that hides
----------------------------------------------------

A log of ``(handle, device key)`` pairs would be a crawlable directory of every account.
Entries therefore carry ``SHA-256("letterlock kt v1 handle commitment" || nonce ||
handle)`` (TLS-encoded, see :mod:`.entries`) under a fresh 32-byte random nonce per
entry. The log server keeps the nonces and discloses an entry's nonce (its
:class:`HandleOpening`) only to a querier who names the handle: alongside a KeyPackage
fetched for that handle, and in the listing the account's own monitor reads. The
commitment is binding (SHA-256 collision resistance) and, with a 256-bit nonce, hiding:
a crawler cannot test a guessed handle against the log, and two entries of one account
are not linkable by their commitments.

The alternative is a verifiable random function (a VRF, RFC 9381, as CONIKS-style
directories use): the index of a handle's entries is VRF(handle), which lets the log
prove *absence* and *completeness* (these are all of @bob's entries). pyca/cryptography
offers no VRF, and Letterlock hand-rolls nothing below the primitives, so we use the
commitment and say plainly what it does not give.

What it does not hide: the number of entries and their timing (how many devices are
added and removed, and when), each entry's device id, signature key and cipher suite,
and therefore the link between the add and the remove of one device. Anyone who names a
handle learns all of that account's entries. The server knows everything, as it must.

What it does not prove: completeness. The log can leave an entry out of an account's
listing, so the monitor alone cannot prove that a ghost device for @bob does not exist.
It is still caught: a ghost device is only useful if someone receives its KeyPackage,
and then that client holds a signed, included entry with its opening for @bob
(transferable evidence), and @bob's own devices see the ghost's leaf in every group they
share with it. The monitor also checks late entries (ones an earlier page omitted).

This package imports only :mod:`letterlock.codec`, :mod:`letterlock.crypto` and
pyca/cryptography, and does no I/O.
"""

from .audit import AuditReport, audit_log
from .entries import HandleOpening, LogAction, LogEntry, ProvenEntry
from .errors import (
    BadSignatureError,
    DecodeError,
    InconsistentLogError,
    InvalidEntryError,
    InvalidProofError,
    SplitViewError,
    TransparencyError,
    UsageError,
)
from .events import DeviceRemoved, MonitorEvent, UnknownDeviceAlert
from .merkle import (
    EMPTY_ROOT,
    ConsistencyProof,
    InclusionProof,
    MerkleLog,
    leaf_hash,
    node_hash,
    verify_consistency,
    verify_inclusion,
)
from .tree_head import SignedTreeHead, log_id
from .verifier import DeviceMonitor, LogVerifier

__all__ = [
    "EMPTY_ROOT",
    "AuditReport",
    "BadSignatureError",
    "ConsistencyProof",
    "DecodeError",
    "DeviceMonitor",
    "DeviceRemoved",
    "HandleOpening",
    "InclusionProof",
    "InconsistentLogError",
    "InvalidEntryError",
    "InvalidProofError",
    "LogAction",
    "LogEntry",
    "LogVerifier",
    "MerkleLog",
    "MonitorEvent",
    "ProvenEntry",
    "SignedTreeHead",
    "SplitViewError",
    "TransparencyError",
    "UnknownDeviceAlert",
    "UsageError",
    "audit_log",
    "leaf_hash",
    "log_id",
    "node_hash",
    "verify_consistency",
    "verify_inclusion",
]
