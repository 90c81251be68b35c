"""Ratchet-tree nodes and update paths on the wire (RFC 9420 §7.1, §7.6, §7.8, §12.4.3.3).

Wire forms only. The tree itself (math, resolution, hashes, TreeKEM) is built on these
elsewhere. ``HPKEPublicKey`` (``opaque HPKEPublicKey<V>``, §5.1.1) is plain ``bytes``.

:class:`RatchetTree` decodes any ``optional<Node> ratchet_tree<V>``; the shape rules of
§12.4.3.3 (last node not blank, leaves at even positions) are checked separately by
:func:`check_ratchet_tree_shape`, because a malformed tree is a semantic fault that
the receiver reports with its rule, not a wire fault.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Self

from letterlock.codec import CachedStruct, Reader, Struct, Writer

from ._wire import pull_tag, pull_uint32s, push_uint32s
from .constants import NodeType
from .errors import InvalidMessageError
from .leaf_node import LeafNode


@dataclass(frozen=True, slots=True)
class ParentNode(CachedStruct):
    """An interior node of the ratchet tree (§7.1)::

        struct {
            HPKEPublicKey encryption_key;
            opaque parent_hash<V>;
            uint32 unmerged_leaves<V>;
        } ParentNode;
    """

    encryption_key: bytes
    parent_hash: bytes
    unmerged_leaves: tuple[int, ...] = ()

    def push_fields(self, w: Writer) -> None:
        w.push_opaque(self.encryption_key)
        w.push_opaque(self.parent_hash)
        push_uint32s(w, self.unmerged_leaves)

    @classmethod
    def pull_fields(cls, r: Reader) -> Self:
        return cls(r.pull_opaque(), r.pull_opaque(), pull_uint32s(r))


def push_node(w: Writer, node: LeafNode | ParentNode) -> None:
    """A ``Node``: the node type, then the node."""
    w.push_uint8(NodeType.LEAF if isinstance(node, LeafNode) else NodeType.PARENT)
    node.push(w)


def pull_node(r: Reader) -> LeafNode | ParentNode:
    """A ``Node``, as the leaf or parent node it holds."""
    if pull_tag(r, NodeType, "node_type", width=1) == NodeType.LEAF:
        return LeafNode.pull(r)
    return ParentNode.pull(r)


@dataclass(frozen=True, slots=True)
class Node(Struct):
    """A tagged tree node (§7.8)::

        struct {
            NodeType node_type;
            select (Node.node_type) {
                case leaf:   LeafNode leaf_node;
                case parent: ParentNode parent_node;
            };
        } Node;

    The tag follows from the type of ``value``.
    """

    value: LeafNode | ParentNode

    @property
    def node_type(self) -> NodeType:
        return NodeType.LEAF if isinstance(self.value, LeafNode) else NodeType.PARENT

    def push(self, w: Writer) -> None:
        push_node(w, self.value)

    @classmethod
    def pull(cls, r: Reader) -> Self:
        return cls(pull_node(r))


# optional<Node> prefixes: absent; present + node_type (§7.8).
_ABSENT = b"\x00"
_PRESENT_LEAF = bytes((1, NodeType.LEAF))
_PRESENT_PARENT = bytes((1, NodeType.PARENT))


def join_tree_entries(nodes: Iterable[LeafNode | ParentNode | None]) -> bytes:
    """The ``optional<Node>`` entries of ``nodes``, concatenated (no length prefix):
    the body of a ``ratchet_tree`` vector, or a slice of one."""
    return b"".join([
        _ABSENT if node is None else
        (_PRESENT_LEAF if isinstance(node, LeafNode) else _PRESENT_PARENT) + node.to_bytes()
        for node in nodes])


@dataclass(frozen=True, slots=True)
class RatchetTree(Struct):
    """The public ratchet tree as sent in the ``ratchet_tree`` extension (§12.4.3.3)::

        optional<Node> ratchet_tree<V>;

    ``nodes`` is the array representation (Appendix C): leaf ``L`` at index ``2L``,
    ``None`` for a blank node. The ``Node`` wrapper is dropped: each entry is the
    :class:`LeafNode` or :class:`ParentNode` itself.
    """

    nodes: tuple[LeafNode | ParentNode | None, ...]

    def push(self, w: Writer) -> None:
        # optional<Node> entries in one opaque vector, joined from the nodes' cached
        # encodings: a Welcome at 10,000 members carries 20,000 nodes.
        w.push_opaque(join_tree_entries(self.nodes))

    @classmethod
    def pull(cls, r: Reader) -> Self:
        return cls(tuple(r.pull_vector(lambda r2: r2.pull_optional(pull_node))))


def check_ratchet_tree_shape(tree: RatchetTree) -> None:
    """The shape rules of a received tree; raises InvalidMessageError.

    - §12.4.3.3: the array is truncated after its last non-blank node, so it is not
      empty and its last node is not blank;
    - §12.4.3.3 / Appendix C: leaves sit at even indices and parent nodes at odd ones.
    """
    if not tree.nodes:
        raise InvalidMessageError("ratchet tree is empty", "RFC 9420 §12.4.3.3")
    if tree.nodes[-1] is None:
        raise InvalidMessageError("last node of the ratchet tree is blank", "RFC 9420 §12.4.3.3")
    for index, node in enumerate(tree.nodes):
        if node is None:
            continue
        if isinstance(node, LeafNode) != (index % 2 == 0):
            kind = "leaf" if isinstance(node, LeafNode) else "parent"
            raise InvalidMessageError(f"{kind} node at index {index}", "RFC 9420 §12.4.3.3")


@dataclass(frozen=True, slots=True)
class HPKECiphertext(Struct):
    """An HPKE encryption's output (§7.6)::

        struct {
            opaque kem_output<V>;
            opaque ciphertext<V>;
        } HPKECiphertext;
    """

    kem_output: bytes
    ciphertext: bytes

    def push(self, w: Writer) -> None:
        w.push_opaque(self.kem_output)
        w.push_opaque(self.ciphertext)

    @classmethod
    def pull(cls, r: Reader) -> Self:
        return cls(r.pull_opaque(), r.pull_opaque())


@dataclass(frozen=True, slots=True)
class UpdatePathNode(Struct):
    """One step of an update path: the new key and its path secret for each
    resolution member of the copath node (§7.6)::

        struct {
            HPKEPublicKey encryption_key;
            HPKECiphertext encrypted_path_secret<V>;
        } UpdatePathNode;
    """

    encryption_key: bytes
    encrypted_path_secret: tuple[HPKECiphertext, ...] = ()

    def push(self, w: Writer) -> None:
        w.push_opaque(self.encryption_key)
        w.push_vector(self.encrypted_path_secret, lambda w2, c: c.push(w2))

    @classmethod
    def pull(cls, r: Reader) -> Self:
        return cls(r.pull_opaque(), tuple(r.pull_vector(HPKECiphertext.pull)))


@dataclass(frozen=True, slots=True)
class UpdatePath(Struct):
    """A committer's new leaf and direct path (§7.6)::

        struct {
            LeafNode leaf_node;
            UpdatePathNode nodes<V>;
        } UpdatePath;

    §7.6 requires ``leaf_node`` to have the commit source; check it with
    :func:`letterlock.mls.leaf_node.check_leaf_node_source`.
    """

    leaf_node: LeafNode
    nodes: tuple[UpdatePathNode, ...] = ()

    def push(self, w: Writer) -> None:
        self.leaf_node.push(w)
        w.push_vector(self.nodes, lambda w2, n: n.push(w2))

    @classmethod
    def pull(cls, r: Reader) -> Self:
        return cls(LeafNode.pull(r), tuple(r.pull_vector(UpdatePathNode.pull)))
