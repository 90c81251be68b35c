"""Encoding large values without re-encoding or re-copying them.

- The ratchet tree's cached ``ratchet_tree`` encoding (blocks of 64 nodes, dropped by
  edits) always equals a fresh encoding of the nodes: after adds, removes, updates,
  UpdatePaths, extension and truncation, and a staged copy that is edited, encoded and
  then discarded never changes the original's (hypothesis).
- The codec's Writer keeps large byte strings by reference through nested vectors and
  gives the same bytes as plain concatenation.
- The committer's GroupInfo made on bytes equals the one made as a value, and a Welcome
  from a commit carries exactly the committer's new tree.
"""

from __future__ import annotations

from collections.abc import Callable

from hypothesis import given, settings
from hypothesis import strategies as st
from mls_group_kit import World, accept, client, kp_bytes
from tree_kit import EDITS, fake_leaf, staged_edit

from letterlock.codec import Reader, Writer, encode_varint
from letterlock.crypto import SeededRandom, cipher_suite
from letterlock.mls.constants import ExtensionType, ProtocolVersion
from letterlock.mls.extensions import Extension, find_extension
from letterlock.mls.group import Group
from letterlock.mls.group_context import GroupContext
from letterlock.mls.mls_message import MLSMessage
from letterlock.mls.ratchet_tree import PublicTree
from letterlock.mls.tree_math import LeafIndex
from letterlock.mls.tree_nodes import HPKECiphertext, RatchetTree
from letterlock.mls.welcome import EncryptedGroupSecrets, GroupInfo, GroupInfoTBS, Welcome
from letterlock.mls.welcome_processing import sign_group_info, sign_group_info_tbs

SUITE = cipher_suite(1)



def fresh_encoding(tree: PublicTree) -> bytes:
    # From the nodes alone: a new RatchetTree value never touches the tree's blocks.
    return RatchetTree(tree.to_wire().nodes).to_bytes()


def assert_encodes_fresh(tree: PublicTree) -> None:
    assert tree.to_bytes() == fresh_encoding(tree)
    assert PublicTree.from_bytes(SUITE, tree.to_bytes()).nodes == tree.nodes


# ---- the ratchet tree's cached encoding ---------------------------------------------------

# (edit, which member, keep the staged copy, encode the staged copy before deciding)
edits = st.lists(st.tuples(st.sampled_from(EDITS),
                           st.integers(0, 2**16), st.booleans(), st.booleans()),
                 min_size=1, max_size=40)


@settings(max_examples=100, deadline=None)
@given(start=st.integers(1, 150), plan=edits)
def test_cached_tree_encoding_equals_a_fresh_one(
        start: int, plan: list[tuple[str, int, bool, bool]]) -> None:
    # Up to 150 members (255 nodes and more): several whole 64-node blocks, and edits
    # that extend or truncate across block boundaries.
    tree = PublicTree.from_nodes(
        SUITE, [fake_leaf(i // 2) if i % 2 == 0 else None for i in range(2 * start - 1)])
    tags = iter(range(1000, 100_000))
    assert_encodes_fresh(tree)
    for kind, pick, keep, encode_staged in plan:
        before = tree.to_bytes()  # the original's blocks are all filled now
        staged = staged_edit(tree, kind, pick, tags)
        if encode_staged:
            assert_encodes_fresh(staged)
        # Staging (and encoding the staged copy) never touches the original's blocks.
        assert tree.to_bytes() == before == fresh_encoding(tree)
        if keep:
            tree = staged
    assert_encodes_fresh(tree)


def test_truncation_and_extension_across_blocks() -> None:
    # 100 members in 128 leaf slots (255 nodes: three whole blocks and a partial one).
    tree = PublicTree.from_nodes(
        SUITE, [fake_leaf(i // 2) if i % 2 == 0 else None for i in range(199)])
    assert tree.n_leaves == 128
    assert_encodes_fresh(tree)
    for leaf in range(99, 30, -1):  # shrink to 31 members: 32 leaf slots, 63 nodes
        tree.remove_leaf(LeafIndex(leaf))
        assert_encodes_fresh(tree)
    assert tree.n_leaves == 32
    for tag in range(200, 300):  # and grow again past the old size
        tree.add_leaf(fake_leaf(tag))
        assert_encodes_fresh(tree)
    assert tree.n_leaves == 256


def test_a_discarded_staged_commit_leaves_the_groups_tree_encoding() -> None:
    world = World()
    alice = world.create("alice")
    world.add("alice", [f"m{i}" for i in range(40)])
    before = alice.ratchet_tree
    assert before == fresh_encoding(PublicTree.from_bytes(SUITE, before))
    result = alice.commit(add=[kp_bytes(client("late").key_package())], remove=[5])
    assert result.welcome is not None
    alice.discard_pending_commit()
    assert alice.ratchet_tree == before
    world.commit("alice", remove=[7])
    tree = PublicTree.from_bytes(SUITE, alice.ratchet_tree)
    assert alice.ratchet_tree == fresh_encoding(tree)
    world.assert_agree()


def test_the_welcomes_tree_is_the_committers_new_tree() -> None:
    world = World()
    alice = world.create("alice")
    world.add("alice", [f"m{i}" for i in range(70)])  # 71 members: 255 nodes
    world.commit("alice", remove=[3])
    late = client("late")
    bundle = late.key_package()
    result = alice.commit(add=[kp_bytes(bundle)])
    alice.merge_pending_commit()
    assert result.welcome is not None
    assert isinstance(MLSMessage.from_bytes(result.welcome).body, Welcome)
    # Joined from the tree in the Welcome alone (no tree out of band), fully verified.
    joined = Group.join(result.welcome, bundle, late.signer, rng=late.rng,
                        credential_validator=accept)
    assert joined.ratchet_tree == alice.ratchet_tree
    assert joined.epoch_authenticator == alice.epoch_authenticator
    # The committer's GroupInfo for external joins of this epoch carries it too.
    info = MLSMessage.from_bytes(alice.group_info()).body
    assert isinstance(info, GroupInfo)
    tree_ext = find_extension(info.extensions, ExtensionType.RATCHET_TREE)
    assert tree_ext is not None
    assert tree_ext.extension_data == alice.ratchet_tree == fresh_encoding(
        PublicTree.from_bytes(SUITE, alice.ratchet_tree))


# ---- Writer: large values by reference ----------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(sizes=st.lists(st.sampled_from([0, 5, 63, 64, 1 << 14, (1 << 16) - 1, 1 << 16,
                                       (1 << 16) + 7, 200_000]), max_size=6),
       nest=st.integers(0, 3), mutable=st.booleans())
def test_writer_keeps_large_values_by_reference_with_the_same_bytes(
        sizes: list[int], nest: int, mutable: bool) -> None:
    values = [bytes([i % 251]) * size for i, size in enumerate(sizes)]

    def body(w: Writer) -> None:
        for v in values:
            w.push_uint8(7)
            w.push_opaque(bytearray(v) if mutable else v)
            w.push_bytes(v)

    def expected_body() -> bytes:
        return b"".join(b"\x07" + encode_varint(len(v)) + v + v for v in values)

    def nested(depth: int) -> Callable[[Writer], None]:
        if depth == 0:
            return body
        inner = nested(depth - 1)
        return lambda w2: w2.push_block(inner)

    expected = expected_body()
    for _ in range(nest):
        expected = encode_varint(len(expected)) + expected
    w = Writer()
    w.push_uint16(9)
    nested(nest)(w)
    w.push_vector(values, lambda w2, v: w2.push_opaque(v))
    vector = b"".join(encode_varint(len(v)) + v for v in values)
    expected = b"\x00\x09" + expected + encode_varint(len(vector)) + vector
    assert len(w) == len(expected)
    assert w.data == expected


def test_writer_copies_a_mutable_buffer() -> None:
    buffer = bytearray(b"x" * (1 << 17))
    w = Writer()
    w.push_opaque(buffer)
    buffer[0:1] = b"y"
    assert w.data == encode_varint(1 << 17) + b"x" * (1 << 17)


# ---- GroupInfo and Welcome on bytes --------------------------------------------------------


def test_group_info_signed_on_bytes_is_the_value_encoding() -> None:
    rng = SeededRandom(b"group info on bytes")
    signer, _ = SUITE.generate_signature_key_pair(rng)
    context = GroupContext(ProtocolVersion.MLS10, SUITE.suite_id, b"g", 3, b"t" * 32,
                           b"c" * 32, ())
    big = Extension(ExtensionType.RATCHET_TREE, b"\x01" * 300_000)
    tbs = GroupInfoTBS(context, (big, Extension(ExtensionType.EXTERNAL_PUB, b"k")),
                       b"tag", 2)
    encoded = sign_group_info_tbs(SUITE, tbs.to_bytes(), signer)
    assert encoded == sign_group_info(SUITE, tbs, signer).to_bytes()
    assert GroupInfo.from_bytes(encoded).tbs == tbs


def test_large_welcome_message_encoding() -> None:
    welcome = Welcome(SUITE.suite_id, (EncryptedGroupSecrets(
        b"ref", HPKECiphertext(b"kem", b"ct")),), b"\x05" * 500_000)
    encoded = MLSMessage(welcome).to_bytes()
    plain = Writer()
    MLSMessage(welcome).push(plain)
    assert encoded == plain.data
    assert MLSMessage.pull(Reader(encoded)).body == welcome
