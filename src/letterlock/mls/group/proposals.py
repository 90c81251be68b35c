"""Proposals: the cache of by-reference proposals, the list rules of a commit (RFC 9420
§12.2) and their application to a staged tree in the order of §12.3.

A proposal arrives in one of two ways. Sent on its own (§12.1), it is checked, given
its ProposalRef = MakeProposalRef(AuthenticatedContent) (§5.2) and kept in the
:class:`ProposalCache` until the epoch ends; a commit then names it by that ref. Or it
travels by value inside a commit, with the committer as its sender.

:func:`apply_proposals` is the one place a commit's proposals are judged and applied:
it works on a copy of the tree, so a rejected commit leaves nothing behind (stage,
then merge). It raises the first broken rule as a specific InvalidMessageError.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from letterlock.codec import Reader, Writer

from ..constants import LeafNodeSource, ProposalType, PSKType, ResumptionPSKUsage, SenderType
from ..extension_types import (
    DEFAULT_PROPOSAL_TYPES,
    ExternalSenders,
    check_group_extensions_supported,
    get_extension,
    supports_proposal,
)
from ..extensions import Extension, check_unique
from ..framing import Sender
from ..key_package import KeyPackage
from ..key_packages import verify_key_package
from ..leaf_node import LeafNode
from ..proposals import (
    Add,
    CustomProposal,
    ExternalInit,
    GroupContextExtensions,
    PreSharedKey,
    PreSharedKeyID,
    Proposal,
    ReInit,
    Remove,
    Update,
)
from ..psk import check_psk_nonce
from ..ratchet_tree import PublicTree
from ..tree_math import LeafIndex
from ..tree_validation import CredentialValidator, validate_leaf_node
from ._epoch import EpochView
from .errors import (
    InvalidExternalCommitError,
    InvalidProposalError,
    InvalidProposalListError,
    InvalidSenderError,
)

R_LIST = "RFC 9420 §12.2"

# §12.1.8.1: what an external sender may propose (Update needs a leaf of one's own;
# ExternalInit belongs to external commits only).
EXTERNAL_SENDER_TYPES = frozenset({ProposalType.ADD, ProposalType.REMOVE, ProposalType.PSK,
                                   ProposalType.REINIT,
                                   ProposalType.GROUP_CONTEXT_EXTENSIONS})
# §12.4: "the path field ... MAY be omitted" only when every proposal is one of these.
PATH_OPTIONAL_TYPES = frozenset({ProposalType.ADD, ProposalType.PSK, ProposalType.REINIT})


@dataclass(frozen=True, slots=True)
class QueuedProposal:
    """A proposal with its sender; ``ref`` is set when it was sent on its own."""

    proposal: Proposal
    sender: Sender
    ref: bytes | None = None

    @property
    def proposal_type(self) -> int:
        return self.proposal.proposal_type


class ProposalCache:
    """Proposals received (or sent) in this epoch, by ProposalRef, in arrival order.

    Cleared at every epoch change: §12.4 "proposals ... from a previous epoch" cannot be
    committed, since a ProposalRef is only meaningful in its epoch.
    """

    __slots__ = ("_entries",)

    def __init__(self) -> None:
        self._entries: dict[bytes, QueuedProposal] = {}

    def add(self, queued: QueuedProposal) -> None:
        if queued.ref is None:
            raise InvalidProposalError("a cached proposal needs its ref", "RFC 9420 §12.4")
        self._entries.setdefault(queued.ref, queued)

    def get(self, ref: bytes) -> QueuedProposal | None:
        return self._entries.get(ref)

    def clear(self) -> None:
        self._entries.clear()

    def __iter__(self) -> Iterator[QueuedProposal]:
        return iter(list(self._entries.values()))

    def __len__(self) -> int:
        return len(self._entries)

    def push(self, w: Writer) -> None:
        w.push_vector(list(self._entries.values()), _push_queued)

    @classmethod
    def pull(cls, r: Reader) -> ProposalCache:
        cache = cls()
        for queued in r.pull_vector(_pull_queued):
            cache.add(queued)
        return cache


def _push_queued(w: Writer, q: QueuedProposal) -> None:
    w.push_opaque(q.ref or b"")
    q.sender.push(w)
    q.proposal.push(w)


def _pull_queued(r: Reader) -> QueuedProposal:
    ref = r.pull_opaque()
    sender = Sender.pull(r)
    return QueuedProposal(Proposal.pull(r), sender, ref or None)


@dataclass(slots=True)
class AppliedProposals:
    """What a commit's proposals did to the staged tree (§12.3)."""

    tree: PublicTree
    extensions: tuple[Extension, ...]
    extensions_changed: bool = False
    added: list[tuple[LeafIndex, KeyPackage]] = field(default_factory=list)
    removed: list[LeafIndex] = field(default_factory=list)
    updated: list[tuple[LeafIndex, LeafNode]] = field(default_factory=list)
    psks: list[PreSharedKeyID] = field(default_factory=list)
    external_init: ExternalInit | None = None
    reinit: ReInit | None = None
    path_required: bool = True

    @property
    def added_leaves(self) -> list[int]:
        return [int(i) for i, _ in self.added]


def check_sender_may_propose(sender: Sender, proposal: Proposal) -> None:
    """§12.1.8 / §6: which sender types may send which proposals on their own."""
    kind = proposal.proposal_type
    if kind == ProposalType.EXTERNAL_INIT:
        raise InvalidSenderError("ExternalInit is only sent inside an external commit",
                                 "RFC 9420 §12.1.6")
    if sender.sender_type == SenderType.EXTERNAL and kind not in EXTERNAL_SENDER_TYPES \
            and not isinstance(proposal.body, CustomProposal):
        raise InvalidSenderError(f"external senders may not propose type {kind}",
                                 "RFC 9420 §12.1.8.1")
    if sender.sender_type == SenderType.NEW_MEMBER_PROPOSAL and kind != ProposalType.ADD:
        raise InvalidSenderError("a new_member_proposal sender may only propose Add",
                                 "RFC 9420 §12.1.8")
    if kind == ProposalType.UPDATE and sender.sender_type != SenderType.MEMBER:
        raise InvalidSenderError("only members propose Updates", "RFC 9420 §12.1.2")


def apply_proposals(
    state: EpochView, proposals: Sequence[QueuedProposal], committer: Sender, *,
    credential_validator: CredentialValidator, now: int | None = None,
) -> AppliedProposals:
    """Check a commit's proposals (§12.1, §12.2) and apply them to a copy of the tree
    in the order of §12.3: GroupContextExtensions, Updates, Removes, Adds; PSKs,
    ReInit and ExternalInit are collected for the key schedule and the caller.

    :param committer: the commit's sender (member, or new_member_commit).
    :raises InvalidProposalListError: a list rule of §12.2 is broken.
    :raises InvalidProposalError: a proposal is invalid on its own (§12.1).
    :raises InvalidExternalCommitError: an external commit's proposals (§12.4.3.2).
    :raises InvalidMessageError: leaf/KeyPackage checks (§7.3, §10.1) and their
        subclasses; :raises VerifyError: a KeyPackage signature does not verify.
    """
    external = committer.sender_type == SenderType.NEW_MEMBER_COMMIT
    _check_list(state, proposals, committer, external)

    tree = state.tree.copy()
    result = AppliedProposals(tree, state.context.extensions)
    result.path_required = not proposals or any(
        q.proposal_type not in PATH_OPTIONAL_TYPES for q in proposals)
    by_type = _by_type(proposals)

    # §12.3 step 1: GroupContextExtensions replace the extensions wholesale.
    for q in by_type(GroupContextExtensions):
        assert isinstance(q.proposal.body, GroupContextExtensions)
        new = q.proposal.body.extensions
        check_unique(new)
        # external_senders must at least decode (§12.1.8.1 reads it later).
        get_extension(new, ExternalSenders)
        result.extensions, result.extensions_changed = new, True
    group_id = state.context.group_id

    # Step 2: Updates replace the sender's leaf and blank its direct path (§12.1.2).
    for q in by_type(Update):
        assert isinstance(q.proposal.body, Update) and q.sender.leaf_index is not None
        leaf = LeafIndex(q.sender.leaf_index)
        validate_leaf_node(tree, q.proposal.body.leaf_node, leaf, group_id=group_id,
                           credential_validator=credential_validator,
                           source=LeafNodeSource.UPDATE, group_extensions=result.extensions,
                           now=now)
        tree.update_leaf(leaf, q.proposal.body.leaf_node)
        result.updated.append((leaf, q.proposal.body.leaf_node))

    # Step 3: Removes blank the leaf and its direct path, then truncate (§12.1.3).
    for q in by_type(Remove):
        assert isinstance(q.proposal.body, Remove)
        removed = LeafIndex(q.proposal.body.removed)
        tree.remove_leaf(removed)  # BlankLeafError (§12.1.3) for a blank leaf
        result.removed.append(removed)

    # Step 4: Adds, in list order, each into the leftmost free leaf (§12.1.1).
    seen_keys: set[bytes] = set()
    for q in by_type(Add):
        assert isinstance(q.proposal.body, Add)
        key_package = q.proposal.body.key_package
        verify_key_package(state.suite, key_package, now=now)
        signature_key = key_package.leaf_node.signature_key
        if signature_key in seen_keys:
            raise InvalidProposalListError("two Adds of the same client (signature key)",
                                           R_LIST)
        seen_keys.add(signature_key)
        validate_leaf_node(tree, key_package.leaf_node, None, group_id=group_id,
                           credential_validator=credential_validator,
                           source=LeafNodeSource.KEY_PACKAGE,
                           group_extensions=result.extensions, now=now)
        result.added.append((tree.add_leaf(key_package.leaf_node), key_package))

    # Step 5: PSKs go into the key schedule in list order (§8.4).
    for q in by_type(PreSharedKey):
        assert isinstance(q.proposal.body, PreSharedKey)
        result.psks.append(q.proposal.body.psk)
    for q in by_type(ExternalInit):
        assert isinstance(q.proposal.body, ExternalInit)
        result.external_init = q.proposal.body
    for q in by_type(ReInit):
        assert isinstance(q.proposal.body, ReInit)
        result.reinit = q.proposal.body

    # §12.1.7: every member (old and new) must support the new extensions.
    if result.extensions_changed:
        for _, leaf_node in tree.leaves():
            check_group_extensions_supported(leaf_node.capabilities, result.extensions)
    return result


def _by_type(proposals: Sequence[QueuedProposal]) -> Callable[[type], list[QueuedProposal]]:
    def select(body_type: type) -> list[QueuedProposal]:
        return [q for q in proposals if isinstance(q.proposal.body, body_type)]
    return select


def _check_list(state: EpochView, proposals: Sequence[QueuedProposal], committer: Sender,
                external: bool) -> None:
    """The list rules of §12.2 (and §12.4.3.2 for external commits)."""
    types = [q.proposal_type for q in proposals]
    if external:
        # §12.4.3.2: exactly one ExternalInit, at most one Remove, PSKs; all by value.
        if types.count(ProposalType.EXTERNAL_INIT) != 1:
            raise InvalidExternalCommitError("an external commit needs exactly one "
                                             "ExternalInit", "RFC 9420 §12.4.3.2")
        allowed = {ProposalType.EXTERNAL_INIT, ProposalType.REMOVE, ProposalType.PSK}
        if any(t not in allowed for t in types) or types.count(ProposalType.REMOVE) > 1:
            raise InvalidExternalCommitError("an external commit holds only ExternalInit, "
                                             "at most one Remove, and PSKs",
                                             "RFC 9420 §12.4.3.2")
        if any(q.ref is not None for q in proposals):
            raise InvalidExternalCommitError("an external commit has no proposals by "
                                             "reference", "RFC 9420 §12.4.3.2")
    elif ProposalType.EXTERNAL_INIT in types:
        raise InvalidProposalListError("ExternalInit in a regular commit", R_LIST)
    if ProposalType.REINIT in types and len(types) > 1:
        raise InvalidProposalListError("ReInit together with other proposals", R_LIST)
    if types.count(ProposalType.GROUP_CONTEXT_EXTENSIONS) > 1:
        raise InvalidProposalListError("more than one GroupContextExtensions", R_LIST)

    touched: set[int] = set()
    psk_ids: set[bytes] = set()
    for q in proposals:
        body = q.proposal.body
        if not external:
            check_sender_may_propose(q.sender, q.proposal)
        if isinstance(body, Update):
            leaf = q.sender.leaf_index
            if q.sender == committer:
                raise InvalidProposalListError("the committer's own Update", R_LIST)
            if leaf is None or state.member(leaf) is None:
                raise InvalidProposalError(f"Update from non-member leaf {leaf}",
                                           "RFC 9420 §12.1.2")
            if leaf in touched:
                raise InvalidProposalListError(f"two Updates/Removes of leaf {leaf}", R_LIST)
            touched.add(leaf)
        elif isinstance(body, Remove):
            if committer.sender_type == SenderType.MEMBER \
                    and body.removed == committer.leaf_index:
                raise InvalidProposalListError("the committer removes itself", R_LIST)
            if body.removed in touched:
                raise InvalidProposalListError(f"two Updates/Removes of leaf {body.removed}",
                                               R_LIST)
            touched.add(body.removed)
        elif isinstance(body, PreSharedKey):
            psk = body.psk
            check_psk_nonce(state.suite, psk)
            # §12.1.4: a PreSharedKey proposal names an external PSK or a resumption
            # PSK of usage application; reinit/branch PSKs only appear in Welcomes.
            if psk.psktype == PSKType.RESUMPTION and psk.usage != ResumptionPSKUsage.APPLICATION:
                raise InvalidProposalError("resumption PSK proposal with usage other than "
                                           "application", "RFC 9420 §12.1.4")
            encoded = psk.to_bytes()
            if encoded in psk_ids:
                raise InvalidProposalListError("the same PSK proposed twice", R_LIST)
            psk_ids.add(encoded)
        elif isinstance(body, ReInit) and body.version < state.context.version:
            raise InvalidProposalError("ReInit to an older version", "RFC 9420 §12.1.5")
        # §12.2: a proposal type every member supports (default types always are).
        kind = q.proposal_type
        if kind not in DEFAULT_PROPOSAL_TYPES \
                and not all(supports_proposal(m.capabilities, kind)
                            for _, m in state.tree.leaves()):
            raise InvalidProposalListError(f"proposal type {kind} not supported by every "
                                           "member", R_LIST)


__all__ = [
    "EXTERNAL_SENDER_TYPES",
    "PATH_OPTIONAL_TYPES",
    "AppliedProposals",
    "ProposalCache",
    "QueuedProposal",
    "apply_proposals",
    "check_sender_may_propose",
]
