"""RFC 9162 §2.1 hashing and proofs: the CT test tree, a naive MTH, and hypothesis."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from kt_kit import naive_mth, sha256

from letterlock.codec import DecodeError
from letterlock.transparency import (
    EMPTY_ROOT,
    ConsistencyProof,
    InclusionProof,
    InvalidProofError,
    MerkleLog,
    UsageError,
    leaf_hash,
    verify_consistency,
    verify_inclusion,
)

# The 8-leaf test tree of Certificate Transparency's reference implementation
# (google/certificate-transparency merkle_tree tests; the same data is in
# transparency-dev/merkle's testonly reference): leaf inputs, the root at every size,
# and the published inclusion and consistency proofs.
CT_LEAVES = [
    b"", b"\x00", b"\x10", b"\x20\x21", b"\x30\x31", b"\x40\x41\x42\x43",
    bytes(range(0x50, 0x58)), bytes(range(0x60, 0x70)),
]
CT_ROOTS = [bytes.fromhex(h) for h in (
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
)]
CT_INCLUSION = [  # (leaf index, tree size, path)
    (0, 1, []),
    (0, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (5, 8, ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (1, 5, ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
]
CT_CONSISTENCY = [  # (first size, second size, path)
    (1, 1, []),
    (1, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (6, 8, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 5, ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
]


def ct_log() -> MerkleLog:
    log = MerkleLog()
    for leaf in CT_LEAVES:
        log.append(leaf)
    return log


def test_ct_roots_at_every_size() -> None:
    log = ct_log()
    assert EMPTY_ROOT == CT_ROOTS[0] == sha256(b"")
    for size, root in enumerate(CT_ROOTS):
        assert log.root(size) == root, f"root at size {size}"
        assert naive_mth(CT_LEAVES[:size]) == root, f"naive root at size {size}"


@pytest.mark.parametrize(("index", "size", "path"), CT_INCLUSION)
def test_ct_inclusion_proofs(index: int, size: int, path: list[str]) -> None:
    proof = ct_log().inclusion_proof(index, size)
    assert [node.hex() for node in proof.path] == path
    verify_inclusion(leaf_hash(CT_LEAVES[index]), proof, CT_ROOTS[size])


@pytest.mark.parametrize(("first", "second", "path"), CT_CONSISTENCY)
def test_ct_consistency_proofs(first: int, second: int, path: list[str]) -> None:
    proof = ct_log().consistency_proof(first, second)
    assert [node.hex() for node in proof.path] == path
    verify_consistency(proof, CT_ROOTS[first], CT_ROOTS[second])


def test_every_proof_of_small_trees_against_naive_mth() -> None:
    leaves = [i.to_bytes(2, "big") for i in range(33)]
    log = MerkleLog()
    for leaf in leaves:
        log.append(leaf)
    roots = [naive_mth(leaves[:n]) for n in range(len(leaves) + 1)]
    for n in range(len(leaves) + 1):
        assert log.root(n) == roots[n]
        for i in range(n):
            verify_inclusion(leaf_hash(leaves[i]), log.inclusion_proof(i, n), roots[n])
        for m in range(n + 1):
            verify_consistency(log.consistency_proof(m, n), roots[m], roots[n])


def test_a_larger_log_against_naive_mth() -> None:
    leaves = [i.to_bytes(3, "big") for i in range(3000)]
    log = MerkleLog.from_leaf_hashes(leaf_hash(leaf) for leaf in leaves)
    for n in (1000, 1024, 2047, 2049, 3000):
        root = naive_mth(leaves[:n])
        assert log.root(n) == root
        for i in (0, n // 3, n - 1):
            proof = log.inclusion_proof(i, n)
            assert len(proof.path) <= 12  # O(log n)
            verify_inclusion(leaf_hash(leaves[i]), proof, root)


def test_rebuild_from_leaf_hashes_matches() -> None:
    log = ct_log()
    rebuilt = MerkleLog.from_leaf_hashes(log.leaf_hash(i) for i in range(log.size))
    assert rebuilt.size == 8
    assert [rebuilt.root(n) for n in range(9)] == CT_ROOTS
    assert rebuilt.inclusion_proof(3) == log.inclusion_proof(3)


def test_misuse_raises_usage_error() -> None:
    log = ct_log()
    for call in (lambda: log.root(9), lambda: log.inclusion_proof(8),
                 lambda: log.inclusion_proof(3, 3), lambda: log.consistency_proof(5, 4),
                 lambda: log.leaf_hash(8), lambda: log.append_leaf_hash(b"short"),
                 lambda: InclusionProof(0, 1, (b"x",)), lambda: ConsistencyProof(-1, 1, ())):
        with pytest.raises(UsageError):
            call()


def test_edge_cases_of_consistency() -> None:
    log = ct_log()
    # The empty tree is a prefix of every tree, with an empty proof and the empty root.
    verify_consistency(log.consistency_proof(0, 5), EMPTY_ROOT, CT_ROOTS[5])
    bad_cases = [
        (ConsistencyProof(0, 5, ()), CT_ROOTS[1], CT_ROOTS[5]),       # not the empty root
        (ConsistencyProof(0, 5, (CT_ROOTS[1],)), EMPTY_ROOT, CT_ROOTS[5]),
        (ConsistencyProof(5, 5, ()), CT_ROOTS[5], CT_ROOTS[6]),       # split view
        (ConsistencyProof(6, 5, ()), CT_ROOTS[6], CT_ROOTS[5]),       # shrinking
        (ConsistencyProof(3, 5, ()), CT_ROOTS[3], CT_ROOTS[5]),       # empty path
    ]
    for proof, first, second in bad_cases:
        with pytest.raises(InvalidProofError):
            verify_consistency(proof, first, second)


# -- hypothesis: random trees, every proof verifies, every tampering fails -------------

SIZES = st.integers(min_value=1, max_value=200)


@st.composite
def tree_and_sizes(draw: st.DrawFn) -> tuple[MerkleLog, int, int, int]:
    n = draw(SIZES)
    m = draw(st.integers(min_value=0, max_value=n))
    index = draw(st.integers(min_value=0, max_value=n - 1))
    log = MerkleLog()
    for i in range(n):
        log.append(i.to_bytes(4, "big"))
    return log, m, n, index


def _flip(data: bytes, bit: int) -> bytes:
    bit %= len(data) * 8
    out = bytearray(data)
    out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out)


@settings(max_examples=150, deadline=None)
@given(tree_and_sizes(), st.integers(min_value=0), st.data())
def test_inclusion_proofs_verify_and_tampering_fails(
    case: tuple[MerkleLog, int, int, int], bit: int, data: st.DataObject
) -> None:
    log, _, n, index = case
    proof, root, leaf = log.inclusion_proof(index, n), log.root(n), log.leaf_hash(index)
    verify_inclusion(leaf, proof, root)
    assert InclusionProof.from_bytes(proof.to_bytes()) == proof
    with pytest.raises(InvalidProofError):
        verify_inclusion(_flip(leaf, bit), proof, root)
    with pytest.raises(InvalidProofError):
        verify_inclusion(leaf, proof, _flip(root, bit))
    if proof.path:
        at = data.draw(st.integers(0, len(proof.path) - 1))
        path = list(proof.path)
        path[at] = _flip(path[at], bit)
        with pytest.raises(InvalidProofError):
            verify_inclusion(leaf, InclusionProof(index, n, tuple(path)), root)
        with pytest.raises(InvalidProofError):
            verify_inclusion(leaf, InclusionProof(index, n, proof.path[:-1]), root)
    with pytest.raises(InvalidProofError):
        verify_inclusion(leaf, InclusionProof(index, n, (*proof.path, root)), root)
    # Another index or size: the proof must fail unless it *is* that position's proof
    # (a tree's shape can repeat: leaf 0 of 5 and of 6 have the same path).
    other_index = data.draw(st.integers(0, n))
    other_size = data.draw(st.integers(1, n))
    claim = InclusionProof(other_index, other_size, proof.path)
    target = log.root(other_size)
    genuine = other_index < other_size and \
        log.inclusion_proof(other_index, other_size).path == proof.path and \
        log.leaf_hash(other_index) == leaf
    if genuine:
        verify_inclusion(leaf, claim, target)
    else:
        with pytest.raises(InvalidProofError):
            verify_inclusion(leaf, claim, target)


@settings(max_examples=150, deadline=None)
@given(tree_and_sizes(), st.integers(min_value=0), st.data())
def test_consistency_proofs_verify_and_tampering_fails(
    case: tuple[MerkleLog, int, int, int], bit: int, data: st.DataObject
) -> None:
    log, m, n, _ = case
    proof, first, second = log.consistency_proof(m, n), log.root(m), log.root(n)
    verify_consistency(proof, first, second)
    assert ConsistencyProof.from_bytes(proof.to_bytes()) == proof
    # Every tree extends the empty one, so with m = 0 only the first root is pinned.
    if m > 0:
        with pytest.raises(InvalidProofError):
            verify_consistency(proof, first, _flip(second, bit))
    with pytest.raises(InvalidProofError):
        verify_consistency(proof, _flip(first, bit), second)
    if proof.path:
        at = data.draw(st.integers(0, len(proof.path) - 1))
        path = list(proof.path)
        path[at] = _flip(path[at], bit)
        with pytest.raises(InvalidProofError):
            verify_consistency(ConsistencyProof(m, n, tuple(path)), first, second)
        with pytest.raises(InvalidProofError):
            verify_consistency(ConsistencyProof(m, n, proof.path[:-1]), first, second)
    with pytest.raises(InvalidProofError):
        verify_consistency(ConsistencyProof(m, n, (*proof.path, second)), first, second)
    other_m = data.draw(st.integers(0, n))
    other_n = data.draw(st.integers(0, n))
    claim = ConsistencyProof(other_m, other_n, proof.path)
    genuine = other_m <= other_n and \
        log.consistency_proof(other_m, other_n).path == proof.path
    if genuine:
        verify_consistency(claim, log.root(other_m), log.root(other_n))
    else:
        with pytest.raises(InvalidProofError):
            verify_consistency(claim, log.root(other_m), log.root(other_n))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes_to_proof_decoders_raise_only_decode_error(data: bytes) -> None:
    for decoder in (InclusionProof.from_bytes, ConsistencyProof.from_bytes):
        try:
            value = decoder(data)
        except DecodeError:
            continue
        assert value.to_bytes() == data


def test_overlong_path_is_a_decode_error() -> None:
    body = bytes(8) + (1).to_bytes(8, "big")
    path = bytes(32 * 65)
    encoded = body + (0x4000 | len(path)).to_bytes(2, "big") + path
    with pytest.raises(DecodeError):
        InclusionProof.from_bytes(encoded)
