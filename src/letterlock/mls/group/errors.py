"""Errors of the group state machine (RFC 9420 §11-§12), grouped by who is at fault.

::

    InvalidMessageError (peer's fault; ``rule`` cites the section)
    ├── WrongGroupError            §6: group_id is not this group's
    ├── WrongWireFormatError       §6: e.g. a Welcome where a group message belongs
    ├── WrongEpochError            §6: a handshake message not for the current epoch
    │   └── EpochTooOldError       §6/§15.3: application data from an epoch no longer kept
    ├── NotAMemberError            §6: the sender's leaf is blank / unknown external sender
    ├── InvalidSenderError         §6/§12.1.8: a sender type not allowed for this content
    ├── InvalidProposalError       §12.1: one proposal is invalid on its own
    ├── InvalidProposalListError   §12.2: the proposals of a commit break a list rule
    ├── UnknownProposalRefError    §12.4.2: a ProposalRef names no cached proposal
    ├── PathRequiredError          §12.4: the commit needs an UpdatePath and has none
    ├── InvalidExternalCommitError §12.4.3.2: an external commit's shape is wrong
    ├── UnknownPskError            §8.4: a PSK we do not hold (re-exported)
    ├── WelcomeTreeError           §12.4.3.1: no ratchet tree, or our leaf is not in it
    ├── GroupReinitializedError    §11.2: a message in the epoch a ReInit commit ended
    └── ResumptionMismatchError    §11.2/§11.3: a reinit/branch Welcome does not match
                                   the old group (or its ReInit)
    UsageError (our fault)
    ├── InvalidStateError          the state table forbids this operation now
    │   └── GroupInactiveError     we left or were removed
    ├── OwnCommitError             our own commit came back: merge the pending commit
    └── NoPendingCommitError       merge/discard without a pending commit

Signature, MAC and decryption failures stay the crypto layer's opaque
:class:`~letterlock.crypto.VerifyError` / :class:`~letterlock.crypto.DecryptError`
(membership tags and confirmation tags included); malformed bytes are
:class:`~letterlock.codec.DecodeError`.
"""

from __future__ import annotations

from ..errors import InvalidMessageError, UsageError
from ..welcome_processing import UnknownPskError


class WrongGroupError(InvalidMessageError):
    """The message's group_id is not this group's (§6)."""


class WrongWireFormatError(InvalidMessageError):
    """The MLSMessage carries another wire format than this operation takes (§6)."""


class WrongEpochError(InvalidMessageError):
    """A handshake message is not for the current epoch (§6: "MUST ... be for the
    current epoch"), or a message claims a future epoch."""


class EpochTooOldError(WrongEpochError):
    """Application data from a past epoch whose secrets are no longer retained (§15.3)."""


class NotAMemberError(InvalidMessageError):
    """The sender is not a member: a blank leaf, or no such external sender (§6)."""


class InvalidSenderError(InvalidMessageError):
    """The sender type may not send this content (§6, §12.1.8, §12.4.3.2)."""


class InvalidProposalError(InvalidMessageError):
    """A proposal is invalid on its own (§12.1)."""


class InvalidProposalListError(InvalidMessageError):
    """A commit's proposal list breaks a rule of §12.2."""


class UnknownProposalRefError(InvalidMessageError):
    """A commit references a proposal this member never received (§12.4.2)."""


class PathRequiredError(InvalidMessageError):
    """§12.4: the path field is required for this commit's proposals and is missing."""


class InvalidExternalCommitError(InvalidMessageError):
    """An external commit has the wrong proposals or no path (§12.4.3.2)."""


class WelcomeTreeError(InvalidMessageError):
    """§12.4.3.1: the joiner has no ratchet tree, or its own leaf is not in it."""


class GroupReinitializedError(InvalidMessageError):
    """§11.2: a commit covering a ReInit ended this group; a proposal, commit or
    application message sent in that last epoch is refused (the group lives on only
    as the resumption PSK of its successor)."""


class ResumptionMismatchError(InvalidMessageError):
    """A Welcome that resumes an old group breaks §11.2 (reinit) or §11.3 (branch):
    no reinit/branch PSK of the old group, a reinit PSK not of the epoch after the
    ReInit commit, or a new GroupContext whose group_id, version, cipher_suite or
    extensions differ from the ReInit (or, for a branch, from the old group)."""


class InvalidStateError(UsageError):
    """The group's state table does not allow this operation now."""


class GroupInactiveError(InvalidStateError):
    """The group is inactive: this member was removed (or left)."""


class OwnCommitError(UsageError):
    """Our own commit was handed back to :meth:`Group.process`; call
    :meth:`Group.merge_pending_commit` instead (the server accepted it)."""


class NoPendingCommitError(InvalidStateError):
    """merge/discard was called without a pending commit."""


__all__ = [
    "EpochTooOldError",
    "GroupInactiveError",
    "GroupReinitializedError",
    "InvalidExternalCommitError",
    "InvalidProposalError",
    "InvalidProposalListError",
    "InvalidSenderError",
    "InvalidStateError",
    "NoPendingCommitError",
    "NotAMemberError",
    "OwnCommitError",
    "PathRequiredError",
    "ResumptionMismatchError",
    "UnknownProposalRefError",
    "UnknownPskError",
    "WelcomeTreeError",
    "WrongEpochError",
    "WrongGroupError",
    "WrongWireFormatError",
]
