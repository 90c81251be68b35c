"""The MLS group state machine (RFC 9420 §11-§12): the hazmat tier of Letterlock.

- :class:`Group`: one member's view: create, join (Welcome or external commit),
  propose, commit, process, encrypt, export; reinit and branch into a new group
  (§11.2, §11.3); state to and from bytes.
- :class:`PublicGroup`: a secret-free view for the delivery service.
- events (:mod:`.events`), errors (:mod:`.errors`), the lifecycle table (:mod:`.state`).
"""

from .errors import (
    EpochTooOldError,
    GroupInactiveError,
    GroupReinitializedError,
    InvalidExternalCommitError,
    InvalidProposalError,
    InvalidProposalListError,
    InvalidSenderError,
    InvalidStateError,
    NoPendingCommitError,
    NotAMemberError,
    OwnCommitError,
    PathRequiredError,
    ResumptionMismatchError,
    UnknownProposalRefError,
    UnknownPskError,
    WelcomeTreeError,
    WrongEpochError,
    WrongGroupError,
    WrongWireFormatError,
)
from .events import ApplicationMessage, CommitApplied, Event, ProposalReceived, RemovedFromGroup
from .group import CommitResult, Group, GroupConfig, Member, WireFormatPolicy
from .public_group import PublicGroup
from .state import GroupState

__all__ = [
    "ApplicationMessage",
    "CommitApplied",
    "CommitResult",
    "EpochTooOldError",
    "Event",
    "Group",
    "GroupConfig",
    "GroupInactiveError",
    "GroupReinitializedError",
    "GroupState",
    "InvalidExternalCommitError",
    "InvalidProposalError",
    "InvalidProposalListError",
    "InvalidSenderError",
    "InvalidStateError",
    "Member",
    "NoPendingCommitError",
    "NotAMemberError",
    "OwnCommitError",
    "PathRequiredError",
    "ProposalReceived",
    "PublicGroup",
    "RemovedFromGroup",
    "ResumptionMismatchError",
    "UnknownProposalRefError",
    "UnknownPskError",
    "WelcomeTreeError",
    "WireFormatPolicy",
    "WrongEpochError",
    "WrongGroupError",
    "WrongWireFormatError",
]
