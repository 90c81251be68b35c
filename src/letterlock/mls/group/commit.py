"""Creating and processing commits (RFC 9420 §12.4), both staged.

Both directions build the next :class:`EpochState` beside the current one: the
proposals are applied to a copy of the tree, the UpdatePath is merged into that copy,
and a fresh key schedule derives the new epoch. Nothing of the live group changes until
the caller merges the result; a rejected commit leaves no trace (stage, then merge).

The order of the steps is the RFC's (§12.4.1 committer, §12.4.2 receiver)::

    proposals -> staged tree (§12.3) -> UpdatePath (§7.5) -> provisional GroupContext
    (new epoch, new tree hash, old confirmed hash) -> path secrets decrypted under it
    -> confirmed transcript hash (§8.2) -> key schedule (§8) -> confirmation tag (§6.1)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from letterlock.crypto import CipherSuite, RandomSource, VerifyError
from letterlock.crypto.signature import PrivateKey

from ..commit import Commit, ProposalOrRef
from ..constants import ExtensionType, ProtocolVersion, SenderType, WireFormat
from ..errors import UsageError
from ..extension_types import ExternalPub, to_extension
from ..extensions import Extension
from ..framing import AuthenticatedContent, FramedContentAuthData, Sender
from ..group_context import GroupContext
from ..key_schedule import CommitSecret, InitSecret, KeySchedule
from ..mls_message import MLSMessage
from ..proposals import PreSharedKeyID
from ..psk import Psk, psk_secret
from ..secret_tree import RatchetConfig
from ..transcript import confirmed_transcript_hash, interim_transcript_hash
from ..tree_math import LeafIndex
from ..tree_nodes import UpdatePath
from ..tree_validation import CredentialValidator
from ..treekem import PrivateTree, decrypt_update_path, generate_update_path, merge_update_path
from ..welcome import GroupInfo, GroupInfoTBS, GroupSecrets, PathSecret
from ..welcome_processing import (
    NewMember,
    encrypt_group_info,
    seal_welcome,
    sign_group_info,
    sign_group_info_tbs,
)
from ._epoch import EpochState, EpochView, PublicEpoch
from ._framing import protect, sign_member_content
from .errors import (
    InvalidExternalCommitError,
    PathRequiredError,
    UnknownProposalRefError,
    UnknownPskError,
)
from .proposals import AppliedProposals, ProposalCache, QueuedProposal, apply_proposals

# Finds a PSK's secret by its id (external PSKs, retained resumption PSKs).
PskResolver = Callable[[PreSharedKeyID], bytes | None]


@dataclass(slots=True)
class StagedCommit:
    """A commit fully checked and derived, ready to replace the current epoch.

    ``private`` is None when this member was removed (it has no place in the new
    epoch, and ``state`` is then None too: the new secrets are unknowable to it).
    """

    committer: LeafIndex
    applied: AppliedProposals
    public: PublicEpoch
    state: EpochState | None = field(repr=False)
    private: PrivateTree | None = field(repr=False)
    external: bool = False
    message: bytes = b""
    welcome: bytes | None = None
    group_info: bytes = b""


def resolve_psks(ids: Sequence[PreSharedKeyID], resolver: PskResolver) -> list[Psk]:
    """The secrets of a commit's PSKs; §8.4/§12.4.2: an unknown PSK fails the commit."""
    psks = []
    for psk_id in ids:
        secret = resolver(psk_id)
        if secret is None:
            raise UnknownPskError("the commit injects a PSK we do not hold", "RFC 9420 §8.4")
        psks.append(Psk(psk_id, secret))
    return psks


def provisional_context(state: EpochView, applied: AppliedProposals) -> GroupContext:
    # §12.4.1 / §12.4.2: new epoch and tree hash, the *old* confirmed transcript hash
    # (the new one covers the commit, which is signed over the old context).
    old = state.context
    return GroupContext(old.version, old.cipher_suite, old.group_id, old.epoch + 1,
                        applied.tree.tree_hash(), old.confirmed_transcript_hash,
                        applied.extensions)


def with_confirmed(context: GroupContext, confirmed: bytes) -> GroupContext:
    return GroupContext(context.version, context.cipher_suite, context.group_id,
                        context.epoch, context.tree_hash, confirmed, context.extensions)


# ---- receiving --------------------------------------------------------------------------


def resolve_proposals(commit: Commit, committer: Sender,
                      cache: ProposalCache) -> list[QueuedProposal]:
    """The commit's proposals, references resolved through ``cache`` (§12.4.2)."""
    out = []
    for item in commit.proposals:
        if item.proposal is not None:
            out.append(QueuedProposal(item.proposal, committer))
            continue
        assert item.reference is not None
        queued = cache.get(item.reference)
        if queued is None:
            raise UnknownProposalRefError("the commit references an unknown proposal",
                                          "RFC 9420 §12.4.2")
        out.append(queued)
    return out


def stage_commit(
    state: EpochView, authenticated: AuthenticatedContent, cache: ProposalCache, *,
    private: PrivateTree | None, psk_resolver: PskResolver,
    credential_validator: CredentialValidator, ratchet_config: RatchetConfig,
    now: int | None = None, own_update_keys: dict[bytes, bytes] | None = None,
) -> StagedCommit:
    """Check and derive a received commit (§12.4.2) without touching ``state``.

    :param private: this member's private tree; None for a secret-free observer, which
        then checks everything up to, but not including, the new epoch's secrets.
    :param own_update_keys: our pending Update proposals' leaf keys (public -> private).
    :raises InvalidMessageError: a subclass naming the rule broken;
    :raises VerifyError: the confirmation tag does not verify;
    :raises DecryptError: our path secret does not decrypt.
    """
    content = authenticated.content
    commit = content.body
    assert isinstance(commit, Commit)
    sender = content.sender
    external = sender.sender_type == SenderType.NEW_MEMBER_COMMIT
    proposals = resolve_proposals(commit, sender, cache)
    applied = apply_proposals(state, proposals, sender,
                              credential_validator=credential_validator, now=now)
    if applied.path_required and commit.path is None:
        raise PathRequiredError("the commit's proposals require a path", "RFC 9420 §12.4")
    tree = applied.tree
    if external:
        if commit.path is None:
            raise InvalidExternalCommitError("an external commit needs a path",
                                             "RFC 9420 §12.4.3.2")
        # §12.4.3.2: a resync's Remove takes out the joiner's old leaf, so its new leaf
        # "MUST meet the same criteria as ... an Update for the removed leaf": the
        # Authentication Service judges it as the old leaf's successor.
        for removed in applied.removed:
            old_leaf = state.tree.leaf(removed)
            assert old_leaf is not None  # apply_proposals removed a member
            credential_validator(commit.path.leaf_node, old_leaf)
        # The joiner takes the leftmost free leaf after the proposals.
        committer = tree.assign_free_leaf()
    else:
        assert sender.leaf_index is not None
        committer = LeafIndex(sender.leaf_index)
    added = applied.added_leaves
    if commit.path is not None:
        merge_update_path(tree, committer, commit.path, group_id=state.context.group_id,
                          credential_validator=credential_validator, added=added,
                          group_extensions=applied.extensions, now=now)
    provisional = provisional_context(state, applied)

    me = private.leaf_index if private is not None else None
    # A removed member (its leaf now blank or truncated away) learns no new secrets.
    removed_me = me is not None and (me >= tree.n_leaves or tree.leaf(me) is None)
    commit_secret: CommitSecret | None = None
    new_private: PrivateTree | None = None
    if private is not None and not removed_me:
        keys = dict(private.keys)
        for leaf, node in applied.updated:
            if leaf == me and own_update_keys and node.encryption_key in own_update_keys:
                keys[node.encryption_key] = own_update_keys[node.encryption_key]
        current = PrivateTree(private.leaf_index, keys)
        if commit.path is not None:
            received = decrypt_update_path(tree, current, committer, commit.path,
                                           provisional.to_bytes(), added=added)
            commit_secret, new_private = received.commit_secret, received.private_tree
        else:
            new_private = current.pruned(tree)

    suite = state.suite
    confirmed = confirmed_transcript_hash(suite, state.interim_transcript_hash, authenticated)
    tag = authenticated.auth.confirmation_tag
    assert tag is not None
    public = PublicEpoch(suite, with_confirmed(provisional, confirmed), tree,
                         interim_transcript_hash(suite, confirmed, tag))
    new_state: EpochState | None = None
    if new_private is not None:
        assert isinstance(state, EpochState)
        new_state = _derive_epoch(state, applied, provisional, authenticated, commit_secret,
                                  psk_resolver, ratchet_config)
        tag = authenticated.auth.confirmation_tag
        assert tag is not None
        try:
            new_state.confirmation_key.verify_tag(state.suite,
                                                  new_state.context.confirmed_transcript_hash,
                                                  tag)
        except VerifyError:
            # §6.1 / §12.4.2: "Verify that the confirmation_tag ... is valid".
            raise VerifyError("commit confirmation_tag does not verify") from None
    return StagedCommit(committer, applied, public, new_state, new_private, external)


def _derive_epoch(state: EpochState, applied: AppliedProposals, provisional: GroupContext,
                  authenticated: AuthenticatedContent, commit_secret: CommitSecret | None,
                  psk_resolver: PskResolver, ratchet_config: RatchetConfig,
                  ) -> EpochState:
    suite = state.suite
    confirmed = confirmed_transcript_hash(suite, state.interim_transcript_hash, authenticated)
    context = with_confirmed(provisional, confirmed)
    init = _init_secret(state, applied)
    psk = psk_secret(suite, resolve_psks(applied.psks, psk_resolver))
    schedule, _ = KeySchedule.for_commit(suite, init, commit_secret, psk, context)
    secrets = schedule.epoch_secrets()
    tag = authenticated.auth.confirmation_tag
    assert tag is not None
    interim = interim_transcript_hash(suite, confirmed, tag)
    return EpochState.create(suite, context, applied.tree, interim, secrets, ratchet_config)


def _init_secret(state: EpochState, applied: AppliedProposals) -> InitSecret:
    # §8.3: an external commit's init_secret comes from its ExternalInit kem_output.
    if applied.external_init is not None:
        return state.external_secret.init_secret_from(state.suite,
                                                      applied.external_init.kem_output)
    return state.init_secret


# ---- creating ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CommitOptions:
    """How a commit is built and framed."""

    update_path: bool = True
    wire_format: WireFormat = WireFormat.PUBLIC_MESSAGE
    ratchet_tree_in_welcome: bool = True
    authenticated_data: bytes = b""


def create_commit(
    state: EpochState, private: PrivateTree, signer: PrivateKey,
    proposals: Sequence[QueuedProposal],
    rng: RandomSource, *, options: CommitOptions, psk_resolver: PskResolver,
    credential_validator: CredentialValidator, ratchet_config: RatchetConfig,
    now: int | None = None, welcome_only_psks: Sequence[Psk] = (),
) -> StagedCommit:
    """Build, sign and frame a commit of ``proposals`` from our leaf (§12.4.1).

    Returns the staged next epoch with the commit's MLSMessage, the Welcome for added
    members (with the ratchet_tree extension unless disabled) and a signed GroupInfo
    (with external_pub, for external joins).

    :param welcome_only_psks: PSKs injected after the proposals' ones without a
        PreSharedKey proposal, named only in the Welcome's GroupSecrets: the reinit or
        branch resumption PSK of a new group's first commit (§11.2, §11.3; §12.1.4
        forbids proposing them).

    :raises UsageError: a path is required and ``options.update_path`` is False.
    :raises InvalidMessageError: the proposals break a rule (§12.2).
    """
    suite = state.suite
    me = private.leaf_index
    committer = Sender.member(me)
    applied = apply_proposals(state, proposals, committer,
                              credential_validator=credential_validator, now=now)
    if applied.path_required and not options.update_path:
        raise UsageError("these proposals require a path (RFC 9420 §12.4)")
    tree = applied.tree
    added = applied.added_leaves
    path: UpdatePath | None = None
    commit_path = None
    if options.update_path:
        # The path goes into the staged tree first: the provisional GroupContext's tree
        # hash covers it, and the path secrets are encrypted under that context.
        commit_path = generate_update_path(tree, me, group_id=state.context.group_id,
                                           signature_private_key=signer, rng=rng)
        provisional = provisional_context(state, applied)
        path = commit_path.encrypt(tree, provisional.to_bytes(), rng, added=added)
        new_private = commit_path.private_tree
    else:
        provisional = provisional_context(state, applied)
        new_private = private.pruned(tree)

    commit = Commit(tuple(ProposalOrRef(reference=q.ref) if q.ref is not None
                          else ProposalOrRef(proposal=q.proposal) for q in proposals), path)
    # The signature does not cover the confirmation tag, and the tag depends on the
    # confirmed transcript hash, which covers the signature: sign, derive, then tag.
    signed = sign_member_content(state, committer, signer, commit, options.wire_format,
                                 options.authenticated_data, confirmation_tag=b"")
    confirmed = confirmed_transcript_hash(suite, state.interim_transcript_hash, signed)
    context = with_confirmed(provisional, confirmed)
    psks = [*resolve_psks(applied.psks, psk_resolver), *welcome_only_psks]
    schedule, joiner = KeySchedule.for_commit(
        suite, _init_secret(state, applied),
        commit_path.commit_secret if commit_path is not None else None,
        psk_secret(suite, psks), context)
    welcome_secret = schedule.welcome_secret()
    secrets = schedule.epoch_secrets()
    tag = secrets.confirmation_key.tag(suite, confirmed)
    authenticated = AuthenticatedContent(signed.wire_format, signed.content,
                                         FramedContentAuthData(signed.auth.signature, tag))
    interim = interim_transcript_hash(suite, confirmed, tag)
    new_state = EpochState.create(suite, context, tree, interim, secrets, ratchet_config)
    message = protect(state, authenticated, rng)

    # Both GroupInfos of the new epoch carry the same external_pub extension and the
    # commit's own confirmation tag (§12.4.3): made once.
    external_pub = to_extension(ExternalPub(new_state.external_secret.external_pub(suite)))
    info_bytes = MLSMessage(_sign_group_info(new_state, me, signer, tag, False,
                                             external_pub)).to_bytes()
    welcome_bytes = None
    if applied.added:
        members = [NewMember(kp, GroupSecrets(
            joiner.value,
            PathSecret(commit_path.path_secret_for(leaf)) if commit_path is not None else None,
            tuple(p.id for p in psks))) for leaf, kp in applied.added]
        # build_welcome in its two halves, on bytes. With the ratchet tree each copy
        # is 3 MB at 10,000 members, so no value is bound to a name: the TBS value (and
        # its tree encoding) goes once encoded, the TBS encoding once signed into the
        # GroupInfo's, and that once encrypted. Fewer copies alive at once means less
        # fresh memory for the allocator to fault in.
        encrypted_info = encrypt_group_info(suite, sign_group_info_tbs(
            suite, _group_info_tbs(new_state, me, tag, options.ratchet_tree_in_welcome,
                                   external_pub).to_bytes(), signer), welcome_secret)
        welcome_bytes = MLSMessage(seal_welcome(suite, encrypted_info, members,
                                                rng)).to_bytes()
    public = PublicEpoch(suite, context, tree, interim)
    return StagedCommit(me, applied, public, new_state, new_private, False, message,
                        welcome_bytes, info_bytes)


def make_group_info(state: EpochState, signer_leaf: int, signer: PrivateKey, *,
                    ratchet_tree: bool) -> bytes:
    """A signed GroupInfo of ``state`` (§12.4.3) as MLSMessage bytes, with the
    external_pub extension (§12.4.3.2) and, if asked, the ratchet_tree (§12.4.3.3)."""
    info = group_info(state, signer_leaf, signer, ratchet_tree=ratchet_tree)
    return MLSMessage(info).to_bytes()


def group_info(state: EpochState, signer_leaf: int, signer: PrivateKey, *,
               ratchet_tree: bool) -> GroupInfo:
    """A signed GroupInfo of ``state`` (§12.4.3); see :func:`make_group_info`."""
    suite = state.suite
    return _sign_group_info(
        state, signer_leaf, signer,
        state.confirmation_key.tag(suite, state.context.confirmed_transcript_hash),
        ratchet_tree, to_extension(ExternalPub(state.external_secret.external_pub(suite))))


def _sign_group_info(state: EpochState, signer_leaf: int, signer: PrivateKey,
                     confirmation_tag: bytes, ratchet_tree: bool,
                     external_pub: Extension) -> GroupInfo:
    return sign_group_info(state.suite, _group_info_tbs(state, signer_leaf, confirmation_tag,
                                                        ratchet_tree, external_pub), signer)


def _group_info_tbs(state: EpochState, signer_leaf: int, confirmation_tag: bytes,
                    ratchet_tree: bool, external_pub: Extension) -> GroupInfoTBS:
    extensions = [external_pub]
    if ratchet_tree:
        # The tree's own cached encoding: only the blocks of nodes this epoch changed
        # are encoded again (the extension is 3 MB at 10,000 members).
        extensions.insert(0, Extension(ExtensionType.RATCHET_TREE, state.tree.to_bytes()))
    return GroupInfoTBS(state.context, tuple(extensions), confirmation_tag, signer_leaf)


def new_group_context(suite: CipherSuite, group_id: bytes, tree_hash: bytes,
                      extensions: tuple[Extension, ...] = ()) -> GroupContext:
    """The epoch-0 GroupContext of a new group (§11): empty confirmed transcript hash."""
    return GroupContext(ProtocolVersion.MLS10, suite.suite_id, group_id, 0, tree_hash, b"",
                        extensions)


__all__ = ["CommitOptions", "PskResolver", "StagedCommit", "create_commit", "group_info",
           "make_group_info", "new_group_context", "provisional_context",
           "resolve_proposals", "resolve_psks",
           "stage_commit", "with_confirmed"]
