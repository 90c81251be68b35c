"""The public ratchet tree (RFC 9420 §4.1, §7.7-§7.9, §12.1, §12.4.3).

- The RFC's own example trees: resolutions (§4.1.1), filtered direct paths (§4.1.2),
  extending and truncating (§7.7, §12.1.3).
- Edits keep every cached hash and index equal to a tree rebuilt from scratch, and a
  staged copy never disturbs the original (hypothesis).
- Decoding accepts only trees; anything else raises DecodeError (hypothesis).
- A valid tree built by real commits passes the joiner's validation, and each
  tampering raises its documented error.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tree_kit import CAPABILITIES, EDITS, fake_leaf, staged_edit

from letterlock.codec import DecodeError
from letterlock.crypto import RandomSource, SeededRandom, cipher_suite
from letterlock.mls.constants import CredentialType, LeafNodeSource
from letterlock.mls.credentials import Credential
from letterlock.mls.errors import InvalidMessageError, UsageError
from letterlock.mls.extension_types import UnsupportedCapabilityError
from letterlock.mls.leaf_node import Capabilities, LeafNode, LeafNodeTBS, Lifetime
from letterlock.mls.ratchet_tree import BlankLeafError, MalformedTreeError, PublicTree, TreeNode
from letterlock.mls.tree_math import LeafIndex, NodeIndex
from letterlock.mls.tree_nodes import ParentNode, RatchetTree
from letterlock.mls.tree_validation import (
    CredentialRejectedError,
    DuplicateKeyError,
    LeafSignatureError,
    LeafSourceError,
    LifetimeError,
    ParentHashError,
    TreeHashMismatchError,
    UnmergedLeavesError,
    check_tree_hash,
    validate_leaf_node,
    validate_tree,
)
from letterlock.mls.treekem import generate_update_path

SUITE = cipher_suite(1)
GROUP_ID = b"ratchet tree test group"


def accept(leaf: LeafNode, previous: LeafNode | None) -> None:
    """Tests authenticate nobody: every credential is acceptable."""



def parent(tag: int, unmerged: Sequence[int] = ()) -> ParentNode:
    return ParentNode(b"parent%d" % tag, b"", tuple(unmerged))


def tree_of(nodes: Sequence[TreeNode | None]) -> PublicTree:
    return PublicTree.from_nodes(SUITE, nodes)


# ---- the RFC's examples --------------------------------------------------------------


def test_resolution_example_of_section_4_1_1() -> None:
    # Leaves A B _ D E F _ H; X[B] above A..D, Y above E F, every other parent blank.
    a, b, d, e, f, h = (fake_leaf(i) for i in range(6))
    x, y = parent(1, unmerged=[1]), parent(2)
    tree = tree_of([a, None, b, x, None, None, d, None, e, y, f, None, None, None, h])
    assert tree.resolution(NodeIndex(3)) == [3, 2]          # [X, B]
    assert tree.resolution(NodeIndex(4)) == []              # blank leaf 2
    assert tree.resolution(NodeIndex(12)) == []             # blank leaf 6
    assert tree.resolution(NodeIndex(7)) == [3, 2, 9, 14]   # [X, B, Y, H]
    assert tree.resolution(NodeIndex(7), exclude={1, 7}) == [3, 9]


def test_filtered_direct_paths_of_section_4_1_2() -> None:
    # Leaves A B _ _ E F G _; T, X, Y and the root W are set; U, V, Z are blank.
    a, b, e, f, g = (fake_leaf(i) for i in range(5))
    t, w, x, y = parent(1), parent(2), parent(3), parent(4)
    tree = tree_of([a, t, b, None, None, None, None, w, e, x, f, y, g])
    assert tree.filtered_direct_path(LeafIndex(0)) == [1, 7]       # A: T, W
    assert tree.filtered_direct_path(LeafIndex(1)) == [1, 7]       # B: T, W
    assert tree.filtered_direct_path(LeafIndex(4)) == [9, 11, 7]   # E: X, Y, W
    assert tree.filtered_direct_path(LeafIndex(5)) == [9, 11, 7]   # F: X, Y, W
    assert tree.filtered_direct_path(LeafIndex(6)) == [11, 7]      # G: Y, W


def test_add_fills_the_leftmost_blank_then_extends() -> None:
    tree = tree_of([fake_leaf(0), parent(1), fake_leaf(1)])
    assert tree.add_leaf(fake_leaf(2)) == 2 and tree.n_leaves == 4   # extended (§7.7)
    # The new leaf is unmerged at the non-blank parent above it... there is none yet;
    # the old root (node 1) is not above leaf 2.
    assert tree.parent_node(NodeIndex(3)) is None
    tree.remove_leaf(LeafIndex(1))
    assert tree.add_leaf(fake_leaf(3)) == 1                           # the internal blank
    assert tree.n_leaves == 4


def test_add_records_unmerged_leaves_sorted() -> None:
    # Root set with leaf 3 unmerged; adding at the blank leaf 1 inserts 1 before 3.
    tree = tree_of([fake_leaf(0), None, None, parent(1, [3]), None, None, fake_leaf(3)])
    assert tree.add_leaf(fake_leaf(1)) == 1
    assert tree.parent_node(NodeIndex(3)) == parent(1, [1, 3])


def test_remove_truncates_trailing_blank_halves() -> None:
    # §7.7 "Cleaning Up after Removing Member C": A B C _ -> A B.
    tree = tree_of([fake_leaf(0), parent(1), fake_leaf(1), parent(2), fake_leaf(2)])
    tree.remove_leaf(LeafIndex(2))
    assert tree.n_leaves == 2
    assert tree.nodes == (fake_leaf(0), parent(1), fake_leaf(1))
    # Down to one member, the tree is a single leaf.
    tree.remove_leaf(LeafIndex(1))
    assert tree.n_leaves == 1 and tree.leaf(LeafIndex(0)) == fake_leaf(0)
    assert tree.find_encryption_key(b"parent1") is None


def test_remove_and_update_blank_the_direct_path() -> None:
    tree = tree_of([fake_leaf(0), parent(1), fake_leaf(1), parent(2), fake_leaf(2), parent(3),
                    fake_leaf(3)])
    tree.update_leaf(LeafIndex(2), fake_leaf(9, LeafNodeSource.UPDATE))
    assert tree.nodes[3] is None and tree.nodes[5] is None and tree.nodes[1] == parent(1)
    assert tree.leaf(LeafIndex(2)) == fake_leaf(9, LeafNodeSource.UPDATE)


@pytest.mark.parametrize("index", [1, 4])
def test_remove_or_update_of_a_blank_leaf_is_refused(index: int) -> None:
    tree = tree_of([fake_leaf(0), None, None, None, fake_leaf(2)])
    with pytest.raises(BlankLeafError) as info:
        tree.remove_leaf(LeafIndex(index))
    assert info.value.rule == "RFC 9420 §12.1.3"
    with pytest.raises(BlankLeafError):
        tree.update_leaf(LeafIndex(index), fake_leaf(5, LeafNodeSource.UPDATE))


def test_out_of_range_reads_are_usage_errors() -> None:
    tree = tree_of([fake_leaf(0)])
    with pytest.raises(UsageError):
        tree.node(NodeIndex(1))
    with pytest.raises(UsageError):
        tree.leaf(LeafIndex(1))
    with pytest.raises(UsageError):
        tree.parent_node(NodeIndex(0))


# ---- caches and staging under random edits ----------------------------------------------

edits = st.lists(st.tuples(st.sampled_from(EDITS),
                           st.integers(0, 2**16), st.booleans()), max_size=40)


def assert_same_as_rebuilt(tree: PublicTree) -> None:
    fresh = PublicTree.from_wire(SUITE, tree.to_wire())
    assert fresh.nodes == tree.nodes
    for i in range(len(tree.nodes)):
        assert tree.node_tree_hash(NodeIndex(i)) == fresh.node_tree_hash(NodeIndex(i)), i
        node = tree.nodes[i]
        if node is not None:
            assert tree.find_encryption_key(node.encryption_key) == i
        if isinstance(node, LeafNode):
            assert tree.find_signature_key(node.signature_key) == i // 2
    assert tree.free_leaf() == fresh.free_leaf()
    assert tree.member_count == fresh.member_count
    assert tree.credential_types_in_use() == fresh.credential_types_in_use()
    assert tree.credential_type_support() == fresh.credential_type_support()


@settings(max_examples=150, deadline=None)
@given(plan=edits)
def test_edits_keep_caches_equal_to_a_rebuild(plan: list[tuple[str, int, bool]]) -> None:
    tree = PublicTree.create(SUITE, fake_leaf(0))
    tags = iter(range(1, 10_000))
    for kind, pick, check_now in plan:
        before = tree.to_bytes()
        staged = staged_edit(tree, kind, pick, tags)
        assert tree.to_bytes() == before  # staging never touches the original
        tree = staged
        # Compare only sometimes, so that later edits meet partly filled caches.
        if check_now:
            assert_same_as_rebuilt(tree)
    assert_same_as_rebuilt(tree)


# ---- decoding -----------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=200))
def test_random_bytes_raise_only_decode_errors(data: bytes) -> None:
    with contextlib.suppress(DecodeError):
        PublicTree.from_bytes(SUITE, data)


@settings(max_examples=200, deadline=None)
@given(position=st.integers(0, 10**6), value=st.integers(0, 255), cut=st.booleans())
def test_mutated_trees_raise_only_decode_errors(position: int, value: int, cut: bool) -> None:
    encoded = bytearray(VALID.to_bytes())
    position %= len(encoded)
    if cut:
        del encoded[position:]
    else:
        encoded[position] = value
    try:
        tree = PublicTree.from_bytes(SUITE, bytes(encoded))
    except DecodeError:
        return
    assert tree.to_bytes() == bytes(encoded)


@pytest.mark.parametrize("nodes", [
    (),                                      # empty
    (fake_leaf(0), None),                    # trailing blank
    (parent(1),),                            # a parent where leaf 0 belongs
    (fake_leaf(0), fake_leaf(1), fake_leaf(2)),  # a leaf at parent index 1
])
def test_malformed_shapes(nodes: tuple[TreeNode | None, ...]) -> None:
    with pytest.raises(MalformedTreeError) as info:
        PublicTree.from_bytes(SUITE, RatchetTree(nodes).to_bytes())
    # Both a decode error for byte-level callers and an InvalidMessageError with its rule.
    assert isinstance(info.value, DecodeError)
    assert isinstance(info.value, InvalidMessageError)
    assert info.value.rule == "RFC 9420 §12.4.3.3"


def test_encoding_drops_trailing_blanks_and_pads_back() -> None:
    tree = tree_of([fake_leaf(0), parent(1), fake_leaf(1), None, fake_leaf(2)])
    assert tree.n_leaves == 4 and len(tree.nodes) == 7
    assert tree.to_wire().nodes == tree.nodes[:5]
    assert PublicTree.from_bytes(SUITE, tree.to_bytes()).nodes == tree.nodes


# ---- validation of a real tree ------------------------------------------------------------


def signed_leaf(rng: RandomSource, name: bytes, credential_type: int = CredentialType.BASIC,
                capabilities: Capabilities = CAPABILITIES,
                ) -> tuple[LeafNode, bytes]:
    signature_private, signature_public = SUITE.generate_signature_key_pair(rng)
    _, encryption_public = SUITE.hpke.generate_key_pair(rng)
    credential = (Credential.basic(name) if credential_type == CredentialType.BASIC
                  else Credential.x509([name]))
    tbs = LeafNodeTBS(encryption_key=encryption_public, signature_key=signature_public,
                      credential=credential, capabilities=capabilities,
                      leaf_node_source=LeafNodeSource.KEY_PACKAGE, lifetime=Lifetime(100, 200))
    return tbs.signed(SUITE.sign_with_label(signature_private, "LeafNodeTBS",
                                            tbs.to_bytes())), signature_private


def build_valid_tree() -> tuple[PublicTree, dict[int, bytes]]:
    """Five members, a commit from leaf 0, two adds, a commit from leaf 5, one more add:
    parent-hash chains across blank parents, and leaf 7 unmerged at two levels."""
    rng = SeededRandom(b"valid tree")
    signers: dict[int, bytes] = {}
    leaf, signers[0] = signed_leaf(rng, b"m0")
    tree = PublicTree.create(SUITE, leaf)
    for i in range(1, 5):
        leaf, key = signed_leaf(rng, b"m%d" % i)
        signers[tree.add_leaf(leaf)] = key
    generate_update_path(tree, LeafIndex(0), group_id=GROUP_ID, rng=rng,
                         signature_private_key=signers[0])
    for i in range(5, 7):
        leaf, key = signed_leaf(rng, b"m%d" % i)
        signers[tree.add_leaf(leaf)] = key
    generate_update_path(tree, LeafIndex(5), group_id=GROUP_ID, rng=rng,
                         signature_private_key=signers[5])
    leaf, key = signed_leaf(rng, b"m7")
    signers[tree.add_leaf(leaf)] = key
    return tree, signers


VALID, SIGNERS = build_valid_tree()


def with_node(index: int, node: TreeNode | None) -> PublicTree:
    nodes = list(VALID.nodes)
    nodes[index] = node
    return tree_of(nodes)


def validate(tree: PublicTree) -> None:
    validate_tree(tree, group_id=GROUP_ID, credential_validator=accept)


def test_valid_tree_passes_and_has_the_expected_shape() -> None:
    validate(VALID)
    check_tree_hash(VALID, VALID.tree_hash())
    unmerged = [n.unmerged_leaves for n in VALID.nodes if isinstance(n, ParentNode)]
    assert any(unmerged)  # leaf 6 is unmerged somewhere
    assert None in VALID.nodes[1::2]  # and some parents are blank


def test_tree_hash_mismatch() -> None:
    with pytest.raises(TreeHashMismatchError):
        check_tree_hash(VALID, bytes(32))


def test_tampered_parent_hash() -> None:
    index, node = next((i, n) for i, n in enumerate(VALID.nodes)
                       if isinstance(n, ParentNode) and n.parent_hash)
    bad = dataclasses.replace(node, parent_hash=bytes(len(node.parent_hash)))
    with pytest.raises(ParentHashError) as info:
        validate(with_node(index, bad))
    assert info.value.rule == "RFC 9420 §7.9.2"


def test_tampered_parent_key() -> None:
    # Every parent's key is fixed by the parent hash its child signed.
    index, node = next((i, n) for i, n in enumerate(VALID.nodes) if isinstance(n, ParentNode))
    with pytest.raises(ParentHashError):
        validate(with_node(index, dataclasses.replace(node, encryption_key=b"other key")))


def test_tampered_leaf_signature() -> None:
    # Leaf 7 is unmerged wherever it sits below a parent, so no parent hash covers it
    # (§7.9: unmerged leaves are blanked in original_sibling_tree_hash): only its own
    # signature can catch the change. A leaf under a parent-hash link would already
    # fail the (cheaper, earlier) parent-hash check.
    leaf = VALID.leaf(LeafIndex(7))
    assert leaf is not None
    bad = dataclasses.replace(leaf, signature=bytes(len(leaf.signature)))
    with pytest.raises(LeafSignatureError) as info:
        validate(with_node(14, bad))
    assert info.value.rule == "RFC 9420 §7.3"


def test_signature_under_another_group_id() -> None:
    with pytest.raises(LeafSignatureError):
        validate_tree(VALID, group_id=b"another group", credential_validator=accept)


def test_duplicate_encryption_key() -> None:
    first, third = VALID.leaf(LeafIndex(1)), VALID.leaf(LeafIndex(3))
    assert first is not None and third is not None
    copy = dataclasses.replace(third, encryption_key=first.encryption_key)
    with pytest.raises(DuplicateKeyError):
        validate(with_node(6, copy))


def test_duplicate_signature_key() -> None:
    first, third = VALID.leaf(LeafIndex(1)), VALID.leaf(LeafIndex(3))
    assert first is not None and third is not None
    with pytest.raises(DuplicateKeyError):
        validate(with_node(6, dataclasses.replace(third, signature_key=first.signature_key)))


def test_unmerged_leaf_rules() -> None:
    index, node = next((i, n) for i, n in enumerate(VALID.nodes)
                       if isinstance(n, ParentNode) and n.unmerged_leaves)
    outside = dataclasses.replace(node, unmerged_leaves=(*node.unmerged_leaves, 10**6))
    with pytest.raises(UnmergedLeavesError) as info:
        validate(with_node(index, outside))
    assert info.value.rule == "RFC 9420 §12.4.3.1"
    repeated = dataclasses.replace(node, unmerged_leaves=node.unmerged_leaves * 2)
    with pytest.raises(UnmergedLeavesError) as info:
        validate(with_node(index, repeated))
    assert info.value.rule == "RFC 9420 §7.1"


def test_credential_validator_decides() -> None:
    def reject_m3(leaf: LeafNode, previous: LeafNode | None) -> None:
        if leaf.credential.identity == b"m3":
            raise CredentialRejectedError("not in the key transparency log")

    with pytest.raises(CredentialRejectedError) as info:
        validate_tree(VALID, group_id=GROUP_ID, credential_validator=reject_m3)
    assert info.value.rule == "RFC 9420 §5.3.1"


def test_credential_type_must_be_supported_by_everyone() -> None:
    rng = SeededRandom(b"x509 member")
    both = Capabilities(versions=(1,), cipher_suites=(1,), credentials=(1, 2))
    x509_leaf, _ = signed_leaf(rng, b"cert", CredentialType.X509, both)
    # x509 is listed by this leaf but by no member: refused (§7.3).
    with pytest.raises(UnsupportedCapabilityError):
        validate_leaf_node(VALID, x509_leaf, None, group_id=GROUP_ID,
                           credential_validator=accept, source=LeafNodeSource.KEY_PACKAGE)
    # A leaf that does not support the basic credentials in use is refused too.
    only_x509 = Capabilities(versions=(1,), cipher_suites=(1,), credentials=(2,))
    lonely, _ = signed_leaf(rng, b"cert", CredentialType.X509, only_x509)
    with pytest.raises(UnsupportedCapabilityError):
        validate_leaf_node(VALID, lonely, None, group_id=GROUP_ID,
                           credential_validator=accept, source=LeafNodeSource.KEY_PACKAGE)


def test_new_leaf_checks() -> None:
    rng = SeededRandom(b"new leaves")
    fresh, _ = signed_leaf(rng, b"new")
    validate_leaf_node(VALID, fresh, None, group_id=GROUP_ID, credential_validator=accept,
                       source=LeafNodeSource.KEY_PACKAGE, now=150)
    with pytest.raises(LifetimeError):
        validate_leaf_node(VALID, fresh, None, group_id=GROUP_ID, credential_validator=accept,
                           now=201)
    with pytest.raises(LeafSourceError):
        validate_leaf_node(VALID, fresh, LeafIndex(1), group_id=GROUP_ID,
                           credential_validator=accept, source=LeafNodeSource.UPDATE)
    member = VALID.leaf(LeafIndex(2))
    assert member is not None
    with pytest.raises(DuplicateKeyError):  # an Add of a client already in the group
        validate_leaf_node(VALID, dataclasses.replace(fresh, signature_key=member.signature_key),
                           None, group_id=GROUP_ID, credential_validator=accept)


def test_update_must_change_the_encryption_key() -> None:
    leaf = VALID.leaf(LeafIndex(2))
    assert leaf is not None
    tbs = LeafNodeTBS(encryption_key=leaf.encryption_key, signature_key=leaf.signature_key,
                      credential=leaf.credential, capabilities=leaf.capabilities,
                      leaf_node_source=LeafNodeSource.UPDATE, group_id=GROUP_ID, leaf_index=2)
    same_key = tbs.signed(SUITE.sign_with_label(SIGNERS[2], "LeafNodeTBS", tbs.to_bytes()))
    with pytest.raises(DuplicateKeyError) as info:
        validate_leaf_node(VALID, same_key, LeafIndex(2), group_id=GROUP_ID,
                           credential_validator=accept, source=LeafNodeSource.UPDATE)
    assert info.value.rule == "RFC 9420 §7.3"


def test_staged_copy_is_independent() -> None:
    staged = VALID.copy()
    before = VALID.to_bytes(), VALID.tree_hash()
    staged.remove_leaf(LeafIndex(6))
    staged.add_leaf(fake_leaf(99))
    assert (VALID.to_bytes(), VALID.tree_hash()) == before
    assert staged.tree_hash() != VALID.tree_hash()
    assert VALID.find_leaf(VALID.leaf(LeafIndex(6))) == 6  # type: ignore[arg-type]
    assert staged.find_leaf(VALID.leaf(LeafIndex(6))) is None  # type: ignore[arg-type]
