"""The hash inputs of the ratchet tree (RFC 9420 §7.8 tree hashes, §7.9 parent hashes).

Only the structures and the one hash each: the tree keeps the cache and decides which
nodes to hash (:mod:`letterlock.mls.ratchet_tree`).

Tree hash (§7.8): each node's hash summarises its subtree::

    struct {
      NodeType node_type;
      select (TreeHashInput.node_type) {
        case leaf:   LeafNodeHashInput leaf_node;
        case parent: ParentNodeHashInput parent_node;
      };
    } TreeHashInput;

    struct { uint32 leaf_index; optional<LeafNode> leaf_node; } LeafNodeHashInput;
    struct { optional<ParentNode> parent_node;
             opaque left_hash<V>; opaque right_hash<V>; } ParentNodeHashInput;

A node's tree hash depends only on the nodes below it (and, for a leaf, on its index),
never on the size of the tree: that is what lets the tree keep a subtree's hash across
extending and truncating (§7.7).

Parent hash (§7.9)::

    struct {
        HPKEPublicKey encryption_key;
        opaque parent_hash<V>;
        opaque original_sibling_tree_hash<V>;
    } ParentHashInput;
"""

from __future__ import annotations

from letterlock.codec import Writer
from letterlock.crypto import CipherSuite

from .constants import NodeType
from .leaf_node import LeafNode
from .tree_nodes import ParentNode


def leaf_tree_hash(suite: CipherSuite, leaf_index: int, leaf: LeafNode | None) -> bytes:
    """Hash(TreeHashInput) of the leaf at ``leaf_index`` (``None`` when it is blank)."""
    w = Writer()
    w.push_uint8(NodeType.LEAF)
    w.push_uint32(leaf_index)
    # §7.8: "the optional node value MUST be absent if the node is blank".
    w.push_optional(leaf, lambda w2, n: n.push(w2))
    return suite.hash(w.data)


def parent_tree_hash(suite: CipherSuite, node: ParentNode | None, left_hash: bytes,
                     right_hash: bytes) -> bytes:
    """Hash(TreeHashInput) of a parent node from its children's tree hashes."""
    w = Writer()
    w.push_uint8(NodeType.PARENT)
    w.push_optional(node, lambda w2, n: n.push(w2))
    w.push_opaque(left_hash)
    w.push_opaque(right_hash)
    return suite.hash(w.data)


def parent_hash(suite: CipherSuite, encryption_key: bytes, parent_hash_of_parent: bytes,
                original_sibling_tree_hash: bytes) -> bytes:
    """Hash(ParentHashInput): the parent hash of a node P "with copath child S" (§7.9).

    :param encryption_key: P's public key.
    :param parent_hash_of_parent: P's own ``parent_hash`` field (empty for the root).
    :param original_sibling_tree_hash: the tree hash of S with P's unmerged leaves
        blanked and removed from every ``unmerged_leaves`` list below S.
    """
    w = Writer()
    w.push_opaque(encryption_key)
    w.push_opaque(parent_hash_of_parent)
    w.push_opaque(original_sibling_tree_hash)
    return suite.hash(w.data)


__all__ = ["leaf_tree_hash", "parent_hash", "parent_tree_hash"]
