"""The transparency layer's errors, grouped by what went wrong.

::

    TransparencyError
    ├── InvalidProofError       an inclusion or consistency proof does not verify
    │                           (RFC 9162 §2.1.3.2 / §2.1.4.2), or does not fit the tree head
    ├── BadSignatureError       a signed tree head is not signed by the pinned log key
    ├── InconsistentLogError    the log contradicts a tree head we saw before: rewritten
    │   │                       history, a smaller tree, time running backwards
    │   └── SplitViewError      two different roots signed for the same tree size: the log
    │                           equivocated, and the two heads are transferable evidence
    ├── InvalidEntryError       an entry does not say what it is claimed to say (wrong
    │                           handle opening, wrong device, listing for another handle)
    └── UsageError              the caller asked for something impossible (our fault)

Malformed bytes surface as :class:`letterlock.codec.DecodeError` (re-exported here), the
same error every Letterlock decoder raises for input that is not a canonical encoding.
Everything except :class:`UsageError` is the fault of the log or the network.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from letterlock.codec import DecodeError

if TYPE_CHECKING:
    from .tree_head import SignedTreeHead


class TransparencyError(Exception):
    """Base of the transparency layer's own errors."""


class InvalidProofError(TransparencyError, ValueError):
    """A Merkle proof does not verify, or does not belong to the tree head it came with."""


class BadSignatureError(TransparencyError):
    """A signed tree head's signature does not verify under the pinned log key."""


class InconsistentLogError(TransparencyError):
    """The log's new tree head cannot extend the one we hold.

    ``previous`` is the tree head we held and ``current`` the one that contradicts it;
    both carry valid log signatures, so a client can hand them to an auditor.
    """

    def __init__(self, message: str, previous: SignedTreeHead | None = None,
                 current: SignedTreeHead | None = None) -> None:
        super().__init__(message)
        self.previous = previous
        self.current = current


class SplitViewError(InconsistentLogError):
    """The log signed two different roots for one tree size (equivocation).

    Unlike a failed consistency proof, this needs no cooperation from the log to prove:
    ``previous`` and ``current`` are both signed and cannot both be honest.
    """


class InvalidEntryError(TransparencyError, ValueError):
    """A log entry or its handle opening does not match what it is claimed to be."""


class UsageError(TransparencyError):
    """The caller misused the API (an argument out of range, a call in the wrong order)."""


__all__ = [
    "BadSignatureError",
    "DecodeError",
    "InconsistentLogError",
    "InvalidEntryError",
    "InvalidProofError",
    "SplitViewError",
    "TransparencyError",
    "UsageError",
]
