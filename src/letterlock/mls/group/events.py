"""What processing a message produces: one small frozen dataclass per event."""

from __future__ import annotations

from dataclasses import dataclass, field

from letterlock.codec import fast_init

from ..credentials import Credential
from ..proposals import ReInit


@fast_init  # one for every message received
@dataclass(frozen=True, slots=True)
class ApplicationMessage:
    """Decrypted application data from the member at leaf ``sender`` (§6.3)."""

    sender: int
    credential: Credential
    data: bytes = field(repr=False)
    authenticated_data: bytes
    epoch: int


@dataclass(frozen=True, slots=True)
class ProposalReceived:
    """A proposal was cached for a later commit (§12.1, §12.4).

    ``sender`` is a leaf index for members, the index in external_senders for external
    senders, None for new-member proposals; ``sender_type`` says which.
    """

    ref: bytes
    proposal_type: int
    sender_type: int
    sender: int | None
    epoch: int


@dataclass(frozen=True, slots=True)
class CommitApplied:
    """A commit moved the group to ``epoch`` (§12.4.2).

    ``committer`` is the committing leaf (for an external commit, the joiner's new
    leaf). ``added`` are new members' leaves; ``removed`` and ``updated`` leaves as they
    were before the commit; ``reinit`` is set when the group is to be re-initialised.
    """

    epoch: int
    committer: int
    added: tuple[int, ...] = ()
    removed: tuple[int, ...] = ()
    updated: tuple[int, ...] = ()
    external: bool = False
    psks: int = 0
    extensions_changed: bool = False
    reinit: ReInit | None = None


@dataclass(frozen=True, slots=True)
class RemovedFromGroup:
    """A commit removed this member; the group is now inactive (§12.1.3)."""

    epoch: int
    by: int


Event = ApplicationMessage | ProposalReceived | CommitApplied | RemovedFromGroup

__all__ = ["ApplicationMessage", "CommitApplied", "Event", "ProposalReceived",
           "RemovedFromGroup"]
