"""The public ratchet tree (RFC 9420 §4.1, §7, §12.1): nodes, resolutions, hashes, edits.

:class:`PublicTree` holds what every member agrees on: the array of nodes (Appendix C:
leaf ``L`` at index ``2L``, parents at odd indices, a power-of-two number of leaves,
§7.7) and nothing secret. Private keys live in :class:`letterlock.mls.treekem.PrivateTree`.

Staging (the stage-then-merge rule of our design): a commit is applied to
``staged = tree.copy()`` and the caller keeps ``staged`` only if the whole commit is
accepted; a rejected commit leaves the original untouched. The copy is shallow: node
values are frozen dataclasses shared between the two trees, so copying costs a few
pointer arrays (a third of a millisecond at 10,000 members), and each edit replaces whole
node values (copy-on-write at node granularity).

Hashes are cached per node (§7.8). An edit invalidates the edited node and its
ancestors only; every other subtree keeps its hash, because a subtree's hash depends on
nothing outside it. The invariant "a cached node has cached children" lets the
invalidation stop at the first ancestor that is already stale. So an Add, Remove,
Update or UpdatePath rehashes O(log n) nodes, not the tree.

Node encodings are cached too (each node value keeps its bytes, see
:class:`letterlock.codec.CachedStruct`), so rehashing a path does not re-encode unchanged
nodes. The ``ratchet_tree`` encoding a Welcome carries (§12.4.3.3) is cached in blocks
of 64 consecutive ``optional<Node>`` entries: an edit drops the cached block of the node
it writes, like the hashes, so encoding the tree after a commit joins the O(log n)
blocks it touched afresh and reuses the rest (20,000 nodes, 3 MB, at 10,000 members).
The block list is copied with the tree, so edits on a staged copy never reach the
original's blocks.

Resolutions skip subtrees that lie wholly right of the last non-blank node (the blank
tail a tree of 10,000 members in 16,384 leaf slots has) without walking them.

Indexes kept alongside the nodes make the uniqueness rules of §7.3 / §12.4.2 O(1):
encryption key -> node, signature key -> leaf, and counts of credential types in use
and supported (for the §7.3 credential-type rules).

Validation of a tree received from a peer is in :mod:`letterlock.mls.tree_validation`;
decoding checks only the shape (§12.4.3.3).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Collection, Iterator, Mapping, Sequence
from typing import TypeAlias, cast

from letterlock.codec import DecodeError, encode_varint
from letterlock.crypto import CipherSuite

from . import tree_math
from ._tree_index import TreeIndex
from .errors import InvalidMessageError, UsageError
from .leaf_node import LeafNode
from .tree_hash import leaf_tree_hash, parent_hash, parent_tree_hash
from .tree_math import LeafIndex, NodeIndex, direct_path, leaf_to_node, sibling
from .tree_nodes import ParentNode, RatchetTree, join_tree_entries

TreeNode: TypeAlias = LeafNode | ParentNode

_SHAPE_RULE = "RFC 9420 §12.4.3.3"

# Nodes per cached block of the ratchet_tree encoding: small enough that re-joining the
# blocks a commit touched is cheap, large enough that joining all blocks is too.
_BLOCK_SHIFT = 6


class MalformedTreeError(InvalidMessageError, DecodeError):
    """A received ``ratchet_tree`` has an impossible shape (§12.4.3.3): empty, a blank
    last node, or a leaf at an odd (parent) index or a parent at an even one.

    It is both an :class:`InvalidMessageError` (it breaks a rule, cited in ``rule``)
    and a :class:`~letterlock.codec.DecodeError` (the bytes do not describe a tree), so
    a caller that only handles decode errors for untrusted bytes still catches it.
    """

    def __init__(self, message: str) -> None:
        # Neither base's __init__ fits both: set the attributes of each directly.
        Exception.__init__(self, f"{message} ({_SHAPE_RULE})")
        self.rule = _SHAPE_RULE
        self.reason = message
        self.position = 0


class BlankLeafError(InvalidMessageError):
    """A proposal names a leaf that is blank or outside the tree.

    §12.1.3: a Remove "is invalid if the removed field does not identify a non-blank
    leaf node"; §12.1.2 likewise needs a sender's leaf to replace.
    """

    def __init__(self, leaf: int, rule: str) -> None:
        super().__init__(f"leaf {leaf} is blank or outside the tree", rule)
        self.leaf = leaf


class PublicTree:
    """A ratchet tree's public state over the array representation.

    Build one with :meth:`create` (a new group), :meth:`from_bytes` / :meth:`from_wire`
    (a received ``ratchet_tree``; validate it with
    :func:`letterlock.mls.tree_validation.validate_tree` before use) or :meth:`copy`.
    Read methods never change the tree (apart from filling the hash cache); the edit
    methods are meant for a staged copy.
    """

    __slots__ = ("_blocks", "_free_hint", "_hashes", "_index", "_last", "_n_leaves", "_nodes",
                 "_suite")

    def __init__(self, suite: CipherSuite, nodes: list[TreeNode | None]) -> None:
        """Internal: ``nodes`` must already be a full-width array (use the constructors)."""
        self._suite = suite
        self._n_leaves = (len(nodes) + 1) // 2
        self._nodes: list[TreeNode | None] = [None] * len(nodes)
        self._hashes: list[bytes | None] = [None] * len(nodes)
        # Block k caches the joined optional<Node> entries of nodes 64k .. 64k + 63 (None:
        # not made yet, or stale). Only whole blocks are listed: len(nodes) >> 6 of them.
        self._blocks: list[bytes | None] = [None] * (len(nodes) >> _BLOCK_SHIFT)
        self._index = TreeIndex()
        # Every leaf left of ``_free_hint`` is non-blank: the search for the leftmost
        # blank leaf starts there (lowered when a leaf is blanked).
        self._free_hint = 0
        # The index of the last non-blank node (-1: none). Every subtree wholly to its
        # right is blank, so resolutions skip it without a walk: a group of 10,000
        # members in a tree of 16,384 leaves has 6,384 blank leaves there.
        self._last = -1
        for i, node in enumerate(nodes):
            if node is not None:
                self._nodes[i] = node
                self._index.add(NodeIndex(i), node)
                self._last = i

    # ---- construction and encoding ----------------------------------------------------

    @classmethod
    def create(cls, suite: CipherSuite, leaf: LeafNode) -> PublicTree:
        """The one-leaf tree of a new group (§11): the creator at leaf 0."""
        return cls(suite, [leaf])

    @classmethod
    def from_nodes(cls, suite: CipherSuite,
                   nodes: Sequence[TreeNode | None]) -> PublicTree:
        """A tree from its (possibly truncated) node array, padded with blanks (§12.4.3.3).

        :raises MalformedTreeError: the array is empty, ends with a blank, or has a leaf
            at an odd index or a parent at an even one.
        """
        if not nodes:
            raise MalformedTreeError("ratchet tree is empty")
        if nodes[-1] is None:
            # §12.4.3.3: "The receiver MUST check that the last node in ratchet_tree
            # is non-blank" (the sender strips trailing blanks).
            raise MalformedTreeError("last node of the ratchet tree is blank")
        for index, node in enumerate(nodes):
            if node is not None and isinstance(node, LeafNode) != (index % 2 == 0):
                kind = "leaf" if isinstance(node, LeafNode) else "parent"
                raise MalformedTreeError(f"{kind} node at index {index}")
        # "... then extend the tree to the right until it has a length of the form
        # 2^(d+1) - 1, adding the minimum number of blank values possible."
        n_leaves = 1
        while 2 * n_leaves - 1 < len(nodes):
            n_leaves *= 2
        padded = list(nodes) + [None] * (2 * n_leaves - 1 - len(nodes))
        return cls(suite, padded)

    @classmethod
    def from_wire(cls, suite: CipherSuite, tree: RatchetTree) -> PublicTree:
        """A tree from the decoded ``ratchet_tree`` extension; see :meth:`from_nodes`."""
        return cls.from_nodes(suite, tree.nodes)

    @classmethod
    def from_bytes(cls, suite: CipherSuite, data: bytes) -> PublicTree:
        """Decode ``optional<Node> ratchet_tree<V>``.

        :raises DecodeError: the bytes are not a canonical encoding, or (as
            :class:`MalformedTreeError`, also an InvalidMessageError) not a tree shape.
        """
        return cls.from_wire(suite, RatchetTree.from_bytes(data))

    def to_wire(self) -> RatchetTree:
        """The ``ratchet_tree`` form: trailing blank nodes left out (§12.4.3.3)."""
        return RatchetTree(tuple(self._nodes[:self._last + 1]))

    def to_bytes(self) -> bytes:
        """The encoded ``ratchet_tree`` (§12.4.3.3): ``to_wire().to_bytes()``, joined
        from the cached blocks of entries (see the module docstring)."""
        end = self._last + 1
        full = end >> _BLOCK_SHIFT
        nodes, blocks = self._nodes, self._blocks
        parts: list[bytes] = []
        for k in range(full):
            block = blocks[k]
            if block is None:
                block = blocks[k] = join_tree_entries(
                    nodes[k << _BLOCK_SHIFT:(k + 1) << _BLOCK_SHIFT])
            parts.append(block)
        # The partial block before the blank tail (trailing blanks are left out).
        parts.append(join_tree_entries(nodes[full << _BLOCK_SHIFT:end]))
        return b"".join([encode_varint(sum(map(len, parts))), *parts])

    def copy(self) -> PublicTree:
        """An independent tree to stage changes on (shallow: nodes are immutable)."""
        other = PublicTree.__new__(PublicTree)
        other._suite = self._suite
        other._n_leaves = self._n_leaves
        other._nodes = self._nodes.copy()
        other._hashes = self._hashes.copy()
        other._blocks = self._blocks.copy()
        other._index = self._index.copy()
        other._free_hint = self._free_hint
        other._last = self._last
        return other

    def __repr__(self) -> str:
        return f"PublicTree({self._n_leaves} leaves, {self._index.members} members)"

    # ---- reading ----------------------------------------------------------------------

    @property
    def suite(self) -> CipherSuite:
        return self._suite

    @property
    def n_leaves(self) -> int:
        """Number of leaf slots (a power of two), blank ones included."""
        return self._n_leaves

    @property
    def member_count(self) -> int:
        """Number of non-blank leaves."""
        return self._index.members

    @property
    def root(self) -> NodeIndex:
        return tree_math.root(self._n_leaves)

    @property
    def nodes(self) -> tuple[TreeNode | None, ...]:
        """The full array of ``2 * n_leaves - 1`` nodes, ``None`` for blank."""
        return tuple(self._nodes)

    def node(self, index: NodeIndex) -> TreeNode | None:
        self._check_node(index)
        return self._nodes[index]

    def leaf(self, index: LeafIndex) -> LeafNode | None:
        """The leaf node at ``index``, or None if blank. UsageError outside the tree."""
        if not 0 <= index < self._n_leaves:
            raise UsageError(f"leaf {index} is outside a tree of {self._n_leaves} leaves")
        # A string type: no Union object built on every call (every message looks
        # up its sender's leaf).
        return cast("LeafNode | None", self._nodes[2 * index])

    def parent_node(self, index: NodeIndex) -> ParentNode | None:
        """The parent node at an odd ``index``, or None if blank."""
        self._check_node(index)
        if not index & 1:
            raise UsageError(f"node {index} is a leaf, not a parent")
        return cast(ParentNode | None, self._nodes[index])

    def leaves(self) -> Iterator[tuple[LeafIndex, LeafNode]]:
        """The non-blank leaves, left to right."""
        for i in range(0, len(self._nodes), 2):
            node = self._nodes[i]
            if node is not None:
                yield LeafIndex(i >> 1), cast(LeafNode, node)

    def find_encryption_key(self, key: bytes) -> NodeIndex | None:
        """The node (leaf or parent) holding this HPKE public key, if any."""
        return self._index.encryption.get(key)

    def find_signature_key(self, key: bytes) -> LeafIndex | None:
        """The leaf holding this signature public key, if any."""
        return self._index.signature.get(key)

    def find_leaf(self, leaf: LeafNode) -> LeafIndex | None:
        """Where this exact leaf node sits (a joiner finding itself, §12.4.3.1)."""
        index = self._index.encryption.get(leaf.encryption_key)
        if index is None or index & 1 or self._nodes[index] != leaf:
            return None
        return LeafIndex(index >> 1)

    def credential_types_in_use(self) -> Mapping[int, int]:
        """Credential type -> how many members' credentials have it."""
        return self._index.credentials_in_use

    def credential_type_support(self) -> Mapping[int, int]:
        """Credential type -> how many members list it in ``capabilities.credentials``."""
        return self._index.credentials_supported

    def free_leaf(self) -> LeafIndex:
        """Where the next Add goes (§12.1.1): the leftmost blank leaf, or ``n_leaves``
        when the tree is full and must be extended."""
        # Identity tests, not list.index(None): that would call LeafNode.__eq__ on
        # every member. Amortised O(1) for a run of Adds.
        nodes, index = self._nodes, self._free_hint
        while index < self._n_leaves and nodes[2 * index] is not None:
            index += 1
        self._free_hint = index
        return LeafIndex(index)

    def resolution(self, index: NodeIndex,
                   exclude: Collection[int] = ()) -> list[NodeIndex]:
        """The resolution of a node (§4.1.1), as node indices.

        A non-blank node resolves to itself followed by its unmerged leaves; a blank
        leaf to nothing; a blank parent to its left then its right child's resolution.
        ``exclude`` names leaves to leave out wherever they would appear: the members
        added by the commit being built or processed (§7.6).
        """
        self._check_node(index)
        out: list[NodeIndex] = []
        self._resolve(index, frozenset(exclude), out)
        return out

    def filtered_direct_path(self, leaf: LeafIndex) -> list[NodeIndex]:
        """The filtered direct path of a leaf (§4.1.2)."""
        return [p for p, _ in self.filtered_direct_path_pairs(leaf)]

    def filtered_direct_path_pairs(self, leaf: LeafIndex) -> list[tuple[NodeIndex, NodeIndex]]:
        """``(path node, its copath child)`` along the filtered direct path (§4.1.2).

        §4.1.2 drops each direct-path node "whose child on the copath of L has an empty
        resolution (keeping in mind that any unmerged leaves of the copath child count
        toward its resolution)": encrypting to it would only reach L's own side.
        """
        start = leaf_to_node(self._check_leaf(leaf))
        pairs: list[tuple[NodeIndex, NodeIndex]] = []
        child = start
        for p in direct_path(start, self._n_leaves):
            other = sibling(child, self._n_leaves)
            if self._has_resolution(other):
                pairs.append((p, other))
            child = p
        return pairs

    # ---- hashes -----------------------------------------------------------------------

    def tree_hash(self) -> bytes:
        """The tree hash of the root (§7.8): what the GroupContext carries."""
        return self.node_tree_hash(self.root)

    def node_tree_hash(self, index: NodeIndex) -> bytes:
        """The tree hash of the subtree under ``index`` (cached, §7.8)."""
        self._check_node(index)
        return self._hash(index)

    def original_tree_hash(self, index: NodeIndex, removed: Collection[int]) -> bytes:
        """The tree hash of ``index`` as if the leaves in ``removed`` were blank and gone
        from every ``unmerged_leaves`` list: §7.9's ``original_sibling_tree_hash``.

        Subtrees that contain none of ``removed`` reuse the cached hash, as §7.9
        suggests ("A subtree hash can be reused as long as the intersection of the
        parent's unmerged leaves with the subtree is the same").
        """
        self._check_node(index)
        return self._original_hash(index, frozenset(removed), sorted(set(removed)))

    def path_parent_hashes(self, leaf: LeafIndex,
                           public_keys: Sequence[bytes]) -> tuple[bytes, list[bytes]]:
        """The parent hashes an UpdatePath from ``leaf`` with these keys produces (§7.9).

        ``public_keys`` are the new keys of the filtered direct path, bottom up. Returns
        ``(leaf_parent_hash, node_parent_hashes)``: the ``parent_hash`` for the new leaf
        node and for each path node. The chain is built from the top down: the topmost
        node has an empty parent hash, and each node below holds the parent hash of the
        next node up "with copath child S". The new path nodes have no unmerged leaves,
        so S's original tree hash is its current tree hash. Reads only; the sender's
        old path does not matter (no copath subtree contains it).

        :raises UsageError: ``public_keys`` does not match the filtered direct path.
        """
        pairs = self.filtered_direct_path_pairs(leaf)
        if len(public_keys) != len(pairs):
            raise UsageError(f"{len(public_keys)} keys for a filtered direct path of "
                             f"{len(pairs)} nodes")
        node_hashes = [b""] * len(pairs)
        above = b""
        for k in range(len(pairs) - 1, -1, -1):
            node_hashes[k] = above
            above = parent_hash(self._suite, public_keys[k], above,
                                self._hash(pairs[k][1]))
        return above, node_hashes

    # ---- edits (§7.7, §12.1, §7.5) ----------------------------------------------------

    def assign_free_leaf(self) -> LeafIndex:
        """The leftmost blank leaf, after extending the tree if there is none (§7.7).

        Where an Add puts its member (§12.1.1), and where an external committer sits
        before its UpdatePath is merged (§12.4.1, §12.4.2).
        """
        index = self.free_leaf()
        if index == self._n_leaves:
            self._extend()
        return index

    def add_leaf(self, leaf: LeafNode) -> LeafIndex:
        """Apply an Add (§12.1.1); returns the new member's leaf index.

        The leftmost blank leaf is used, or the tree is extended (doubled) to the right
        first (§7.7). The new leaf becomes unmerged at every non-blank ancestor, which
        keeps ``unmerged_leaves`` sorted (§7.1 MUST).
        """
        index = self.assign_free_leaf()
        node_index = leaf_to_node(index)
        for p in direct_path(node_index, self._n_leaves):
            parent = cast(ParentNode | None, self._nodes[p])
            if parent is not None:
                unmerged = parent.unmerged_leaves
                if unmerged and index <= unmerged[-1]:  # rare: an internal blank was reused
                    unmerged = tuple(sorted({*unmerged, index}))
                else:
                    unmerged = (*unmerged, index)
                self._set(p, ParentNode(parent.encryption_key, parent.parent_hash, unmerged))
        self._set(node_index, leaf)
        return index

    def update_leaf(self, index: LeafIndex, leaf: LeafNode) -> None:
        """Apply an Update from the member at ``index`` (§12.1.2): replace its leaf node
        and blank its direct path.

        :raises BlankLeafError: the sender's leaf is blank.
        """
        self._require_member(index, "RFC 9420 §12.1.2")
        self._set(leaf_to_node(index), leaf)
        self._blank_direct_path(index)

    def remove_leaf(self, index: LeafIndex) -> None:
        """Apply a Remove (§12.1.3): blank the leaf and its direct path, then truncate
        while the right half of the tree holds no member.

        :raises BlankLeafError: ``index`` is blank or outside the tree.
        """
        self._require_member(index, "RFC 9420 §12.1.3")
        self._set(leaf_to_node(index), None)
        self._blank_direct_path(index)
        self._truncate()

    def replace_leaf(self, index: LeafIndex, leaf: LeafNode) -> None:
        """Set the leaf node at ``index`` without touching its path (low level)."""
        self._set(leaf_to_node(self._check_leaf(index)), leaf)

    def merge_path(self, index: LeafIndex, leaf: LeafNode, public_keys: Sequence[bytes],
                   parent_hashes: Sequence[bytes]) -> None:
        """Write an UpdatePath's public part (§7.5, "merges UpdatePath into the tree").

        Blanks the direct path of ``index``, sets each filtered-direct-path node to a
        parent with the given key and parent hash and no unmerged leaves, and installs
        the new leaf. All checks are the caller's (:mod:`letterlock.mls.treekem`).

        :raises UsageError: the key or hash lists do not match the filtered path.
        """
        pairs = self.filtered_direct_path_pairs(index)
        if not len(public_keys) == len(parent_hashes) == len(pairs):
            raise UsageError("keys and parent hashes must match the filtered direct path")
        self._blank_direct_path(index)
        for (p, _), key, p_hash in zip(pairs, public_keys, parent_hashes, strict=True):
            self._set(p, ParentNode(key, p_hash, ()))
        self._set(leaf_to_node(index), leaf)

    # ---- internals --------------------------------------------------------------------

    def _check_node(self, index: int) -> None:
        if not 0 <= index < len(self._nodes):
            raise UsageError(f"node {index} is outside a tree of {self._n_leaves} leaves")

    def _check_leaf(self, index: LeafIndex) -> LeafIndex:
        if not 0 <= index < self._n_leaves:
            raise UsageError(f"leaf {index} is outside a tree of {self._n_leaves} leaves")
        return index

    def _require_member(self, index: LeafIndex, rule: str) -> None:
        if not 0 <= index < self._n_leaves or self._nodes[2 * index] is None:
            raise BlankLeafError(index, rule)

    def _set(self, index: NodeIndex, node: TreeNode | None) -> None:
        old = self._nodes[index]
        if old is not None:
            self._index.remove(index, old)
        self._nodes[index] = node
        if node is not None:
            self._index.add(index, node)
            if index > self._last:
                self._last = index
        else:
            if not index & 1 and index >> 1 < self._free_hint:
                self._free_hint = index >> 1
            if index == self._last:
                self._lower_last(index)
        block = index >> _BLOCK_SHIFT
        if block < len(self._blocks):
            self._blocks[block] = None
        # Invalidate the hashes of this node and its ancestors. A cached node always
        # has cached children, so once an ancestor is already stale, all above are too.
        self._hashes[index] = None
        for p in direct_path(index, self._n_leaves):
            if self._hashes[p] is None:
                break
            self._hashes[p] = None

    def _lower_last(self, start: int) -> None:
        # The last non-blank node at or below ``start``.
        last = min(start, len(self._nodes) - 1)
        while last >= 0 and self._nodes[last] is None:
            last -= 1
        self._last = last

    def _all_blank(self, index: NodeIndex) -> bool:
        # Whether the subtree under ``index`` lies wholly right of the last non-blank
        # node. A node at level k spans the indices index - (2^k - 1) .. index + (2^k - 1).
        k = (index ^ (index + 1)).bit_length() - 1
        return index - ((1 << k) - 1) > self._last

    def _blank_direct_path(self, index: LeafIndex) -> None:
        for p in direct_path(leaf_to_node(index), self._n_leaves):
            if self._nodes[p] is not None:
                self._set(p, None)

    def _extend(self) -> None:
        # §7.7: a new blank root whose left subtree is the old tree and right subtree is
        # all blank. In the array that is N + 1 blank entries appended (Appendix C). The
        # old nodes keep their indices and so their cached hashes.
        grow = len(self._nodes) + 1
        self._nodes.extend([None] * grow)
        self._hashes.extend([None] * grow)
        # Whole blocks only: one that was partial is whole now, and was never cached.
        self._blocks.extend([None] * ((len(self._nodes) >> _BLOCK_SHIFT) - len(self._blocks)))
        self._n_leaves *= 2

    def _truncate(self) -> None:
        # §12.1.3: "Truncate the tree by removing the right subtree until there is at
        # least one non-blank leaf node in the right subtree." With the rightmost
        # member at L, the tree keeps 2^d leaves for the smallest d with 2^d > L.
        last = self._n_leaves - 1
        while last > 0 and self._nodes[2 * last] is None:
            last -= 1
        n_leaves = 1
        while n_leaves <= last:
            n_leaves *= 2
        if n_leaves == self._n_leaves:
            return
        width = 2 * n_leaves - 1
        # The dropped root (and anything else left there) leaves the indexes; the kept
        # left subtree's hashes stay valid.
        for i in range(width, len(self._nodes)):
            node = self._nodes[i]
            if node is not None:
                self._index.remove(NodeIndex(i), node)
        del self._nodes[width:]
        del self._hashes[width:]
        # A block that loses nodes is no longer whole, and goes with them.
        del self._blocks[width >> _BLOCK_SHIFT:]
        self._n_leaves = n_leaves
        self._lower_last(self._last)
        self._free_hint = min(self._free_hint, n_leaves)

    def _hash(self, index: NodeIndex) -> bytes:
        cached = self._hashes[index]
        if cached is not None:
            return cached
        node = self._nodes[index]
        if not index & 1:
            value = leaf_tree_hash(self._suite, index >> 1, cast(LeafNode | None, node))
        else:
            value = parent_tree_hash(self._suite, cast(ParentNode | None, node),
                                     self._hash(tree_math.left(index)),
                                     self._hash(tree_math.right(index)))
        self._hashes[index] = value
        return value

    def _original_hash(self, index: NodeIndex, removed: frozenset[int],
                       ordered: list[int]) -> bytes:
        # ``ordered`` is ``removed`` sorted: whether any removed leaf lies below this
        # node is one bisection, even when a parent has thousands of unmerged leaves.
        below = tree_math.subtree_leaves(index)
        first = bisect_left(ordered, below.start)
        if first == len(ordered) or ordered[first] >= below.stop:
            return self._hash(index)
        if not index & 1:
            return leaf_tree_hash(self._suite, index >> 1, None)
        node = cast(ParentNode | None, self._nodes[index])
        if node is not None and not removed.isdisjoint(node.unmerged_leaves):
            kept = tuple(u for u in node.unmerged_leaves if u not in removed)
            node = ParentNode(node.encryption_key, node.parent_hash, kept)
        return parent_tree_hash(self._suite, node,
                                self._original_hash(tree_math.left(index), removed, ordered),
                                self._original_hash(tree_math.right(index), removed, ordered))

    def _resolve(self, index: NodeIndex, exclude: frozenset[int],
                 out: list[NodeIndex]) -> None:
        node = self._nodes[index]
        if not index & 1:
            if node is not None and index >> 1 not in exclude:
                out.append(index)
        elif node is not None:
            out.append(index)
            out.extend(leaf_to_node(LeafIndex(u))
                       for u in cast(ParentNode, node).unmerged_leaves if u not in exclude)
        elif not self._all_blank(index):
            self._resolve(tree_math.left(index), exclude, out)
            self._resolve(tree_math.right(index), exclude, out)

    def _has_resolution(self, index: NodeIndex) -> bool:
        # Whether the resolution is non-empty, without building it: any non-blank node
        # below (a non-blank node's resolution contains itself).
        if self._nodes[index] is not None:
            return True
        if not index & 1 or self._all_blank(index):
            return False
        return (self._has_resolution(tree_math.left(index))
                or self._has_resolution(tree_math.right(index)))


__all__ = ["BlankLeafError", "MalformedTreeError", "PublicTree", "TreeNode"]
