"""Public ratchet trees for tests: leaves with fake keys and no real signature, and the
edits a staged commit makes to a tree (shared by the tree and tree-encoding tests)."""

from __future__ import annotations

from collections.abc import Iterator

from letterlock.mls.constants import LeafNodeSource
from letterlock.mls.credentials import Credential
from letterlock.mls.leaf_node import Capabilities, LeafNode, Lifetime
from letterlock.mls.ratchet_tree import PublicTree
from letterlock.mls.tree_math import LeafIndex

CAPABILITIES = Capabilities(versions=(1,), cipher_suites=(1,), credentials=(1,))
EDITS = ("add", "remove", "update", "path")


def fake_leaf(tag: int, source: LeafNodeSource = LeafNodeSource.KEY_PACKAGE,
              parent_hash: bytes | None = None) -> LeafNode:
    """A structurally valid leaf with unique fake keys and no real signature."""
    return LeafNode(
        encryption_key=b"enc%d" % tag, signature_key=b"sig%d" % tag,
        credential=Credential.basic(b"member %d" % tag), capabilities=CAPABILITIES,
        leaf_node_source=source, parent_hash=parent_hash,
        lifetime=Lifetime(0, 1) if source == LeafNodeSource.KEY_PACKAGE else None,
        signature=b"",
    )


def staged_edit(tree: PublicTree, kind: str, pick: int, tags: Iterator[int]) -> PublicTree:
    """A copy of ``tree`` with one edit of ``kind`` (one of :data:`EDITS`) at the member
    ``pick`` chooses; fresh leaves take their tags from ``tags``. Removing the last
    member adds one instead."""
    members = [i for i, _ in tree.leaves()]
    target = LeafIndex(members[pick % len(members)])
    staged = tree.copy()
    if kind == "add" or (kind == "remove" and len(members) == 1):
        staged.add_leaf(fake_leaf(next(tags)))
    elif kind == "remove":
        staged.remove_leaf(target)
    elif kind == "update":
        staged.update_leaf(target, fake_leaf(next(tags), LeafNodeSource.UPDATE))
    else:  # an UpdatePath's public part, with fake keys
        keys = [b"path%d" % next(tags) for _ in staged.filtered_direct_path(target)]
        leaf_hash, node_hashes = staged.path_parent_hashes(target, keys)
        leaf = fake_leaf(next(tags), LeafNodeSource.COMMIT, parent_hash=leaf_hash)
        staged.merge_path(target, leaf, keys, node_hashes)
    return staged
