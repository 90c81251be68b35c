"""Merkle tree hashing, proofs and an append-only in-memory log (RFC 9162 §2.1).

The hashes are Certificate Transparency 2.0's, with SHA-256:

- ``MTH({}) = SHA-256()``
- ``MTH({d(0)}) = SHA-256(0x00 || d(0))``                       (a leaf)
- ``MTH(D[n]) = SHA-256(0x01 || MTH(D[0:k]) || MTH(D[k:n]))``   (k: largest power of 2 < n)

The 0x00 / 0x01 prefixes keep a leaf from ever being read as an interior node
(second-preimage resistance, RFC 9162 §2.1.1).

Proof verification follows RFC 9162 §2.1.3.2 (inclusion) and §2.1.4.2 (consistency)
step by step; the steps are quoted beside the code. Verification raises
:class:`InvalidProofError` and returns nothing on success.

:class:`MerkleLog` keeps every complete, aligned subtree's hash (one flat ``bytearray``
per level, 32 bytes a node, about 64 bytes of memory per leaf), so that the root at any
size and every proof cost O(log n) hashes. The server stores the leaves and rebuilds the
log with :meth:`MerkleLog.from_leaf_hashes` at start-up.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Self

from cryptography.hazmat.primitives import hashes

from letterlock.codec import DecodeError, Reader, Struct, Writer

from .errors import InvalidProofError, UsageError

HASH_SIZE = 32
# A tree of 2**64 leaves is deeper than any path can be; proofs longer are malformed.
MAX_PATH_LENGTH = 64
_MAX_SIZE = (1 << 64) - 1

_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"


def sha256(*parts: bytes) -> bytes:
    """SHA-256 over the concatenation of ``parts``."""
    digest = hashes.Hash(hashes.SHA256())
    for part in parts:
        digest.update(part)
    return digest.finalize()


EMPTY_ROOT = sha256()
"""``MTH({})``: the root of the empty tree, SHA-256 of the empty string."""


def leaf_hash(entry: bytes) -> bytes:
    """``SHA-256(0x00 || entry)``: the hash of one leaf (RFC 9162 §2.1.1)."""
    return sha256(_LEAF_PREFIX, entry)


def node_hash(left: bytes, right: bytes) -> bytes:
    """``SHA-256(0x01 || left || right)``: the hash of an interior node."""
    return sha256(_NODE_PREFIX, left, right)


def _split(n: int) -> int:
    """The largest power of two strictly smaller than ``n`` (``n > 1``)."""
    return 1 << ((n - 1).bit_length() - 1)


def _push_path(w: Writer, path: Sequence[bytes]) -> None:
    w.push_vector(path, lambda inner, node: inner.push_bytes(node, HASH_SIZE))


def _pull_path(r: Reader) -> tuple[bytes, ...]:
    start = r.position
    path = tuple(r.pull_vector(lambda inner: inner.pull_bytes(HASH_SIZE)))
    if len(path) > MAX_PATH_LENGTH:
        raise DecodeError(f"proof path of {len(path)} hashes is longer than {MAX_PATH_LENGTH}",
                          start)
    return path


def _check_path(path: Sequence[bytes]) -> None:
    if len(path) > MAX_PATH_LENGTH or any(len(node) != HASH_SIZE for node in path):
        raise UsageError(f"a proof path is at most {MAX_PATH_LENGTH} hashes of {HASH_SIZE} bytes")


@dataclass(frozen=True, slots=True)
class InclusionProof(Struct):
    """The audit path of leaf ``leaf_index`` in the tree of ``tree_size`` leaves.

    Wire form::

        struct {
            uint64 leaf_index;
            uint64 tree_size;
            opaque path<V>;   /* HASH_SIZE-byte node hashes, leaf to root */
        } InclusionProof;
    """

    leaf_index: int
    tree_size: int
    path: tuple[bytes, ...]

    def __post_init__(self) -> None:
        if not 0 <= self.leaf_index <= _MAX_SIZE or not 0 <= self.tree_size <= _MAX_SIZE:
            raise UsageError("leaf index and tree size are uint64")
        _check_path(self.path)

    def push(self, w: Writer) -> None:
        w.push_uint64(self.leaf_index)
        w.push_uint64(self.tree_size)
        _push_path(w, self.path)

    @classmethod
    def pull(cls, r: Reader) -> Self:
        return cls(r.pull_uint64(), r.pull_uint64(), _pull_path(r))


@dataclass(frozen=True, slots=True)
class ConsistencyProof(Struct):
    """The proof that the tree of ``first_size`` leaves is a prefix of ``second_size``.

    Wire form::

        struct {
            uint64 first_size;
            uint64 second_size;
            opaque path<V>;   /* HASH_SIZE-byte node hashes */
        } ConsistencyProof;
    """

    first_size: int
    second_size: int
    path: tuple[bytes, ...]

    def __post_init__(self) -> None:
        if not 0 <= self.first_size <= _MAX_SIZE or not 0 <= self.second_size <= _MAX_SIZE:
            raise UsageError("tree sizes are uint64")
        _check_path(self.path)

    def push(self, w: Writer) -> None:
        w.push_uint64(self.first_size)
        w.push_uint64(self.second_size)
        _push_path(w, self.path)

    @classmethod
    def pull(cls, r: Reader) -> Self:
        return cls(r.pull_uint64(), r.pull_uint64(), _pull_path(r))


def verify_inclusion(leaf: bytes, proof: InclusionProof, root_hash: bytes) -> None:
    """Check that ``leaf`` (a leaf *hash*) is at ``proof.leaf_index`` of the tree whose
    root is ``root_hash`` and size ``proof.tree_size`` (RFC 9162 §2.1.3.2).

    Raises:
        InvalidProofError: the proof does not verify.
    """
    index, size = proof.leaf_index, proof.tree_size
    # 1. "Compare leaf_index against tree_size. If leaf_index is greater than or equal
    #    to tree_size, then fail the proof verification."
    if index >= size:
        raise InvalidProofError(f"leaf index {index} is outside a tree of size {size}")
    # 2. "Set fn to leaf_index and sn to tree_size - 1."  3. "Set r to hash."
    fn, sn, r = index, size - 1, leaf
    # 4. "For each value p in the inclusion_path array:"
    for p in proof.path:
        # a. "If sn is 0, then stop the iteration and fail the proof verification."
        if sn == 0:
            raise InvalidProofError("inclusion path is longer than the tree is deep")
        # b. "If LSB(fn) is set, or if fn is equal to sn, then:"
        if fn & 1 or fn == sn:
            # i. "Set r to HASH(0x01 || p || r)."
            r = node_hash(p, r)
            # ii. "If LSB(fn) is not set, then right-shift both fn and sn equally until
            #     either LSB(fn) is set or fn is 0."
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            # "Otherwise: Set r to HASH(0x01 || r || p)."
            r = node_hash(r, p)
        # c. "Finally, right-shift both fn and sn one time."
        fn >>= 1
        sn >>= 1
    # 5. "Compare sn to 0. Compare r against the root_hash. If sn is equal to 0 and r and
    #    the root_hash are equal, then the log has proven the inclusion of hash."
    if sn != 0:
        raise InvalidProofError("inclusion path is shorter than the tree is deep")
    if r != root_hash:
        raise InvalidProofError("inclusion path does not lead to the root hash")


def verify_consistency(proof: ConsistencyProof, first_hash: bytes, second_hash: bytes) -> None:
    """Check that the tree of size ``proof.first_size`` and root ``first_hash`` is a
    prefix of the tree of size ``proof.second_size`` and root ``second_hash``
    (RFC 9162 §2.1.4.2).

    The RFC covers ``0 < first < second``. The edge cases follow from the definition:
    equal sizes are consistent exactly when the roots are equal (with an empty proof),
    and the empty tree (whose root must be ``EMPTY_ROOT``) is a prefix of every tree.

    Raises:
        InvalidProofError: the proof does not verify.
    """
    first, second, path = proof.first_size, proof.second_size, list(proof.path)
    if first > second:
        raise InvalidProofError(f"first tree size {first} is larger than second {second}")
    if first == second or first == 0:
        if path:
            raise InvalidProofError("a consistency proof from an empty or equal tree is empty")
        if first == 0 and first_hash != EMPTY_ROOT:
            raise InvalidProofError("the root of an empty tree is SHA-256 of nothing")
        if first == second and first_hash != second_hash:
            raise InvalidProofError("two different roots for the same tree size")
        return
    # 1. "If consistency_path is an empty array, then stop and fail."
    if not path:
        raise InvalidProofError("consistency path is empty")
    # 2. "If first is an exact power of 2, then prepend first_hash to the
    #    consistency_path array."
    if first & (first - 1) == 0:
        path.insert(0, first_hash)
    # 3. "Set fn to first - 1 and sn to second - 1."
    fn, sn = first - 1, second - 1
    # 4. "If LSB(fn) is set, then right-shift both fn and sn equally until LSB(fn) is
    #    not set."
    while fn & 1:
        fn >>= 1
        sn >>= 1
    # 5. "Set both fr and sr to the first value in the consistency_path array."
    fr = sr = path[0]
    # 6. "For each subsequent value c in the consistency_path array:"
    for c in path[1:]:
        # a. "If sn is 0, then stop the iteration and fail the proof verification."
        if sn == 0:
            raise InvalidProofError("consistency path is longer than the tree is deep")
        # b. "If LSB(fn) is set, or if fn is equal to sn, then:"
        if fn & 1 or fn == sn:
            # i. "Set fr to HASH(0x01 || c || fr)."  ii. "Set sr to HASH(0x01 || c || sr)."
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            # iii. "If LSB(fn) is not set, then right-shift both fn and sn equally until
            #      either LSB(fn) is set or fn is 0."
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            # "Otherwise: Set sr to HASH(0x01 || sr || c)."
            sr = node_hash(sr, c)
        # c. "Finally, right-shift both fn and sn one time."
        fn >>= 1
        sn >>= 1
    # 7. "verify that the fr calculated is equal to the first_hash supplied, that the sr
    #    calculated is equal to the second_hash supplied, and that sn is 0."
    if sn != 0:
        raise InvalidProofError("consistency path is shorter than the tree is deep")
    if fr != first_hash:
        raise InvalidProofError("consistency path does not lead to the first root")
    if sr != second_hash:
        raise InvalidProofError("consistency path does not lead to the second root")


class MerkleLog:
    """An append-only Merkle tree in memory, with roots and proofs at any past size.

    ``_levels[h]`` holds, back to back, the hashes of the complete subtrees of ``2**h``
    leaves that start at multiples of ``2**h`` (level 0: the leaf hashes). Appending a
    leaf completes at most one subtree per level, so append is amortised O(1) hashes,
    and any subtree the RFC's recursion asks for is either stored or splits into a
    stored left half and a smaller right remainder: O(log n) per root or proof.
    """

    __slots__ = ("_levels", "_size")

    def __init__(self) -> None:
        self._levels: list[bytearray] = [bytearray()]
        self._size = 0

    @classmethod
    def from_leaf_hashes(cls, leaf_hashes: Iterable[bytes]) -> MerkleLog:
        """Rebuild a log from its leaf hashes in order (as the server stores them)."""
        log = cls()
        for leaf in leaf_hashes:
            log.append_leaf_hash(leaf)
        return log

    @property
    def size(self) -> int:
        """The number of leaves."""
        return self._size

    def append(self, entry: bytes) -> int:
        """Append the encoded ``entry`` as a new leaf; returns its index."""
        return self.append_leaf_hash(leaf_hash(entry))

    def append_leaf_hash(self, leaf: bytes) -> int:
        """Append a leaf by its hash; returns its index.

        Raises:
            UsageError: ``leaf`` is not a HASH_SIZE-byte hash.
        """
        if len(leaf) != HASH_SIZE:
            raise UsageError(f"a leaf hash is {HASH_SIZE} bytes, got {len(leaf)}")
        index = self._size
        levels = self._levels
        levels[0] += leaf
        self._size += 1
        # While the new node is a right child, its left sibling is complete: hash the
        # pair into the level above (the parent's index is the child's index >> 1).
        node, level = index, 0
        while node & 1:
            row = levels[level]
            offset = (node - 1) * HASH_SIZE
            parent = node_hash(bytes(row[offset:offset + HASH_SIZE]),
                               bytes(row[offset + HASH_SIZE:offset + 2 * HASH_SIZE]))
            level += 1
            if level == len(levels):
                levels.append(bytearray())
            levels[level] += parent
            node >>= 1
        return index

    def leaf_hash(self, index: int) -> bytes:
        """The hash of leaf ``index``; raises UsageError if there is no such leaf."""
        if not 0 <= index < self._size:
            raise UsageError(f"no leaf {index} in a log of {self._size}")
        return self._stored(0, index)

    def _stored(self, level: int, index: int) -> bytes:
        offset = index * HASH_SIZE
        return bytes(self._levels[level][offset:offset + HASH_SIZE])

    def _subtree(self, start: int, size: int) -> bytes:
        """``MTH(D[start:start+size])`` for a range the RFC's recursion produces.

        Such ranges always start at a multiple of the largest power of two <= size, so
        the complete ones are stored, and the others split into a stored left half.
        """
        if size & (size - 1) == 0:
            level = size.bit_length() - 1
            return self._stored(level, start >> level)
        k = _split(size)
        return node_hash(self._stored(k.bit_length() - 1, start // k),
                         self._subtree(start + k, size - k))

    def _check_size(self, size: int | None) -> int:
        if size is None:
            return self._size
        if not 0 <= size <= self._size:
            raise UsageError(f"tree size {size} outside 0..{self._size}")
        return size

    def root(self, size: int | None = None) -> bytes:
        """``MTH`` of the first ``size`` leaves (default: all of them)."""
        n = self._check_size(size)
        return EMPTY_ROOT if n == 0 else self._subtree(0, n)

    def inclusion_proof(self, index: int, size: int | None = None) -> InclusionProof:
        """``PATH(index, D[size])`` (RFC 9162 §2.1.3.1), leaf to root.

        Raises:
            UsageError: ``size`` exceeds the log, or ``index`` is not below ``size``.
        """
        n = self._check_size(size)
        if not 0 <= index < n:
            raise UsageError(f"no leaf {index} in a tree of size {n}")
        path: list[bytes] = []
        # PATH(m, D[n]) = PATH(m, D[0:k]) : MTH(D[k:n])      for m < k
        #               = PATH(m - k, D[k:n]) : MTH(D[0:k])  for m >= k
        # The siblings are appended after the recursion, so collect them top-down and
        # reverse: the path runs from the leaf to the root.
        start, m = 0, index
        while n > 1:
            k = _split(n)
            if m < k:
                path.append(self._subtree(start + k, n - k))
                n = k
            else:
                path.append(self._subtree(start, k))
                start, m, n = start + k, m - k, n - k
        path.reverse()
        return InclusionProof(index, self._check_size(size), tuple(path))

    def consistency_proof(self, first: int, second: int | None = None) -> ConsistencyProof:
        """``PROOF(first, D[second])`` (RFC 9162 §2.1.4.1); empty when ``first`` is 0 or
        equal to ``second``.

        Raises:
            UsageError: a size exceeds the log, or ``first > second``.
        """
        n = self._check_size(second)
        if not 0 <= first <= n:
            raise UsageError(f"first size {first} outside 0..{n}")
        second_size = n
        path: list[bytes] = []
        if 0 < first < n:
            # SUBPROOF(m, D[n], b):
            #   m = n: {} if b, else {MTH(D[m])}
            #   m <= k: SUBPROOF(m, D[0:k], b) : MTH(D[k:n])
            #   m > k:  SUBPROOF(m - k, D[k:n], false) : MTH(D[0:k])
            start, m, known = 0, first, True
            while m != n:
                k = _split(n)
                if m <= k:
                    path.append(self._subtree(start + k, n - k))
                    n = k
                else:
                    path.append(self._subtree(start, k))
                    start, m, n, known = start + k, m - k, n - k, False
            if not known:
                path.append(self._subtree(start, n))
            path.reverse()
        return ConsistencyProof(first, second_size, tuple(path))


__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "ConsistencyProof",
    "InclusionProof",
    "MerkleLog",
    "leaf_hash",
    "node_hash",
    "verify_consistency",
    "verify_inclusion",
]
