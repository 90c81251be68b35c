"""From received bytes to authenticated content, and back (RFC 9420 §6).

:func:`authenticate` runs every framing MUST before the content is looked at: the
group id, the epoch, that the sender is a member (or a listed external sender, or a
new member with the right content), the membership tag and the signature. It is shared
by :class:`Group` and the secret-free :class:`PublicGroup`; the latter passes no
membership key, so it cannot check membership tags (a delivery service does not know
the epoch's secrets) and does not accept PrivateMessages.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from letterlock.codec import fast_init
from letterlock.crypto import RandomSource
from letterlock.crypto.signature import PrivateKey

from ..commit import Commit
from ..constants import ContentType, SenderType, WireFormat
from ..extension_types import ExternalSenders, get_extension
from ..framing import AuthenticatedContent, FramedContent, PublicMessage, Sender
from ..key_schedule import MembershipKey
from ..message_protection import (
    protect_private,
    protect_public,
    sign_content,
    unprotect_private,
    unprotect_public,
    verify_signature,
)
from ..mls_message import MLSMessage
from ..private_message import PrivateMessage
from ..proposals import Add, Proposal
from ._epoch import EpochState, EpochView
from .errors import (
    EpochTooOldError,
    InvalidExternalCommitError,
    InvalidSenderError,
    NotAMemberError,
    WrongEpochError,
    WrongGroupError,
    WrongWireFormatError,
)
from .proposals import check_sender_may_propose

R6 = "RFC 9420 §6"
# Read for every message sent: bound once (Enum class attributes are slow to read in 3.11).
_PUBLIC = WireFormat.PUBLIC_MESSAGE


@fast_init  # one for every message received
@dataclass(frozen=True, slots=True)
class Authenticated:
    """Content whose sender and signature were checked, and the epoch it belongs to."""

    content: AuthenticatedContent
    state: EpochState

    @property
    def sender(self) -> Sender:
        return self.content.content.sender


def authenticate(message: MLSMessage, current: EpochState, *,
                 past: Sequence[EpochState] = (),
                 membership_key: MembershipKey | None) -> Authenticated:
    """Check a PublicMessage or PrivateMessage's framing (§6, §6.1-§6.3).

    :param past: retained earlier epochs, for application data only (§15.3).
    :param membership_key: the current epoch's; None skips the tag check (PublicGroup).
    :raises WrongGroupError, WrongEpochError, EpochTooOldError, NotAMemberError,
        InvalidSenderError: the framing rules; :raises VerifyError: a bad signature or
        membership tag; :raises DecryptError: a PrivateMessage does not open;
        :raises DecodeError: a malformed message.
    """
    body = message.body
    if isinstance(body, PublicMessage):
        result = Authenticated(_public(body, current, membership_key), current)
    elif isinstance(body, PrivateMessage):
        result = _private(body, current, past)
    else:
        raise WrongWireFormatError(f"a {message.wire_format.name} is not a group message", R6)
    proposal = result.content.content.body
    if isinstance(proposal, Proposal):
        check_sender_may_propose(result.sender, proposal)
    return result
    raise WrongWireFormatError(f"a {message.wire_format.name} is not a group message", R6)


def _check_group_and_epoch(group_id: bytes, epoch: int, current: EpochView) -> None:
    if group_id != current.context.group_id:
        raise WrongGroupError("message for another group", R6)
    if epoch != current.epoch:
        raise WrongEpochError(f"message for epoch {epoch}, the group is at {current.epoch}",
                              R6)


def _public(message: PublicMessage, state: EpochView,
            membership_key: MembershipKey | None) -> AuthenticatedContent:
    content = message.content
    _check_group_and_epoch(content.group_id, content.epoch, state)
    sender = content.sender
    suite, context = state.suite, state.context
    if sender.sender_type == SenderType.MEMBER:
        assert sender.leaf_index is not None
        leaf = state.member(sender.leaf_index)
        if leaf is None:
            raise NotAMemberError(f"sender leaf {sender.leaf_index} is not a member", R6)
        if membership_key is not None:
            authenticated = unprotect_public(suite, message, context, membership_key)
        else:
            authenticated = _unchecked(message)
        verify_signature(suite, leaf.signature_key, authenticated, context)
        return authenticated
    authenticated = _unchecked(message)
    body = content.body
    if sender.sender_type == SenderType.EXTERNAL:
        # §12.1.8.1: the index names an entry of the external_senders extension.
        senders = get_extension(context.extensions, ExternalSenders)
        index = sender.sender_index
        if senders is None or index is None or not 0 <= index < len(senders.senders):
            raise NotAMemberError(f"no external sender {index}", "RFC 9420 §12.1.8.1")
        if not isinstance(body, Proposal):
            raise InvalidSenderError("external senders send only proposals",
                                     "RFC 9420 §12.1.8.1")
        check_sender_may_propose(sender, body)
        verify_signature(suite, senders.senders[index].signature_key, authenticated, None)
    elif sender.sender_type == SenderType.NEW_MEMBER_PROPOSAL:
        if not isinstance(body, Proposal) or not isinstance(body.body, Add):
            raise InvalidSenderError("a new_member_proposal carries an Add", "RFC 9420 §6")
        # The joiner signs with the key of the KeyPackage it proposes to add.
        verify_signature(suite, body.body.key_package.leaf_node.signature_key,
                         authenticated, None)
    else:  # NEW_MEMBER_COMMIT
        if not isinstance(body, Commit):
            raise InvalidSenderError("a new_member_commit carries a Commit", R6)
        if body.path is None:
            raise InvalidExternalCommitError("an external commit needs a path",
                                             "RFC 9420 §12.4.3.2")
        # The joiner's key is the one in its new leaf, signed over the current context.
        verify_signature(suite, body.path.leaf_node.signature_key, authenticated, context)
    return authenticated


def authenticate_public(message: PublicMessage, view: EpochView) -> AuthenticatedContent:
    """:func:`authenticate` for an observer without secrets: every check but the
    membership tag (which needs the epoch's membership_key, §6.2)."""
    authenticated = _public(message, view, None)
    if isinstance(authenticated.content.body, Proposal):
        check_sender_may_propose(authenticated.content.sender, authenticated.content.body)
    return authenticated


def _unchecked(message: PublicMessage) -> AuthenticatedContent:
    if message.content.content_type == ContentType.APPLICATION:
        # §6.2: application data is never a PublicMessage.
        raise InvalidSenderError("application data in a PublicMessage", "RFC 9420 §6.2")
    return AuthenticatedContent(WireFormat.PUBLIC_MESSAGE, message.content, message.auth)


def _private(message: PrivateMessage, current: EpochState,
             past: Sequence[EpochState]) -> Authenticated:
    if message.group_id != current.context.group_id:
        raise WrongGroupError("message for another group", R6)
    state = current
    if message.epoch != current.epoch:
        if message.epoch > current.epoch or message.content_type != ContentType.APPLICATION:
            raise WrongEpochError(f"message for epoch {message.epoch}, the group is at "
                                  f"{current.epoch}", R6)
        found = next((p for p in past if p.epoch == message.epoch), None)
        if found is None:
            raise EpochTooOldError(f"epoch {message.epoch} is no longer retained",
                                   "RFC 9420 §15.3")
        state = found
    authenticated = unprotect_private(state.suite, message, state.secret_tree,
                                      state.sender_data_secret,
                                      is_member=lambda leaf: state.member(leaf) is not None)
    leaf_index = authenticated.content.sender.leaf_index
    leaf = state.member(leaf_index) if leaf_index is not None else None
    if leaf is None:  # unprotect_private already checked membership
        raise NotAMemberError(f"sender leaf {leaf_index} is not a member", R6)
    verify_signature(state.suite, leaf.signature_key, authenticated, state.context)
    return Authenticated(authenticated, state)


def sign_member_content(state: EpochState, sender: Sender, signer: PrivateKey,
                        body: Proposal | Commit | bytes, wire_format: WireFormat,
                        authenticated_data: bytes = b"",
                        confirmation_tag: bytes | None = None) -> AuthenticatedContent:
    """Sign content from our leaf (``sender``, a member) over the current GroupContext
    (§6.1)."""
    context = state.context
    content = FramedContent(context.group_id, context.epoch, sender, authenticated_data, body)
    return sign_content(state.suite, signer, wire_format, content, context, confirmation_tag)


def protect(state: EpochState, authenticated: AuthenticatedContent, rng: RandomSource,
            padding: int = 0) -> bytes:
    """Frame signed content in the wire format it was signed for, as MLSMessage bytes."""
    if authenticated.wire_format == _PUBLIC:
        public = protect_public(state.suite, authenticated, state.context,
                                state.membership_key)
        return MLSMessage.encode(public)
    private = protect_private(state.suite, authenticated, state.secret_tree,
                              state.sender_data_secret, rng, padding=padding)
    return MLSMessage.encode(private)


__all__ = ["Authenticated", "authenticate", "authenticate_public", "protect", "sign_member_content"]
