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

from letterlock.codec import EncodeError, encode_varint
from letterlock.crypto import CipherSuite

from .constants import NodeType
from .leaf_node import LeafNode
from .tree_nodes import ParentNode

# The inputs are joined from the nodes' cached encodings rather than written through a
# Writer: a joiner hashes every node of the tree (30,000 at 10,000 members).
_LEAF = bytes((NodeType.LEAF,))
_PARENT_ABSENT = bytes((NodeType.PARENT, 0))
_PARENT_PRESENT = bytes((NodeType.PARENT, 1))
_ABSENT, _PRESENT = b"\x00", b"\x01"


def leaf_tree_hash(suite: CipherSuite, leaf_index: int, leaf: LeafNode | None) -> bytes:
    """Hash(TreeHashInput) of the leaf at ``leaf_index`` (``None`` when it is blank)."""
    if not 0 <= leaf_index <= 0xFFFFFFFF:
        raise EncodeError(f"uint32 out of range: {leaf_index}")
    head = _LEAF + leaf_index.to_bytes(4, "big")
    # §7.8: "the optional node value MUST be absent if the node is blank".
    if leaf is None:
        return suite.hash(head + _ABSENT)
    return suite.hash(b"".join((head, _PRESENT, leaf.to_bytes())))


def parent_tree_hash(suite: CipherSuite, node: ParentNode | None, left_hash: bytes,
                     right_hash: bytes) -> bytes:
    """Hash(TreeHashInput) of a parent node from its children's tree hashes."""
    return suite.hash(b"".join((
        _PARENT_ABSENT if node is None else _PARENT_PRESENT + node.to_bytes(),
        encode_varint(len(left_hash)), left_hash, encode_varint(len(right_hash)), right_hash)))


def parent_hash(suite: CipherSuite, encryption_key: bytes, parent_hash_of_parent: bytes,
                original_sibling_tree_hash: bytes) -> bytes:
    """Hash(ParentHashInput): the parent hash of a node P "with copath child S" (§7.9).

    :param encryption_key: P's public key.
    :param parent_hash_of_parent: P's own ``parent_hash`` field (empty for the root).
    :param original_sibling_tree_hash: the tree hash of S with P's unmerged leaves
        blanked and removed from every ``unmerged_leaves`` list below S.
    """
    return suite.hash(b"".join((
        encode_varint(len(encryption_key)), encryption_key,
        encode_varint(len(parent_hash_of_parent)), parent_hash_of_parent,
        encode_varint(len(original_sibling_tree_hash)), original_sibling_tree_hash)))


__all__ = ["leaf_tree_hash", "parent_hash", "parent_tree_hash"]
