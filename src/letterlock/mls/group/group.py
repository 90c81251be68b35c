"""The Group: one member's view of an MLS group (RFC 9420 §11-§12), sans-I/O.

Commands go in (``propose_*``, :meth:`Group.commit`, :meth:`Group.encrypt`), received
bytes go in (:meth:`Group.process`), and bytes and events come out. Nothing here sends
anything: the caller hands the bytes to its delivery service. Randomness is the
injected :class:`~letterlock.crypto.RandomSource`; time arrives as ``now``.

The lifecycle is the table in :mod:`.state`. A commit of ours is *pending* until the
delivery service confirms it (:meth:`Group.merge_pending_commit`) or picks another
commit for the epoch (:meth:`Group.discard_pending_commit`, then process the winner).
A commit from someone else is staged on copies and merged only once every check passed.

Errors: see :mod:`.errors` (peer's fault: InvalidMessageError subclasses; ours:
UsageError subclasses), plus the opaque VerifyError / DecryptError and DecodeError.
A failed :meth:`process` leaves the group exactly as it was, except that a
PrivateMessage whose AEAD opened has consumed its key (§9.2).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from letterlock.crypto import CipherSuite, RandomSource, cipher_suite

from ..constants import (
    ContentType,
    LeafNodeSource,
    PSKType,
    ResumptionPSKUsage,
    SenderType,
    WireFormat,
)
from ..credentials import Credential
from ..errors import UsageError
from ..extensions import Extension
from ..framing import Sender
from ..key_package import KeyPackage
from ..key_packages import KeyPackageBundle, default_capabilities, verify_key_package
from ..key_schedule import InitSecret, KeySchedule
from ..leaf_node import Capabilities, LeafNodeTBS, Lifetime
from ..mls_message import MLSMessage
from ..proposals import (
    Add,
    GroupContextExtensions,
    PreSharedKey,
    PreSharedKeyID,
    Proposal,
    ReInit,
    Remove,
    Update,
)
from ..psk import Psk
from ..ratchet_tree import PublicTree
from ..transcript import initial_interim_transcript_hash
from ..tree_math import LeafIndex
from ..tree_validation import CredentialValidator, validate_leaf_node
from ..treekem import PrivateTree
from ..welcome import GroupInfo
from ._epoch import EpochState
from ._framing import authenticate, protect, sign_member_content
from ._types import CommitResult, GroupConfig, Member, Pending, WireFormatPolicy
from .commit import (
    CommitOptions,
    StagedCommit,
    create_commit,
    make_group_info,
    new_group_context,
    stage_commit,
)
from .errors import (
    GroupReinitializedError,
    NoPendingCommitError,
    OwnCommitError,
    WrongWireFormatError,
)
from .events import ApplicationMessage, CommitApplied, Event, ProposalReceived, RemovedFromGroup
from .join import join_by_external_commit, join_by_welcome
from .proposals import ProposalCache, QueuedProposal
from .resumption import check_resumed_welcome, is_resumption_of, resumption_psk
from .state import GroupState, Op, next_state

# A lifetime that never ends, for a creator's leaf when the caller gives none.
_FOREVER = Lifetime(0, 0xFFFFFFFFFFFFFFFF)


class Group:
    """One member's state of an MLS group. Build with :meth:`create`, :meth:`join`,
    :meth:`join_external` or :meth:`from_bytes`."""

    def __init__(self, state: EpochState, private: PrivateTree, signer: bytes, *,
                 credential_validator: CredentialValidator, rng: RandomSource,
                 config: GroupConfig | None = None) -> None:
        """Internal: use the constructors."""
        self._state = state
        self._private = private
        # Our Sender, built once per epoch rather than once per message sent.
        self._me = Sender.member(private.leaf_index)
        # Parsed once and held by this group alone: signing is the hot path of encrypt.
        self._signer = state.suite.signing_key(signer)
        self._validator = credential_validator
        self._rng = rng
        self._config = config or GroupConfig()
        self._lifecycle = GroupState.OPERATIONAL
        self._cache = ProposalCache()
        self._own_update_keys: dict[bytes, bytes] = {}
        self._pending: Pending | None = None
        self._past: list[EpochState] = []
        self._resumption: dict[tuple[bytes, int], bytes] = {}
        self._external_psks: dict[bytes, bytes] = {}
        # The ReInit a commit applied (§11.2): this group is then REINIT for good.
        self._reinit: ReInit | None = None
        self._remember_resumption()

    def __repr__(self) -> str:
        return (f"Group(epoch={self.epoch}, leaf={self.own_leaf}, "
                f"members={self._state.tree.member_count}, state={self._lifecycle.value})")

    # ---- construction ----------------------------------------------------------------

    @classmethod
    def create(
        cls, suite: CipherSuite | int, *, group_id: bytes, signer: bytes,
        credential: Credential, rng: RandomSource, credential_validator: CredentialValidator,
        extensions: Sequence[Extension] = (), now: int | None = None,
        capabilities: Capabilities | None = None, lifetime: Lifetime | None = None,
        leaf_extensions: Sequence[Extension] = (), config: GroupConfig | None = None,
    ) -> Group:
        """A new one-member group at epoch 0 (§11).

        :param signer: our signature private key. :param extensions: the
            GroupContext's (e.g. external_senders, required_capabilities).
        :raises InvalidMessageError: our own leaf does not support ``extensions``.
        """
        suite = suite if isinstance(suite, CipherSuite) else cipher_suite(suite)
        enc_private, enc_public = suite.hpke.generate_key_pair(rng)
        tbs = LeafNodeTBS(
            encryption_key=enc_public, signature_key=suite.signature_public_key(signer),
            credential=credential,
            capabilities=capabilities or default_capabilities(credential.credential_type),
            leaf_node_source=LeafNodeSource.KEY_PACKAGE, lifetime=lifetime or _FOREVER,
            extensions=tuple(leaf_extensions))
        leaf = tbs.signed(suite.sign_with_label(signer, "LeafNodeTBS", tbs.to_bytes()))
        tree = PublicTree.create(suite, leaf)
        # §11: our own leaf must pass the checks any member would make of it.
        validate_leaf_node(tree, leaf, LeafIndex(0), group_id=group_id,
                           credential_validator=credential_validator,
                           group_extensions=tuple(extensions), now=now)
        context = new_group_context(suite, group_id, tree.tree_hash(), tuple(extensions))
        # §11: epoch 0 starts from a random init_secret and an all-zero commit_secret.
        schedule, _ = KeySchedule.for_commit(suite, InitSecret.random(suite, rng), None, None,
                                             context)
        secrets = schedule.epoch_secrets()
        interim = initial_interim_transcript_hash(suite, secrets.confirmation_key.value, b"")
        cfg = config or GroupConfig()
        state = EpochState.create(suite, context, tree, interim, secrets, cfg.ratchet)
        private = PrivateTree(LeafIndex(0), {enc_public: enc_private})
        return cls(state, private, signer, credential_validator=credential_validator, rng=rng,
                   config=cfg)

    @classmethod
    def join(
        cls, welcome: bytes, bundle: KeyPackageBundle, signature_private_key: bytes, *,
        rng: RandomSource, credential_validator: CredentialValidator,
        ratchet_tree: bytes | None = None, psks: Mapping[bytes, bytes] | None = None,
        now: int | None = None, config: GroupConfig | None = None,
        old_group: Group | None = None,
    ) -> Group:
        """Join from a Welcome (§12.4.3.1).

        :param psks: external PSKs by psk_id, for a Welcome that names some.
        :param old_group: our state of the group this Welcome reinitialises (§11.2,
            after its ReInit commit) or branches from (§11.3). Its resumption PSK is
            resolved from it, and the Welcome must carry exactly one reinit/branch PSK
            of it and match it (for a reinit: group_id, version, cipher_suite and
            extensions of the ReInit, the PSK of the epoch after the ReInit commit).
        :raises UnknownPskError: a PSK we do not hold -- among them a reinit/branch
            PSK of another group than ``old_group``, of an epoch it no longer keeps,
            or with no ``old_group`` given.
        :raises ResumptionMismatchError: ``old_group`` given, and the Welcome does not
            resume it as §11.2/§11.3 require.
        :raises InvalidMessageError, VerifyError, DecryptError, DecodeError: see
            :func:`letterlock.mls.group.join.join_by_welcome`.
        """
        cfg = config or GroupConfig()
        external = dict(psks or {})

        def resolver(psk_id: PreSharedKeyID) -> bytes | None:
            if psk_id.psktype == PSKType.EXTERNAL and psk_id.psk_id is not None:
                return external.get(psk_id.psk_id)
            if old_group is not None and is_resumption_of(psk_id, old_group.group_id):
                return old_group._psk_secret(psk_id)
            return None

        joined = join_by_welcome(welcome, bundle, ratchet_tree=ratchet_tree,
                                 psk_resolver=resolver,
                                 credential_validator=credential_validator,
                                 ratchet_config=cfg.ratchet, now=now)
        if old_group is not None:
            old = old_group._state
            check_resumed_welcome(joined.psks, joined.state.context, joined.state.tree,
                                  old=old.context, reinit=old_group._reinit,
                                  old_credentials=[m.credential for m in old_group.roster()])
        group = cls(joined.state, joined.private, signature_private_key,
                    credential_validator=credential_validator, rng=rng, config=cfg)
        group._external_psks.update(external)
        return group

    @classmethod
    def join_external(
        cls, group_info: bytes, signature_private_key: bytes, credential: Credential,
        rng: RandomSource, *, credential_validator: CredentialValidator,
        ratchet_tree: bytes | None = None, resync_leaf: int | None = None,
        now: int | None = None, config: GroupConfig | None = None,
        psks: Mapping[bytes, bytes] | None = None,
    ) -> tuple[Group, bytes]:
        """Join by external commit (§12.4.3.2); returns the group and the commit to send.

        The new group is at the commit's epoch already: if the delivery service rejects
        the commit, drop the returned group and try again from a newer GroupInfo.

        :param psks: external PSKs by psk_id to inject, each by a PreSharedKey proposal
            in the commit (§12.4.3.2 allows them): the members must hold them all, so
            only those who know the PSKs can join. They stay registered in the group.
        """
        cfg = config or GroupConfig()
        external = dict(psks or {})
        # §8.4: each PSK gets a fresh nonce of KDF.Nh bytes, in the group's suite.
        suite = _group_info_suite(group_info)
        psk_ids = [PreSharedKeyID.external(psk_id, rng.random_bytes(suite.n_h))
                   for psk_id in external]

        def resolver(psk_id: PreSharedKeyID) -> bytes | None:
            return external.get(psk_id.psk_id) if psk_id.psk_id is not None else None

        joined = join_by_external_commit(
            group_info, signature_private_key, credential, rng, ratchet_tree=ratchet_tree,
            resync_leaf=resync_leaf, credential_validator=credential_validator,
            ratchet_config=cfg.ratchet, psk_resolver=resolver, now=now, psk_ids=psk_ids)
        group = cls(joined.state, joined.private, signature_private_key,
                    credential_validator=credential_validator, rng=rng, config=cfg)
        group._external_psks.update(external)
        return group, joined.commit

    # ---- reading ---------------------------------------------------------------------

    @property
    def suite(self) -> CipherSuite:
        return self._state.suite

    @property
    def group_id(self) -> bytes:
        return self._state.context.group_id

    @property
    def epoch(self) -> int:
        return self._state.epoch

    @property
    def own_leaf(self) -> int:
        return int(self._private.leaf_index)

    @property
    def state(self) -> GroupState:
        return self._lifecycle

    @property
    def epoch_authenticator(self) -> bytes:
        """§8.7: compare out of band to detect a split view of the group."""
        return self._state.epoch_authenticator.value

    @property
    def extensions(self) -> tuple[Extension, ...]:
        return self._state.context.extensions

    @property
    def committed_reinit(self) -> ReInit | None:
        """The ReInit this group committed (state REINIT), else None (§11.2)."""
        return self._reinit

    @property
    def ratchet_tree(self) -> bytes:
        """The public ratchet tree (optional<Node> ratchet_tree<V>), for out-of-band
        delivery to joiners (§12.4.3.3)."""
        return self._state.tree.to_bytes()

    @property
    def pending_proposals(self) -> tuple[bytes, ...]:
        """The refs of the proposals cached in this epoch."""
        return tuple(q.ref for q in self._cache if q.ref is not None)

    def roster(self) -> list[Member]:
        """The members, by leaf index."""
        return [Member(int(i), leaf.credential, leaf.signature_key)
                for i, leaf in self._state.tree.leaves()]

    def export_secret(self, label: str | bytes, context: bytes, length: int) -> bytes:
        """MLS-Exporter(label, context, length) of the current epoch (§8.5)."""
        next_state(self._lifecycle, Op.READ)
        return self._state.exporter_secret.export(self.suite, label, context, length)

    def group_info(self, ratchet_tree_ext: bool = True) -> bytes:
        """A signed GroupInfo of the current epoch, with external_pub (§12.4.3.2)."""
        next_state(self._lifecycle, Op.PROPOSE)
        return make_group_info(self._state, self.own_leaf, self._signer,
                               ratchet_tree=ratchet_tree_ext)

    def add_external_psk(self, psk_id: bytes, secret: bytes) -> None:
        """Register an external PSK (§8.4) for proposals and commits that name it."""
        self._external_psks[psk_id] = secret

    # ---- proposing -------------------------------------------------------------------

    def _propose(self, proposal: Proposal, rng: RandomSource | None) -> bytes:
        self._lifecycle = next_state(self._lifecycle, Op.PROPOSE)
        state = self._state
        signed = sign_member_content(state, self._me, self._signer, proposal,
                                     self._config.wire_format_policy.value)
        ref = self.suite.make_proposal_ref(signed.to_bytes())
        self._cache.add(QueuedProposal(proposal, self._me, ref))
        return protect(state, signed, rng or self._rng)

    def propose_add(self, key_package: KeyPackage | bytes, *, now: int | None = None,
                    rng: RandomSource | None = None) -> bytes:
        """Propose adding the owner of ``key_package`` (§12.1.1); returns the MLSMessage.

        :raises InvalidMessageError / VerifyError: the KeyPackage is invalid (§10.1).
        """
        kp = _key_package(key_package)
        verify_key_package(self.suite, kp, now=now)
        return self._propose(Proposal(Add(kp)), rng)

    def propose_remove(self, leaf: int, *, rng: RandomSource | None = None) -> bytes:
        """Propose removing the member at ``leaf`` (§12.1.3)."""
        if self._state.member(leaf) is None:
            raise UsageError(f"leaf {leaf} is not a member")
        return self._propose(Proposal(Remove(leaf)), rng)

    def propose_update(self, rng: RandomSource | None = None) -> bytes:
        """Propose a fresh encryption key for our leaf (§12.1.2)."""
        rng = rng or self._rng
        current = self._state.member(self.own_leaf)
        assert current is not None
        enc_private, enc_public = self.suite.hpke.generate_key_pair(rng)
        tbs = LeafNodeTBS(
            encryption_key=enc_public, signature_key=current.signature_key,
            credential=current.credential, capabilities=current.capabilities,
            leaf_node_source=LeafNodeSource.UPDATE, extensions=current.extensions,
            group_id=self.group_id, leaf_index=self.own_leaf)
        leaf = tbs.signed(self.suite.sign_with_label(self._signer, "LeafNodeTBS",
                                                     tbs.to_bytes()))
        message = self._propose(Proposal(Update(leaf)), rng)
        self._own_update_keys[enc_public] = enc_private
        return message

    def propose_psk(self, psk_id: bytes, *, rng: RandomSource | None = None) -> bytes:
        """Propose injecting the registered external PSK ``psk_id`` (§12.1.4)."""
        rng = rng or self._rng
        return self._propose(Proposal(PreSharedKey(self._external_psk_id(psk_id, rng))), rng)

    def propose_group_context_extensions(self, extensions: Sequence[Extension], *,
                                         rng: RandomSource | None = None) -> bytes:
        """Propose replacing the GroupContext extensions (§12.1.7)."""
        return self._propose(Proposal(GroupContextExtensions(tuple(extensions))), rng)

    def propose_reinit(self, group_id: bytes, cipher_suite_id: int | None = None,
                       extensions: Sequence[Extension] = (), *,
                       rng: RandomSource | None = None) -> bytes:
        """Propose re-initialising the group as ``group_id`` (§12.1.5). Once committed
        (:attr:`CommitApplied.reinit`), the group is REINIT: it carries nothing more
        (§11.2), and one member starts the new group with :meth:`reinit`."""
        suite_id = cipher_suite_id if cipher_suite_id is not None else self.suite.suite_id
        return self._propose(Proposal(ReInit(group_id, self._state.context.version, suite_id,
                                             tuple(extensions))), rng)

    def _external_psk_id(self, psk_id: bytes, rng: RandomSource) -> PreSharedKeyID:
        if psk_id not in self._external_psks:
            raise UsageError("register the PSK with add_external_psk first")
        # §8.4: "a fresh random value of length KDF.Nh" as the nonce.
        return PreSharedKeyID.external(psk_id, rng.random_bytes(self.suite.n_h))

    # ---- committing ------------------------------------------------------------------

    def commit(
        self, rng: RandomSource | None = None, *, add: Sequence[KeyPackage | bytes] = (),
        remove: Sequence[int] = (), update_path: bool | None = None,
        psks: Sequence[bytes] = (), gce: Sequence[Extension] | None = None,
        by_reference: bool | Sequence[bytes] = True, authenticated_data: bytes = b"",
        now: int | None = None,
    ) -> CommitResult:
        """Commit the pending proposals (by reference) and these ones (by value) (§12.4.1).

        :param update_path: None or True includes an UpdatePath (post-compromise
            security for our leaf); False omits it, allowed only for Add/PSK/ReInit.
        :param psks: ids of registered external PSKs to inject.
        :param by_reference: True for every cached proposal, False for none, or the
            refs to include. Our own Update proposals are never included (§12.2: the
            path refreshes our leaf instead).
        :returns: the commit, Welcome and GroupInfo; the group is then PENDING_COMMIT.
        :raises InvalidStateError: a commit is already pending, or inactive.
        :raises InvalidMessageError: the proposals break §12.1/§12.2.
        """
        next_state(self._lifecycle, Op.COMMIT)
        rng = rng or self._rng
        me = self._me
        proposals = self._referenced(by_reference, remove)
        proposals += [QueuedProposal(Proposal(Add(_key_package(kp))), me) for kp in add]
        proposals += [QueuedProposal(Proposal(Remove(leaf)), me) for leaf in remove]
        proposals += [QueuedProposal(Proposal(PreSharedKey(self._external_psk_id(p, rng))),
                                     me) for p in psks]
        if gce is not None:
            proposals.append(QueuedProposal(Proposal(GroupContextExtensions(tuple(gce))), me))
        return self._commit(proposals, rng, update_path=update_path is not False,
                            authenticated_data=authenticated_data, now=now)

    def _commit(self, proposals: Sequence[QueuedProposal], rng: RandomSource, *,
                update_path: bool, authenticated_data: bytes = b"", now: int | None,
                welcome_only_psks: Sequence[Psk] = ()) -> CommitResult:
        options = CommitOptions(
            update_path=update_path,
            wire_format=self._config.wire_format_policy.value,
            ratchet_tree_in_welcome=self._config.ratchet_tree_in_welcome,
            authenticated_data=authenticated_data)
        staged = create_commit(self._state, self._private, self._signer, proposals, rng,
                               options=options, psk_resolver=self._psk_secret,
                               credential_validator=self._validator,
                               ratchet_config=self._config.ratchet, now=now,
                               welcome_only_psks=welcome_only_psks)
        assert staged.state is not None and staged.private is not None
        self._pending = Pending(staged.state, staged.private, staged.message, staged.welcome,
                                staged.group_info, commit_event(staged))
        self._lifecycle = next_state(self._lifecycle, Op.COMMIT)
        return CommitResult(staged.message, staged.welcome, staged.group_info)

    def _referenced(self, by_reference: bool | Sequence[bytes],
                    remove: Sequence[int]) -> list[QueuedProposal]:
        if by_reference is False:
            return []
        wanted = None if by_reference is True else set(by_reference)
        chosen = [q for q in self._cache if wanted is None or q.ref in wanted]
        # Leave out what would make the list invalid (§12.2): a Remove wins over an
        # Update of the same leaf; our own Updates (the path refreshes our leaf); a
        # second Remove of a leaf; a Remove of ourselves or of a leaf already blank.
        removed = set(remove)
        out: list[QueuedProposal] = []
        for q in chosen:
            body = q.proposal.body
            if isinstance(body, Remove):
                if body.removed in removed or body.removed == self.own_leaf \
                        or self._state.member(body.removed) is None:
                    continue
                removed.add(body.removed)
            out.append(q)
        updated: set[int] = set()
        result = []
        for q in out:
            leaf = q.sender.leaf_index
            if isinstance(q.proposal.body, Update):
                if leaf is None or leaf == self.own_leaf or leaf in removed or leaf in updated:
                    continue
                updated.add(leaf)
            result.append(q)
        return result

    def merge_pending_commit(self) -> list[Event]:
        """The delivery service accepted our commit: move to its epoch."""
        if self._pending is None:
            raise NoPendingCommitError("no pending commit to merge")
        self._lifecycle = next_state(self._lifecycle, Op.MERGE)
        pending, self._pending = self._pending, None
        self._advance(pending.state, pending.private, pending.event.reinit)
        return [pending.event]

    def discard_pending_commit(self) -> None:
        """Another commit won the epoch: forget ours (then process the winner)."""
        if self._pending is None:
            raise NoPendingCommitError("no pending commit to discard")
        self._lifecycle = next_state(self._lifecycle, Op.DISCARD)
        self._pending = None

    # ---- receiving -------------------------------------------------------------------

    def process(self, message: bytes, *, now: int | None = None) -> list[Event]:
        """Process a PublicMessage or PrivateMessage of this group (§6, §12).

        :returns: the events it caused (application data, a cached proposal, an
            applied commit, our removal).
        :raises OwnCommitError: this is our pending commit (merge it instead).
        :raises InvalidStateError: a commit arrives while ours is pending.
        :raises InvalidMessageError, VerifyError, DecryptError, DecodeError: the message
            is invalid; the group is unchanged.
        """
        next_state(self._lifecycle, Op.PROCESS)
        if self._pending is not None and message == self._pending.message:
            raise OwnCommitError("this is our own pending commit: call merge_pending_commit")
        parsed = MLSMessage.from_bytes(message)
        received = authenticate(parsed, self._state, past=self._past,
                                membership_key=self._state.membership_key)
        if self._lifecycle is GroupState.REINIT and received.state.epoch == self.epoch:
            # §11.2: the ReInit commit ended this group; its last epoch carries nothing.
            raise GroupReinitializedError("a message in the epoch a ReInit commit ended",
                                          "RFC 9420 §11.2")
        content = received.content.content
        sender = content.sender
        if content.content_type == ContentType.APPLICATION:
            assert isinstance(content.body, bytes) and sender.leaf_index is not None
            leaf = received.state.member(sender.leaf_index)
            assert leaf is not None
            return [ApplicationMessage(sender.leaf_index, leaf.credential, content.body,
                                       content.authenticated_data, received.state.epoch)]
        if isinstance(content.body, Proposal):
            if isinstance(content.body.body, Add):
                verify_key_package(self.suite, content.body.body.key_package, now=now)
            ref = self.suite.make_proposal_ref(received.content.to_bytes())
            self._cache.add(QueuedProposal(content.body, sender, ref))
            index = sender.leaf_index if sender.leaf_index is not None else sender.sender_index
            return [ProposalReceived(ref, content.body.proposal_type, sender.sender_type,
                                     index, self.epoch)]
        if sender.sender_type == SenderType.MEMBER and sender.leaf_index == self.own_leaf:
            raise OwnCommitError("a commit from our own leaf that is not our pending commit")
        next_state(self._lifecycle, Op.PROCESS_COMMIT)
        staged = stage_commit(self._state, received.content, self._cache,
                              private=self._private, psk_resolver=self._psk_secret,
                              credential_validator=self._validator,
                              ratchet_config=self._config.ratchet, now=now,
                              own_update_keys=self._own_update_keys)
        event = commit_event(staged)
        if staged.state is None:
            self._lifecycle = next_state(self._lifecycle, Op.REMOVED)
            return [event, RemovedFromGroup(event.epoch, event.committer)]
        assert staged.private is not None
        self._advance(staged.state, staged.private, event.reinit)
        return [event]

    def encrypt(self, data: bytes, authenticated_data: bytes = b"", *, padding: int = 0,
                rng: RandomSource | None = None) -> bytes:
        """Application data as a PrivateMessage MLSMessage (§6.3)."""
        self._lifecycle = next_state(self._lifecycle, Op.ENCRYPT)
        signed = sign_member_content(self._state, self._me, self._signer, data,
                                     WireFormat.PRIVATE_MESSAGE, authenticated_data)
        return protect(self._state, signed, rng or self._rng, padding)

    # ---- reinit and branch (§11.2, §11.3) -------------------------------------------

    def reinit(
        self, key_packages: Sequence[KeyPackage | bytes], *, rng: RandomSource | None = None,
        signer: bytes | None = None, credential: Credential | None = None,
        capabilities: Capabilities | None = None, lifetime: Lifetime | None = None,
        config: GroupConfig | None = None, now: int | None = None,
    ) -> tuple[Group, bytes | None]:
        """Start the group the committed ReInit asks for (§11.2, step 3).

        Creates the new group with the ReInit's group_id, cipher suite and extensions,
        and commits at once the Adds of ``key_packages`` (the other members' KeyPackages
        for the new suite) with the resumption PSK (usage reinit) of this group's last
        epoch, named in the Welcome only. Any member may do this, not only the one who
        committed the ReInit; the others join with ``Group.join(..., old_group=...)``.

        :param signer, credential: our identity in the new group; by default our
            current ones, which is only possible if the new suite signs with the
            same scheme.
        :returns: the new group, already at epoch 1, and the Welcome to send (None if
            no KeyPackages were given).
        :raises InvalidStateError: no ReInit was committed (the group is not REINIT).
        :raises UsageError: the ReInit's version is not ours; a KeyPackage is not
            for the new suite or not from a member of this group; the new suite needs
            another signer. :raises UnsupportedError: we do not implement its suite.
        :raises InvalidMessageError, VerifyError: a KeyPackage is invalid (§10.1).
        """
        next_state(self._lifecycle, Op.REINIT)
        reinit = self._reinit
        assert reinit is not None  # REINIT state
        if reinit.version != self._state.context.version:
            raise UsageError(f"protocol version {reinit.version} is not supported")
        return self._start_successor(
            ResumptionPSKUsage.REINIT, cipher_suite(reinit.cipher_suite), reinit.group_id,
            reinit.extensions, key_packages, rng=rng, signer=signer, credential=credential,
            capabilities=capabilities, lifetime=lifetime, config=config, now=now)

    def branch(
        self, group_id: bytes, key_packages: Sequence[KeyPackage | bytes], *,
        extensions: Sequence[Extension] | None = None, rng: RandomSource | None = None,
        capabilities: Capabilities | None = None, lifetime: Lifetime | None = None,
        config: GroupConfig | None = None, now: int | None = None,
    ) -> tuple[Group, bytes | None]:
        """Branch a subgroup ``group_id`` off this epoch (§11.3): same version and
        suite, members among this group's (``key_packages``), and the resumption PSK
        (usage branch) of the current epoch in the Welcome. This group goes on as it was.

        :param extensions: the new GroupContext's; by default this group's.
        :returns: the new group at epoch 1 and the Welcome (None without KeyPackages).
        :raises UsageError: a KeyPackage is not from a member of this group.
        """
        next_state(self._lifecycle, Op.BRANCH)
        exts = self.extensions if extensions is None else tuple(extensions)
        return self._start_successor(
            ResumptionPSKUsage.BRANCH, self.suite, group_id, exts, key_packages, rng=rng,
            signer=None, credential=None, capabilities=capabilities, lifetime=lifetime,
            config=config, now=now)

    def _start_successor(
        self, usage: ResumptionPSKUsage, suite: CipherSuite, group_id: bytes,
        extensions: Sequence[Extension], key_packages: Sequence[KeyPackage | bytes], *,
        rng: RandomSource | None, signer: bytes | None, credential: Credential | None,
        capabilities: Capabilities | None, lifetime: Lifetime | None,
        config: GroupConfig | None, now: int | None,
    ) -> tuple[Group, bytes | None]:
        rng = rng or self._rng
        me = self._state.member(self.own_leaf)
        assert me is not None
        if signer is None:
            if suite.signature.scheme_id != self.suite.signature.scheme_id:
                raise UsageError("the new cipher suite signs with another scheme: "
                                 "pass its signer and credential")
            signer = self._signer.raw
        kps = [_key_package(kp) for kp in key_packages]
        # §11.2 "the same membership", §11.3 "each LeafNode ... MUST match some LeafNode
        # in the original group": only this group's members may be taken along.
        others = [m.credential for m in self.roster() if m.leaf != self.own_leaf]
        for kp in kps:
            if kp.cipher_suite != suite.suite_id:
                raise UsageError(f"a KeyPackage is for suite {kp.cipher_suite}, "
                                 f"not {suite.suite_id}")
            if kp.leaf_node.credential not in others:
                raise UsageError("a KeyPackage is not from another member of this group")
        successor = Group.create(
            suite, group_id=group_id, signer=signer, credential=credential or me.credential,
            rng=rng, credential_validator=self._validator, extensions=extensions, now=now,
            capabilities=capabilities, lifetime=lifetime, config=config or self._config)
        # Epoch 0 -> 1 in one commit nobody else processes: the Welcome carries the
        # resumption PSK (§11.2: "MUST specify a PreSharedKeyID of type resumption").
        psk = resumption_psk(self._state, usage, suite, rng)
        mine = Sender.member(successor.own_leaf)
        adds = [QueuedProposal(Proposal(Add(kp)), mine) for kp in kps]
        result = successor._commit(adds, rng, update_path=True, now=now,
                                   welcome_only_psks=[psk])
        successor.merge_pending_commit()
        return successor, result.welcome

    # ---- storage ---------------------------------------------------------------------

    def to_bytes(self) -> bytes:
        """The whole state, secrets included (private tree, epoch secrets, secret-tree
        ratchets, past epochs, cached proposals, the pending commit): store it
        encrypted. The signature private key is included too."""
        from ._storage import dump_group

        return dump_group(self)

    @classmethod
    def from_bytes(cls, data: bytes, *, credential_validator: CredentialValidator,
                   rng: RandomSource) -> Group:
        """Restore a group saved by :meth:`to_bytes`. :raises DecodeError: bad state."""
        from ._storage import load_group

        return load_group(data, credential_validator=credential_validator, rng=rng)

    # ---- internals -------------------------------------------------------------------

    def _psk_secret(self, psk_id: PreSharedKeyID) -> bytes | None:
        if psk_id.psktype == PSKType.EXTERNAL and psk_id.psk_id is not None:
            return self._external_psks.get(psk_id.psk_id)
        if psk_id.psk_group_id is not None and psk_id.psk_epoch is not None:
            return self._resumption.get((psk_id.psk_group_id, psk_id.psk_epoch))
        return None

    def _remember_resumption(self) -> None:
        # §8.6: keep recent resumption PSKs, so later epochs can inject them.
        state = self._state
        self._resumption[state.context.group_id, state.epoch] = state.resumption_psk.value
        while len(self._resumption) > max(1, self._config.resumption_psk_epochs):
            del self._resumption[next(iter(self._resumption))]

    def _advance(self, state: EpochState, private: PrivateTree,
                 reinit: ReInit | None = None) -> None:
        if self._config.max_past_epochs > 0:
            self._past.append(self._state)
            del self._past[:-self._config.max_past_epochs]
        self._state, self._private = state, private
        self._me = Sender.member(private.leaf_index)
        # §12.4: proposals and our pending update keys belong to the old epoch.
        self._cache.clear()
        self._own_update_keys.clear()
        self._remember_resumption()
        if reinit is not None:
            # §11.2: the group now only serves its successor.
            self._reinit = reinit
            self._lifecycle = next_state(self._lifecycle, Op.REINIT_COMMITTED)


def _key_package(value: KeyPackage | bytes) -> KeyPackage:
    if isinstance(value, KeyPackage):
        return value
    body = MLSMessage.from_bytes(value).body
    if not isinstance(body, KeyPackage):
        raise WrongWireFormatError("expected a KeyPackage", "RFC 9420 §6")
    return body


def _group_info_suite(group_info: bytes) -> CipherSuite:
    body = MLSMessage.from_bytes(group_info).body
    if not isinstance(body, GroupInfo):
        raise WrongWireFormatError("expected a GroupInfo", "RFC 9420 §6")
    return cipher_suite(body.group_context.cipher_suite)


def commit_event(staged: StagedCommit) -> CommitApplied:
    """The CommitApplied event describing a staged commit."""
    applied = staged.applied
    return CommitApplied(
        epoch=staged.public.epoch, committer=int(staged.committer),
        added=tuple(applied.added_leaves), removed=tuple(int(i) for i in applied.removed),
        updated=tuple(int(i) for i, _ in applied.updated), external=staged.external,
        psks=len(applied.psks), extensions_changed=applied.extensions_changed,
        reinit=applied.reinit)


__all__ = ["CommitResult", "Group", "GroupConfig", "Member", "Pending", "WireFormatPolicy"]
