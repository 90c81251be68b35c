"""Joining a group: by Welcome (RFC 9420 §12.4.3.1) and by external commit (§12.4.3.2).

Both roads start from a GroupInfo and a ratchet tree the joiner did not build, so both
check the tree completely before trusting it: shape (§12.4.3.3), every leaf and
parent-hash link (:func:`validate_tree`), the tree hash against the GroupContext, and
the GroupInfo signature by the leaf it names as signer. Credentials go through the
caller's validator (the Authentication Service, §5.3.1) on the way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from letterlock.crypto import CipherSuite, RandomSource, VerifyError, cipher_suite

from ..commit import Commit, ProposalOrRef
from ..constants import LeafNodeSource, WireFormat
from ..credentials import Credential
from ..extension_types import ExternalPub, get_extension
from ..extensions import Extension
from ..framing import (
    FramedContent,
    FramedContentAuthData,
    PublicMessage,
    Sender,
)
from ..key_packages import KeyPackageBundle, default_capabilities
from ..key_schedule import InitSecret, KeySchedule
from ..leaf_node import Capabilities, LeafNodeTBS
from ..message_protection import sign_content
from ..mls_message import MLSMessage
from ..proposals import ExternalInit, PreSharedKey, PreSharedKeyID, Proposal, Remove
from ..psk import psk_secret
from ..ratchet_tree import PublicTree
from ..secret_tree import RatchetConfig
from ..transcript import confirmed_transcript_hash, interim_transcript_hash
from ..tree_math import LeafIndex
from ..tree_nodes import RatchetTree
from ..tree_validation import CredentialValidator, check_tree_hash, validate_tree
from ..treekem import PrivateTree, generate_update_path, private_tree_for_joiner
from ..welcome import GroupInfo, Welcome
from ..welcome_processing import GroupInfoSignatureError, open_welcome
from ._epoch import EpochState, PublicEpoch
from .commit import PskResolver, provisional_context, resolve_psks, with_confirmed
from .errors import InvalidExternalCommitError, WelcomeTreeError, WrongWireFormatError
from .proposals import QueuedProposal, apply_proposals

R_JOIN = "RFC 9420 §12.4.3.1"


@dataclass(slots=True)
class Joined:
    """A joiner's first epoch and private tree (and, external, its commit); ``psks``
    are the PSKs a Welcome's GroupSecrets named, for the caller's reinit/branch checks."""

    state: EpochState
    private: PrivateTree
    commit: bytes = b""
    psks: tuple[PreSharedKeyID, ...] = ()


def _body(data: bytes, kind: type, what: str) -> object:
    body = MLSMessage.from_bytes(data).body
    if not isinstance(body, kind):
        raise WrongWireFormatError(f"expected a {what}, got {type(body).__name__}",
                                   "RFC 9420 §6")
    return body


def load_tree(suite: CipherSuite, info: GroupInfo, ratchet_tree: bytes | None, *,
              credential_validator: CredentialValidator, now: int | None) -> PublicTree:
    """The group's tree, in-band (ratchet_tree extension) or out of band, fully checked
    against the GroupInfo's context (§12.4.3.1, §12.4.3.3)."""
    in_band = get_extension(info.extensions, RatchetTree)
    if in_band is not None:
        tree = PublicTree.from_wire(suite, in_band)
    elif ratchet_tree is not None:
        tree = PublicTree.from_bytes(suite, ratchet_tree)
    else:
        raise WelcomeTreeError("no ratchet_tree extension and no tree given", R_JOIN)
    context = info.group_context
    # The hash first: cheap, and it rules out any tree other than the group's.
    check_tree_hash(tree, context.tree_hash)
    validate_tree(tree, group_id=context.group_id, credential_validator=credential_validator,
                  group_extensions=context.extensions, now=now)
    return tree


def _signer_key(tree: PublicTree, info: GroupInfo) -> bytes:
    leaf = tree.leaf(LeafIndex(info.signer)) if info.signer < tree.n_leaves else None
    if leaf is None:
        raise WelcomeTreeError(f"GroupInfo signer {info.signer} is not a member", R_JOIN)
    return leaf.signature_key


def join_by_welcome(
    welcome: bytes, bundle: KeyPackageBundle, *, ratchet_tree: bytes | None,
    psk_resolver: PskResolver, credential_validator: CredentialValidator,
    ratchet_config: RatchetConfig, now: int | None = None,
) -> Joined:
    """Join from a Welcome (§12.4.3.1).

    :raises InvalidMessageError: a subclass naming the rule (no entry for us, tree
        invalid, our leaf missing, ...); :raises DecryptError: the secrets do not open;
        :raises VerifyError: GroupInfo signature or confirmation tag.
    """
    body = _body(welcome, Welcome, "Welcome")
    assert isinstance(body, Welcome)
    opened = open_welcome(body, bundle.key_package, bundle.init_private_key, psk_resolver)
    info = opened.group_info
    suite = opened.suite
    tree = load_tree(suite, info, ratchet_tree, credential_validator=credential_validator,
                     now=now)
    verified = opened.verify(_signer_key(tree, info))
    # §12.4.3.1: "Identify a leaf whose LeafNode is identical to the one in the KeyPackage."
    me = tree.find_leaf(bundle.key_package.leaf_node)
    if me is None:
        raise WelcomeTreeError("our KeyPackage's leaf is not in the tree", R_JOIN)
    secret = verified.group_secrets.path_secret
    private = private_tree_for_joiner(
        tree, me, bundle.encryption_private_key, committer=LeafIndex(info.signer),
        path_secret=secret.path_secret if secret is not None else None)
    state = EpochState.create(suite, info.group_context, tree,
                              verified.interim_transcript_hash, verified.epoch_secrets,
                              ratchet_config)
    return Joined(state, private, psks=tuple(verified.group_secrets.psks))


def join_by_external_commit(
    group_info: bytes, signer: bytes, credential: Credential, rng: RandomSource, *,
    ratchet_tree: bytes | None, resync_leaf: int | None,
    credential_validator: CredentialValidator, ratchet_config: RatchetConfig,
    psk_resolver: PskResolver, capabilities: Capabilities | None = None,
    leaf_extensions: tuple[Extension, ...] = (), now: int | None = None,
    psk_ids: Sequence[PreSharedKeyID] = (),
) -> Joined:
    """Join by external commit (§12.4.3.2): returns our first epoch and the commit.

    :param resync_leaf: our old leaf, removed in the same commit (a member rejoining
        after losing its state).
    :param psk_ids: PSKs to inject by PreSharedKey proposals (§12.4.3.2 allows them);
        ``psk_resolver`` must know each one's secret.
    :raises UnknownPskError: ``psk_resolver`` does not know one of ``psk_ids``.
    :raises InvalidMessageError: the GroupInfo or its tree is invalid, or it has no
        external_pub; :raises VerifyError: the GroupInfo signature.
    """
    body = _body(group_info, GroupInfo, "GroupInfo")
    assert isinstance(body, GroupInfo)
    info = body
    suite = cipher_suite(info.group_context.cipher_suite)
    tree = load_tree(suite, info, ratchet_tree, credential_validator=credential_validator,
                     now=now)
    try:
        suite.verify_with_label(_signer_key(tree, info), "GroupInfoTBS", info.tbs.to_bytes(),
                                info.signature)
    except VerifyError:
        raise GroupInfoSignatureError("GroupInfo signature does not verify",
                                      "RFC 9420 §12.4.3.2") from None
    external_pub = get_extension(info.extensions, ExternalPub)
    if external_pub is None:
        raise InvalidExternalCommitError("the GroupInfo has no external_pub",
                                         "RFC 9420 §12.4.3.2")
    context = info.group_context
    interim = interim_transcript_hash(suite, context.confirmed_transcript_hash,
                                      info.confirmation_tag)
    view = PublicEpoch(suite, context, tree, interim)

    # §8.3: the init_secret is exported from an HPKE context to external_pub.
    kem_output, init_secret = InitSecret.external_init(suite, external_pub.external_pub, rng)
    committer = Sender.new_member_commit()
    proposals = [QueuedProposal(Proposal(ExternalInit(kem_output)), committer)]
    if resync_leaf is not None:
        proposals.append(QueuedProposal(Proposal(Remove(resync_leaf)), committer))
    proposals += [QueuedProposal(Proposal(PreSharedKey(p)), committer) for p in psk_ids]
    applied = apply_proposals(view, proposals, committer,
                              credential_validator=credential_validator, now=now)
    staged = applied.tree
    me = staged.assign_free_leaf()
    template = LeafNodeTBS(
        encryption_key=b"", signature_key=suite.signature_public_key(signer),
        credential=credential,
        capabilities=capabilities or default_capabilities(credential.credential_type),
        leaf_node_source=LeafNodeSource.COMMIT, parent_hash=b"", group_id=context.group_id,
        leaf_index=me,
        extensions=leaf_extensions).signed(b"")
    path = generate_update_path(staged, me, group_id=context.group_id,
                                signature_private_key=signer, rng=rng, leaf_template=template)
    provisional = provisional_context(view, applied)
    update_path = path.encrypt(staged, provisional.to_bytes(), rng)

    commit = Commit(tuple(ProposalOrRef(proposal=q.proposal) for q in proposals), update_path)
    content = FramedContent(context.group_id, context.epoch, committer, b"", commit)
    signed = sign_content(suite, signer, WireFormat.PUBLIC_MESSAGE, content, context, b"")
    confirmed = confirmed_transcript_hash(suite, interim, signed)
    new_context = with_confirmed(provisional, confirmed)
    psk = psk_secret(suite, resolve_psks(applied.psks, psk_resolver))
    schedule, _ = KeySchedule.for_commit(suite, init_secret, path.commit_secret, psk,
                                         new_context)
    secrets = schedule.epoch_secrets()
    tag = secrets.confirmation_key.tag(suite, confirmed)
    auth = FramedContentAuthData(signed.auth.signature, tag)
    state = EpochState.create(suite, new_context, staged,
                              interim_transcript_hash(suite, confirmed, tag), secrets,
                              ratchet_config)
    message = MLSMessage(PublicMessage(content, auth)).to_bytes()
    return Joined(state, path.private_tree, message)


__all__ = ["Joined", "join_by_external_commit", "join_by_welcome", "load_tree"]
