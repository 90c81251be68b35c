"""Validating leaf nodes and whole ratchet trees (RFC 9420 §7.3, §7.9.2, §12.4.3.1).

Two entry points:

- :func:`validate_leaf_node`: the §7.3 checks for one leaf, wherever it arrives (a
  KeyPackage or Add, an Update, a Commit's UpdatePath, or a tree being joined).
- :func:`validate_tree`: everything a joiner checks about a tree it did not build
  (§12.4.3.1): every leaf valid, unmerged-leaf lists consistent, keys unique, every
  non-blank parent parent-hash valid. :func:`check_tree_hash` compares the root hash
  with the GroupContext's.

Credentials are judged by the application's Authentication Service (§5.3.1), plugged in
as a :class:`CredentialValidator` (the client checks key transparency there). There is
deliberately no default: every caller states how it authenticates members.

Errors (all :class:`~letterlock.mls.errors.InvalidMessageError`, ``rule`` set)::

    InvalidLeafNodeError        §7.3: a leaf node is not acceptable
    ├── LeafSignatureError      its signature does not verify under its signature_key
    ├── LeafSourceError         its leaf_node_source is wrong for where it travels
    ├── LifetimeError           the current time is outside its lifetime
    └── CredentialRejectedError the Authentication Service refused it (§5.3.1)
    UnsupportedCapabilityError  capabilities miss what §7.2/§7.3/§11.1/§13.4 require
                                (from :mod:`letterlock.mls.extension_types`)
    DuplicateKeyError           an encryption or signature key is not unique
    UnmergedLeavesError         an unmerged_leaves list breaks §7.1 / §12.4.3.1
    ParentHashError             a parent node is not parent-hash valid (§7.9.2)
    TreeHashMismatchError       the tree hash differs from the GroupContext's
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise
from typing import Protocol

from letterlock.crypto import CryptoError

from .constants import LeafNodeSource
from .errors import InvalidMessageError
from .extension_types import (
    UnsupportedCapabilityError,
    check_group_extensions_supported,
    check_leaf_lists_what_it_uses,
)
from .extensions import Extension
from .leaf_node import LeafNode
from .ratchet_tree import PublicTree
from .tree_hash import parent_hash
from .tree_math import (
    LeafIndex,
    NodeIndex,
    direct_path,
    leaf_to_node,
    left,
    right,
    subtree_leaves,
)
from .tree_nodes import ParentNode


class InvalidLeafNodeError(InvalidMessageError):
    """A leaf node failed the §7.3 validation. ``leaf`` is its index, when it has one."""

    def __init__(self, message: str, rule: str, leaf: int | None = None) -> None:
        where = f"leaf {leaf}: " if leaf is not None else ""
        super().__init__(where + message, rule)
        self.leaf = leaf


class LeafSignatureError(InvalidLeafNodeError):
    """§7.3: "Verify that the signature on the LeafNode is valid using signature_key"."""


class LeafSourceError(InvalidLeafNodeError):
    """§7.3: the leaf_node_source must match where the leaf arrived."""


class LifetimeError(InvalidLeafNodeError):
    """§7.3: the current time is outside the leaf's lifetime."""


class CredentialRejectedError(InvalidLeafNodeError):
    """§5.3.1: the Authentication Service did not accept the credential.

    Raise this (or another InvalidMessageError) from a :class:`CredentialValidator`.
    """

    def __init__(self, message: str, leaf: int | None = None) -> None:
        super().__init__(message, "RFC 9420 §5.3.1", leaf)


class DuplicateKeyError(InvalidMessageError):
    """An HPKE encryption key or a signature key appears twice.

    §7.3: signature_key and encryption_key are unique among the members; §12.4.3.1:
    a parent's encryption key appears in no other node; §12.4.2: no key of an
    UpdatePath appears anywhere in the tree; §16.7 explains why.
    """


class UnmergedLeavesError(InvalidMessageError):
    """An ``unmerged_leaves`` list is unsorted or inconsistent (§7.1, §12.4.3.1)."""


class ParentHashError(InvalidMessageError):
    """A parent node is not parent-hash valid, or a leaf's parent_hash is wrong (§7.9.2)."""


class TreeHashMismatchError(InvalidMessageError):
    """§12.4.3.1 / §12.4.3.3: the tree's root hash differs from the GroupContext's."""


class CredentialValidator(Protocol):
    """The application's Authentication Service (§5.3.1), as a callable.

    Called with the leaf whose credential is introduced and, when it replaces a
    member's leaf (an Update or a Commit's UpdatePath), the leaf it replaces: §5.3.1
    then also requires the new identity to be "valid as a successor" of the old one.
    ``previous`` is None for a new member (an Add, or every leaf of a tree being
    joined). Return to accept; raise :class:`CredentialRejectedError` to refuse.
    """

    def __call__(self, leaf: LeafNode, previous: LeafNode | None) -> None: ...


def validate_leaf_node(
    tree: PublicTree, leaf: LeafNode, index: LeafIndex | None, *, group_id: bytes,
    credential_validator: CredentialValidator, source: LeafNodeSource | None = None,
    group_extensions: Sequence[Extension] = (), now: int | None = None,
) -> None:
    """Validate a leaf node for the group whose tree is ``tree`` (§7.3).

    :param index: the leaf's place: where it sits (joining), or the member it replaces
        (an Update or a Commit's path). None for a KeyPackage leaf not yet placed.
        The leaf currently at ``index`` counts as replaced, not as another member.
    :param source: where the leaf arrived (key_package for a KeyPackage or Add, update,
        commit); None when validating a tree, where every source is possible.
    :param group_extensions: the GroupContext's extensions (after any
        GroupContextExtensions proposal of the commit, §12.1.7): the leaf must support
        them and their required_capabilities (§11.1).
    :param now: seconds since the Unix epoch; the lifetime is checked when given
        (§7.3: RECOMMENDED for received leaves, MUST for leaves we send).
    :raises InvalidLeafNodeError: one of its subclasses, naming the failed check.
    :raises UnsupportedCapabilityError: a capability rule of §7.2, §7.3 or §11.1.
    :raises DuplicateKeyError: a key of the leaf is used by another member or node.
    :raises DecodeError: the group's required_capabilities extension is malformed.
    """
    occupant = tree.leaf(index) if index is not None and index < tree.n_leaves else None
    if source is not None and leaf.leaf_node_source != source:
        got = LeafNodeSource(leaf.leaf_node_source).name.lower()
        raise LeafSourceError(f"leaf_node_source is {got}, expected {source.name.lower()}",
                              "RFC 9420 §7.3", index)
    placed = leaf.leaf_node_source != LeafNodeSource.KEY_PACKAGE
    if placed and index is None:
        raise LeafSourceError("an update or commit leaf needs its leaf index",
                              "RFC 9420 §7.2", index)
    _check_capabilities(tree, leaf, index, occupant, group_extensions)
    if now is not None and leaf.lifetime is not None \
            and not leaf.lifetime.not_before <= now <= leaf.lifetime.not_after:
        raise LifetimeError("current time is outside the leaf's lifetime", "RFC 9420 §7.3",
                            index)
    _check_unique_keys(tree, leaf, index, occupant, source)
    _verify_signature(tree, leaf, index, group_id)
    # A replacement (Update, Commit) passes the old leaf so the AS can judge succession.
    replacing = source in (LeafNodeSource.UPDATE, LeafNodeSource.COMMIT)
    credential_validator(leaf, occupant if replacing else None)


def validate_tree(
    tree: PublicTree, *, group_id: bytes, credential_validator: CredentialValidator,
    group_extensions: Sequence[Extension] = (), now: int | None = None,
) -> None:
    """Everything a joiner verifies about a received tree (§12.4.3.1), except the tree
    hash (see :func:`check_tree_hash`).

    Cheap structural checks run first, signatures and credentials last.

    :raises InvalidMessageError: one of this module's subclasses.
    """
    check_unique_keys(tree)
    check_unmerged_leaves(tree)
    verify_parent_hashes(tree)
    for index, leaf in tree.leaves():
        validate_leaf_node(tree, leaf, index, group_id=group_id,
                           credential_validator=credential_validator,
                           group_extensions=group_extensions, now=now)


def check_tree_hash(tree: PublicTree, expected: bytes) -> None:
    """§12.4.3.3: "the client MUST verify that the root hash of the ratchet tree matches
    the tree_hash of the GroupContext before using the tree"."""
    if tree.tree_hash() != expected:
        raise TreeHashMismatchError("tree hash does not match the GroupContext",
                                    "RFC 9420 §12.4.3.1")


def check_unique_keys(tree: PublicTree) -> None:
    """No encryption key in two nodes, no signature key in two leaves (§7.3, §12.4.3.1)."""
    encryption: set[bytes] = set()
    signature: set[bytes] = set()
    for i, node in enumerate(tree.nodes):
        if node is None:
            continue
        if node.encryption_key in encryption:
            raise DuplicateKeyError(f"node {i}: encryption key appears in another node",
                                    "RFC 9420 §12.4.3.1")
        encryption.add(node.encryption_key)
        if isinstance(node, LeafNode):
            if node.signature_key in signature:
                raise DuplicateKeyError(f"leaf {i // 2}: signature key of another member",
                                        "RFC 9420 §7.3")
            signature.add(node.signature_key)


def check_unmerged_leaves(tree: PublicTree) -> None:
    """The ``unmerged_leaves`` rules for every non-blank parent P.

    - §7.1: entries "MUST be sorted in increasing order" (so no repeats either);
    - §12.4.3.1: each entry is a non-blank leaf below P, and every non-blank node
      between that leaf and P lists it as unmerged too.
    """
    parents = _parents(tree)
    # Sets, so that a parent with thousands of unmerged leaves costs no more per entry.
    unmerged_at = {p: frozenset(node.unmerged_leaves) for p, node in parents}
    for p, node in parents:
        entries = node.unmerged_leaves
        if any(a >= b for a, b in pairwise(entries)):
            raise UnmergedLeavesError(f"node {p}: unmerged_leaves not strictly increasing",
                                      "RFC 9420 §7.1")
        below = subtree_leaves(p)
        for u in entries:
            if u not in below or tree.leaf(LeafIndex(u)) is None:
                raise UnmergedLeavesError(f"node {p}: unmerged leaf {u} is not a member "
                                          "below it", "RFC 9420 §12.4.3.1")
            for q in direct_path(leaf_to_node(LeafIndex(u)), tree.n_leaves):
                if q == p:
                    break
                if q in unmerged_at and u not in unmerged_at[q]:
                    raise UnmergedLeavesError(f"node {q}: leaf {u} is unmerged at {p} but "
                                              "not here", "RFC 9420 §12.4.3.1")


def verify_parent_hashes(tree: PublicTree) -> None:
    """Every non-blank parent node is parent-hash valid (§7.9.2), checked top down.

    For a parent P with children C and S, a node D is its link when D is in C's
    resolution, the rest of that resolution is exactly P's unmerged leaves under C, and
    D.parent_hash is the parent hash of P with copath child S. Each P needs exactly one
    such D ("exactly one descendant ... for which the parent node is parent-hash
    valid"); D is a leaf or a parent checked in its own turn, so every chain ends at a
    leaf, whose parent_hash its signature covers.
    """
    suite = tree.suite
    for p, node in _parents(tree):
        links = 0
        for c, s in ((left(p), right(p)), (right(p), left(p))):
            d = _link_candidate(tree, node, c)
            if d is None:
                continue
            d_node = tree.node(d)
            d_hash = d_node.parent_hash if d_node is not None else None
            if d_hash is None:  # a leaf not from a commit carries no parent hash
                continue
            expected = parent_hash(suite, node.encryption_key, node.parent_hash,
                                   tree.original_tree_hash(s, node.unmerged_leaves))
            if d_hash == expected:
                links += 1
        if links != 1:
            raise ParentHashError(f"parent node {p} is not parent-hash valid",
                                  "RFC 9420 §7.9.2")


def _link_candidate(tree: PublicTree, node: ParentNode, child: NodeIndex) -> NodeIndex | None:
    # §7.9.2: "D is in the resolution of C, and the intersection of P's unmerged_leaves
    # with the subtree under C is equal to the resolution of C with D removed."
    below = subtree_leaves(child)
    unmerged = {leaf_to_node(LeafIndex(u)) for u in node.unmerged_leaves if u in below}
    resolution = set(tree.resolution(child))
    rest = resolution - unmerged
    if len(rest) != 1 or not unmerged <= resolution:
        return None
    return next(iter(rest))


def _parents(tree: PublicTree) -> list[tuple[NodeIndex, ParentNode]]:
    nodes = tree.nodes
    return [(NodeIndex(i), n) for i in range(1, len(nodes), 2)
            if isinstance(n := nodes[i], ParentNode)]


def _check_capabilities(tree: PublicTree, leaf: LeafNode, index: LeafIndex | None,
                        occupant: LeafNode | None,
                        group_extensions: Sequence[Extension]) -> None:
    seen: set[int] = set()
    for ext in leaf.extensions:
        if ext.extension_type in seen:
            raise InvalidLeafNodeError(f"extension type {ext.extension_type} appears twice",
                                       "RFC 9420 §13", index)
        seen.add(ext.extension_type)
    # §7.2 / §7.3: its own credential type and non-default extensions are listed;
    # §11.1 / §13.4: it supports the group's extensions and required_capabilities.
    check_leaf_lists_what_it_uses(leaf)
    check_group_extensions_supported(leaf.capabilities, group_extensions)
    # §7.3: "Verify that the credential type is supported by all members of the group
    # ... and that the capabilities field of this LeafNode indicates support for all
    # the credential types currently in use by other members." Other members are all
    # but the leaf at ``index`` (the leaf itself, or the one it replaces). The tree's
    # counts answer this without visiting every member.
    kind = leaf.credential.credential_type
    others = tree.member_count - (occupant is not None)
    supporters = tree.credential_type_support().get(kind, 0)
    if occupant is not None and kind in occupant.capabilities.credentials:
        supporters -= 1
    if supporters < others:
        raise UnsupportedCapabilityError(
            f"leaf {index}: credential type {kind} is not supported by every member",
            "RFC 9420 §7.3")
    for used, count in tree.credential_types_in_use().items():
        if occupant is not None and used == occupant.credential.credential_type:
            count -= 1
        if count > 0 and used not in leaf.capabilities.credentials:
            raise UnsupportedCapabilityError(
                f"leaf {index}: credential type {used} of other members not supported",
                "RFC 9420 §7.3")


def _check_unique_keys(tree: PublicTree, leaf: LeafNode, index: LeafIndex | None,
                       occupant: LeafNode | None, source: LeafNodeSource | None) -> None:
    holder = tree.find_signature_key(leaf.signature_key)
    if holder is not None and holder != index:
        raise DuplicateKeyError(f"signature key already used by leaf {holder}",
                                "RFC 9420 §7.3")
    node = tree.find_encryption_key(leaf.encryption_key)
    if node is not None and (index is None or node != leaf_to_node(index)):
        raise DuplicateKeyError(f"encryption key already used by node {node}",
                                "RFC 9420 §7.3")
    # §7.3 (Update) and §12.4.2 (Commit): the new encryption_key differs from the one
    # in the leaf it replaces.
    if source in (LeafNodeSource.UPDATE, LeafNodeSource.COMMIT) and occupant is not None \
            and occupant.encryption_key == leaf.encryption_key:
        raise DuplicateKeyError("encryption key of the replaced leaf reused",
                                "RFC 9420 §7.3" if source == LeafNodeSource.UPDATE
                                else "RFC 9420 §12.4.2")


def _verify_signature(tree: PublicTree, leaf: LeafNode, index: LeafIndex | None,
                      group_id: bytes) -> None:
    # §7.2: update and commit leaves sign group_id and leaf_index too (binding them to
    # one place in one group); a key_package leaf cannot know either.
    if leaf.leaf_node_source == LeafNodeSource.KEY_PACKAGE:
        tbs = leaf.tbs_bytes()
    else:
        tbs = leaf.tbs_bytes(group_id, index)
    try:
        tree.suite.verify_with_label(leaf.signature_key, "LeafNodeTBS", tbs,
                                     leaf.signature)
    except CryptoError as exc:  # a bad signature or a malformed key: the peer's fault
        raise LeafSignatureError("signature does not verify", "RFC 9420 §7.3",
                                 index) from exc


__all__ = [
    "CredentialRejectedError",
    "CredentialValidator",
    "DuplicateKeyError",
    "InvalidLeafNodeError",
    "LeafSignatureError",
    "LeafSourceError",
    "LifetimeError",
    "ParentHashError",
    "TreeHashMismatchError",
    "UnmergedLeavesError",
    "check_tree_hash",
    "check_unique_keys",
    "check_unmerged_leaves",
    "validate_leaf_node",
    "validate_tree",
    "verify_parent_hashes",
]
