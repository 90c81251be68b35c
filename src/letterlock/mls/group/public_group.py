"""A secret-free view of a group, for the delivery service (RFC 9420 §6, §12.4.2).

The server holds no epoch secrets, yet it must accept only well-formed handshake
messages from members and know which leaves belong to whom. :class:`PublicGroup`
follows a group from its PublicMessages alone: it checks group id, epoch, that the
sender is a member (or a listed external sender, or a new member), every signature,
the proposal rules of §12.2, the UpdatePath's public part (leaf validity, parent
hashes, key uniqueness) and keeps the tree and the transcript hashes in step.

What it cannot check, by construction:

- membership tags (§6.2): they are MACs under the epoch's membership_key;
- confirmation tags (§6.1): MACs under the new epoch's confirmation_key;
- the encrypted path secrets and PSK values;
- anything inside a PrivateMessage (:meth:`PublicGroup.check_envelope` reads only the
  clear header). A group a PublicGroup follows therefore sends its handshake messages
  as PublicMessages (:attr:`WireFormatPolicy.PUBLIC`, the default).

A forged commit that passes these checks but not the members' own would make the
server's view diverge from the members'; members reject it, and the server's view is
rebuilt from a member's next GroupInfo.
"""

from __future__ import annotations

from letterlock.codec import Reader, Writer, decode
from letterlock.crypto import VerifyError, cipher_suite

from ..constants import ContentType
from ..framing import PublicMessage
from ..group_context import GroupContext
from ..mls_message import MLSMessage
from ..private_message import PrivateMessage
from ..proposals import Proposal
from ..ratchet_tree import PublicTree
from ..secret_tree import RatchetConfig
from ..transcript import interim_transcript_hash
from ..tree_math import LeafIndex
from ..tree_validation import CredentialValidator
from ..welcome import GroupInfo
from ..welcome_processing import GroupInfoSignatureError
from ._epoch import PublicEpoch
from ._framing import authenticate_public
from .commit import stage_commit
from .errors import WrongEpochError, WrongGroupError, WrongWireFormatError
from .events import CommitApplied, Event, ProposalReceived
from .group import Member, commit_event
from .join import load_tree
from .proposals import ProposalCache, QueuedProposal


class PublicGroup:
    """A group as the delivery service sees it: tree, context and proposals, no secrets."""

    def __init__(self, epoch: PublicEpoch, *,
                 credential_validator: CredentialValidator) -> None:
        """Internal: use :meth:`from_group_info` or :meth:`from_bytes`."""
        self._epoch = epoch
        self._validator = credential_validator
        self._cache = ProposalCache()

    def __repr__(self) -> str:
        return f"PublicGroup(epoch={self.epoch}, members={self._epoch.tree.member_count})"

    @classmethod
    def from_group_info(cls, group_info: bytes, *, credential_validator: CredentialValidator,
                        ratchet_tree: bytes | None = None,
                        now: int | None = None) -> PublicGroup:
        """Start following a group from a member's GroupInfo (§12.4.3) and its tree
        (in-band or ``ratchet_tree``), checked as a joiner checks them.

        :raises InvalidMessageError: the tree is invalid; :raises VerifyError
            (GroupInfoSignatureError): the GroupInfo is not signed by its signer leaf.
        """
        info = MLSMessage.from_bytes(group_info).body
        if not isinstance(info, GroupInfo):
            raise WrongWireFormatError("expected a GroupInfo", "RFC 9420 §6")
        suite = cipher_suite(info.group_context.cipher_suite)
        tree = load_tree(suite, info, ratchet_tree, credential_validator=credential_validator,
                         now=now)
        signer = tree.leaf(LeafIndex(info.signer)) if info.signer < tree.n_leaves else None
        try:
            if signer is None:
                raise VerifyError("no signer leaf")
            suite.verify_with_label(signer.signature_key, "GroupInfoTBS",
                                    info.tbs.to_bytes(), info.signature)
        except VerifyError:
            raise GroupInfoSignatureError("GroupInfo signature does not verify",
                                          "RFC 9420 §12.4.3") from None
        context = info.group_context
        interim = interim_transcript_hash(suite, context.confirmed_transcript_hash,
                                          info.confirmation_tag)
        return cls(PublicEpoch(suite, context, tree, interim),
                   credential_validator=credential_validator)

    # ---- reading -----------------------------------------------------------------------

    @property
    def group_id(self) -> bytes:
        return self._epoch.context.group_id

    @property
    def epoch(self) -> int:
        return self._epoch.epoch

    @property
    def group_context(self) -> GroupContext:
        return self._epoch.context

    @property
    def ratchet_tree(self) -> bytes:
        """The current tree, for joiners who need it out of band (§12.4.3.3)."""
        return self._epoch.tree.to_bytes()

    def roster(self) -> list[Member]:
        return [Member(int(i), leaf.credential, leaf.signature_key)
                for i, leaf in self._epoch.tree.leaves()]

    def leaf_of(self, signature_key: bytes) -> int | None:
        """The leaf holding this signature key, if any member does."""
        found = self._epoch.tree.find_signature_key(signature_key)
        return None if found is None else int(found)

    # ---- processing --------------------------------------------------------------------

    def check_envelope(self, message: bytes) -> tuple[ContentType, int]:
        """The clear header of a PrivateMessage: ``(content_type, epoch)`` after checking
        the group id and that the epoch is not in the future. Nothing is decrypted.

        :raises WrongGroupError, WrongEpochError, WrongWireFormatError, DecodeError.
        """
        body = MLSMessage.from_bytes(message).body
        if not isinstance(body, PrivateMessage):
            raise WrongWireFormatError("expected a PrivateMessage", "RFC 9420 §6")
        if body.group_id != self.group_id:
            raise WrongGroupError("message for another group", "RFC 9420 §6")
        if body.epoch > self.epoch or (body.content_type != ContentType.APPLICATION
                                       and body.epoch != self.epoch):
            raise WrongEpochError(f"epoch {body.epoch}, the group is at {self.epoch}",
                                  "RFC 9420 §6")
        return body.content_type, body.epoch

    def process(self, message: bytes, *, now: int | None = None) -> list[Event]:
        """Check and apply a PublicMessage proposal or commit (§6.2, §12.4.2), without
        membership or confirmation tags (see the module docstring).

        :returns: ProposalReceived or CommitApplied.
        :raises WrongWireFormatError: a PrivateMessage (use :meth:`check_envelope`).
        :raises InvalidMessageError, VerifyError, DecodeError: the message is invalid;
            the view is unchanged.
        """
        body = MLSMessage.from_bytes(message).body
        if not isinstance(body, PublicMessage):
            raise WrongWireFormatError("a PublicGroup only reads PublicMessages",
                                       "RFC 9420 §6.2")
        authenticated = authenticate_public(body, self._epoch)
        content = authenticated.content
        sender = content.sender
        if isinstance(content.body, Proposal):
            ref = self._epoch.suite.make_proposal_ref(authenticated.to_bytes())
            self._cache.add(QueuedProposal(content.body, sender, ref))
            index = sender.leaf_index if sender.leaf_index is not None else sender.sender_index
            return [ProposalReceived(ref, content.body.proposal_type, sender.sender_type,
                                     index, self.epoch)]
        staged = stage_commit(self._epoch, authenticated, self._cache, private=None,
                              psk_resolver=lambda _: None,
                              credential_validator=self._validator,
                              ratchet_config=_NO_RATCHET, now=now)
        self._epoch = staged.public
        self._cache.clear()
        event: CommitApplied = commit_event(staged)
        return [event]

    # ---- storage -----------------------------------------------------------------------

    def to_bytes(self) -> bytes:
        """The view's state (public data only: context, tree, interim hash, proposals)."""
        w = Writer()
        e = self._epoch
        w.push_opaque(e.context.to_bytes())
        w.push_opaque(e.tree.to_bytes())
        w.push_opaque(e.interim_transcript_hash)
        self._cache.push(w)
        return w.data

    @classmethod
    def from_bytes(cls, data: bytes, *,
                   credential_validator: CredentialValidator) -> PublicGroup:
        """Restore a view saved by :meth:`to_bytes`. :raises DecodeError: bad state."""

        def pull(r: Reader) -> PublicGroup:
            context = GroupContext.from_bytes(r.pull_opaque())
            suite = cipher_suite(context.cipher_suite)
            tree = PublicTree.from_bytes(suite, r.pull_opaque())
            group = cls(PublicEpoch(suite, context, tree, r.pull_opaque()),
                        credential_validator=credential_validator)
            group._cache = ProposalCache.pull(r)
            return group

        return decode(data, pull)


# An observer builds no secret tree; stage_commit still wants a policy to pass along.
_NO_RATCHET = RatchetConfig()

__all__ = ["PublicGroup"]
