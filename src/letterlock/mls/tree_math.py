"""Array-based binary tree arithmetic (RFC 9420 §4, §7.1 and Appendix C).

A ratchet tree with ``n`` leaves is stored as an array of ``2n - 1`` nodes in which
leaves sit at even indices and parent nodes at odd ones. ``n`` is always a power of
two in RFC 9420 (§7.7: the tree grows by doubling and is truncated by halves).

Three index spaces are easy to confuse, so each has its own type: a
:data:`LeafIndex` counts leaves (what a ``Sender`` carries), a :data:`ParentIndex`
counts parent nodes, and a :data:`NodeIndex` is a position in the node array. They are
``NewType`` s over ``int``: the type checker keeps them apart at no runtime cost, which
matters on the hot path of a 10,000-member tree. Convert only through the functions here.
"""

from __future__ import annotations

from typing import NewType

from .errors import UsageError

LeafIndex = NewType("LeafIndex", int)
ParentIndex = NewType("ParentIndex", int)
NodeIndex = NewType("NodeIndex", int)


def leaf_to_node(leaf: LeafIndex) -> NodeIndex:
    """Leaf ``i`` lives at node ``2i``."""
    return NodeIndex(2 * leaf)


def parent_to_node(parent: ParentIndex) -> NodeIndex:
    """Parent ``i`` lives at node ``2i + 1``."""
    return NodeIndex(2 * parent + 1)


def is_leaf(node: NodeIndex) -> bool:
    return node & 1 == 0


def node_to_leaf(node: NodeIndex) -> LeafIndex:
    if node & 1:
        raise UsageError(f"node {node} is a parent node, not a leaf")
    return LeafIndex(node >> 1)


def node_to_parent(node: NodeIndex) -> ParentIndex:
    if not node & 1:
        raise UsageError(f"node {node} is a leaf, not a parent node")
    return ParentIndex(node >> 1)


def level(node: NodeIndex) -> int:
    """Height of a node: 0 for leaves, the number of trailing one bits otherwise."""
    x = int(node)
    # Trailing ones of x are the trailing zeros of x + 1.
    return ((x + 1) & -(x + 1)).bit_length() - 1


def node_width(n_leaves: int) -> int:
    """Number of nodes in a tree with ``n_leaves`` leaves."""
    return 0 if n_leaves == 0 else 2 * (n_leaves - 1) + 1


def _check_size(n_leaves: int) -> None:
    # §7.7 keeps the leaf count a power of two; other sizes are a caller's bug.
    if n_leaves <= 0 or n_leaves & (n_leaves - 1):
        raise UsageError(f"a tree has a power-of-two number of leaves, not {n_leaves}")


def root(n_leaves: int) -> NodeIndex:
    """Index of the root node."""
    _check_size(n_leaves)
    return NodeIndex(n_leaves - 1)


def left(node: NodeIndex) -> NodeIndex:
    """Left child of a parent node."""
    k = level(node)
    if k == 0:
        raise UsageError(f"leaf node {node} has no children")
    return NodeIndex(node ^ (1 << (k - 1)))


def right(node: NodeIndex) -> NodeIndex:
    """Right child of a parent node."""
    k = level(node)
    if k == 0:
        raise UsageError(f"leaf node {node} has no children")
    return NodeIndex(node ^ (3 << (k - 1)))


def _check_node(node: NodeIndex, n_leaves: int) -> None:
    if not 0 <= node < node_width(n_leaves):
        raise UsageError(f"node {node} is outside a tree of {n_leaves} leaves")


def parent(node: NodeIndex, n_leaves: int) -> NodeIndex:
    """Parent of a non-root node."""
    _check_size(n_leaves)
    _check_node(node, n_leaves)
    if node == n_leaves - 1:
        raise UsageError("the root has no parent")
    k = level(node)
    b = (node >> (k + 1)) & 1
    return NodeIndex((node | (1 << k)) ^ (b << (k + 1)))


def sibling(node: NodeIndex, n_leaves: int) -> NodeIndex:
    """The other child of this node's parent."""
    p = parent(node, n_leaves)
    return right(p) if node < p else left(p)


def direct_path(node: NodeIndex, n_leaves: int) -> list[NodeIndex]:
    """Parents from this node's parent up to and including the root (§4.1)."""
    _check_size(n_leaves)
    _check_node(node, n_leaves)
    top = n_leaves - 1
    path: list[NodeIndex] = []
    x = int(node)
    while x != top:
        k = level(NodeIndex(x))
        b = (x >> (k + 1)) & 1
        x = (x | (1 << k)) ^ (b << (k + 1))
        path.append(NodeIndex(x))
    return path


def copath(node: NodeIndex, n_leaves: int) -> list[NodeIndex]:
    """Siblings of the node and of each node on its direct path except the root (§4.1)."""
    path = [node, *direct_path(node, n_leaves)]
    path.pop()  # the root has no sibling
    return [sibling(x, n_leaves) for x in path]


def common_ancestor(a: NodeIndex, b: NodeIndex) -> NodeIndex:
    """Lowest common ancestor of two nodes (Appendix C, ``common_ancestor_direct``)."""
    la, lb = level(a) + 1, level(b) + 1
    # One node may be the other's ancestor: their indices agree above its level.
    if la <= lb and a >> lb == b >> lb:
        return b
    if lb <= la and a >> la == b >> la:
        return a
    x, y, k = int(a), int(b), 0
    while x != y:
        x >>= 1
        y >>= 1
        k += 1
    # The shared prefix, then a one bit and k - 1 ones: the parent at level k - 1.
    return NodeIndex((x << k) + (1 << (k - 1)) - 1)


def subtree_leaves(node: NodeIndex) -> range:
    """Leaf indices below a node (just the leaf itself for a leaf node)."""
    count = 1 << level(node)
    first = (node - (count - 1)) >> 1  # the leftmost node of the subtree is a leaf
    return range(first, first + count)


__all__ = [
    "LeafIndex",
    "NodeIndex",
    "ParentIndex",
    "common_ancestor",
    "copath",
    "direct_path",
    "is_leaf",
    "leaf_to_node",
    "left",
    "level",
    "node_to_leaf",
    "node_to_parent",
    "node_width",
    "parent",
    "parent_to_node",
    "right",
    "root",
    "sibling",
    "subtree_leaves",
]
