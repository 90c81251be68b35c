"""TreeKEM (RFC 9420 §7.4-§7.6): simulated members agree; every MUST on a path bites.

A small in-memory group: real keys, one staged tree per member, proposals (Removes and
Adds) applied before each commit. After every commit all members must hold the same
tree, the same commit secret, a tree that passes the joiner's validation, and private
keys exactly where the tree invariant (§4.2) says they know them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from letterlock.codec import DecodeError
from letterlock.crypto import DecryptError, RandomSource, SeededRandom, cipher_suite
from letterlock.mls.constants import LeafNodeSource, ProtocolVersion
from letterlock.mls.credentials import Credential
from letterlock.mls.errors import UsageError
from letterlock.mls.group_context import GroupContext
from letterlock.mls.leaf_node import Capabilities, LeafNode, LeafNodeTBS, Lifetime
from letterlock.mls.ratchet_tree import PublicTree
from letterlock.mls.tree_math import LeafIndex, direct_path, leaf_to_node
from letterlock.mls.tree_nodes import HPKECiphertext, UpdatePath, UpdatePathNode
from letterlock.mls.tree_validation import (
    DuplicateKeyError,
    LeafSourceError,
    ParentHashError,
    validate_tree,
)
from letterlock.mls.treekem import (
    CommitPath,
    InvalidUpdatePathError,
    PathKeyMismatchError,
    PrivateTree,
    decrypt_update_path,
    generate_update_path,
    merge_update_path,
    private_tree_for_joiner,
)

SUITE = cipher_suite(1)
GROUP_ID = b"treekem test group"
CAPABILITIES = Capabilities(versions=(1,), cipher_suites=(1,), credentials=(1,))


def accept(leaf: LeafNode, previous: LeafNode | None) -> None:
    """Tests authenticate nobody: every credential is acceptable."""


def context(tree: PublicTree) -> bytes:
    """The provisional GroupContext: what matters here is that it covers the tree hash."""
    return GroupContext(ProtocolVersion.MLS10, 1, GROUP_ID, 7, tree.tree_hash(),
                        b"transcript").to_bytes()


@dataclass
class Member:
    signature_key: bytes
    private: PrivateTree


@dataclass
class Group:
    tree: PublicTree
    members: dict[int, Member] = field(default_factory=dict)
    rng: RandomSource = field(default_factory=lambda: SeededRandom(b"group"))


def key_package_leaf(rng: RandomSource, name: bytes) -> tuple[LeafNode, bytes, bytes]:
    """A signed key_package leaf and its (signature, encryption) private keys."""
    signature_private, signature_public = SUITE.generate_signature_key_pair(rng)
    encryption_private, encryption_public = SUITE.hpke.generate_key_pair(rng)
    tbs = LeafNodeTBS(encryption_key=encryption_public, signature_key=signature_public,
                      credential=Credential.basic(name), capabilities=CAPABILITIES,
                      leaf_node_source=LeafNodeSource.KEY_PACKAGE,
                      lifetime=Lifetime(0, 2**64 - 1))
    leaf = tbs.signed(SUITE.sign_with_label(signature_private, "LeafNodeTBS",
                                            tbs.to_bytes()))
    return leaf, signature_private, encryption_private


def new_group(seed: bytes) -> Group:
    rng = SeededRandom(seed)
    leaf, signature_key, encryption_key = key_package_leaf(rng, b"member 0")
    tree = PublicTree.create(SUITE, leaf)
    private = PrivateTree(LeafIndex(0), {leaf.encryption_key: encryption_key})
    return Group(tree, {0: Member(signature_key, private)}, rng)


def commit(group: Group, committer: int, removes: Sequence[int] = (), adds: int = 0) -> None:
    """One full commit: Removes, then Adds, then an UpdatePath; everyone processes it."""
    rng = group.rng
    new_leaves = [key_package_leaf(rng, b"joiner %d" % i) for i in range(adds)]

    def apply_proposals(tree: PublicTree) -> list[int]:
        for r in removes:
            tree.remove_leaf(LeafIndex(r))
        return [tree.add_leaf(leaf) for leaf, _, _ in new_leaves]

    sender = LeafIndex(committer)
    staged = group.tree.copy()
    added = apply_proposals(staged)
    ours = generate_update_path(staged, sender, group_id=GROUP_ID, rng=rng,
                                signature_private_key=group.members[committer].signature_key)
    update_path = ours.encrypt(staged, context(staged), rng, added=added)

    members: dict[int, Member] = {}
    for index, member in group.members.items():
        if index in removes:
            continue
        if index == committer:
            members[index] = Member(member.signature_key, ours.private_tree)
            continue
        theirs = group.tree.copy()
        assert apply_proposals(theirs) == added
        merge_update_path(theirs, sender, update_path, group_id=GROUP_ID,
                          credential_validator=accept, added=added)
        assert theirs.to_bytes() == staged.to_bytes()
        got = decrypt_update_path(theirs, member.private, sender, update_path,
                                  context(theirs), added=added)
        assert got.commit_secret == ours.commit_secret
        members[index] = Member(member.signature_key, got.private_tree)
    for index, (_, signature_key, encryption_key) in zip(added, new_leaves, strict=True):
        # A joiner learns the path secret at its common ancestor with the committer
        # from its Welcome (§12.4.3.1).
        private = private_tree_for_joiner(staged, LeafIndex(index), encryption_key,
                                          committer=sender,
                                          path_secret=ours.path_secret_for(LeafIndex(index)))
        members[index] = Member(signature_key, private)
    group.tree, group.members = staged, members


def check_invariants(group: Group) -> None:
    tree = group.tree
    validate_tree(tree, group_id=GROUP_ID, credential_validator=accept)
    assert sorted(group.members) == [i for i, _ in tree.leaves()]
    for index, member in group.members.items():
        # §4.2 tree invariant: a member knows a non-blank node on its direct path
        # exactly when it is not unmerged there, and nothing else.
        start = leaf_to_node(LeafIndex(index))
        expected = {tree.node(start).encryption_key}  # type: ignore[union-attr]
        for p in direct_path(start, tree.n_leaves):
            node = tree.parent_node(p)
            if node is not None and index not in node.unmerged_leaves:
                expected.add(node.encryption_key)
        assert set(member.private.keys) == expected, index


rounds = st.lists(
    st.tuples(st.integers(0, 2**16), st.lists(st.integers(0, 2**16), max_size=2),
              st.integers(0, 4)),
    min_size=1, max_size=5)


@settings(max_examples=50, deadline=None)
@given(initial=st.integers(0, 15), plan=rounds, seed=st.binary(max_size=4))
def test_members_agree_on_every_commit(initial: int, plan: list[tuple[int, list[int], int]],
                                       seed: bytes) -> None:
    group = new_group(b"agree" + seed)
    commit(group, 0, adds=initial)
    check_invariants(group)
    for pick, victims, adds in plan:
        indices = sorted(group.members)
        committer = indices[pick % len(indices)]
        others = [i for i in indices if i != committer]
        removes = sorted({others[v % len(others)] for v in victims}) if others else []
        commit(group, committer, removes, adds)
        check_invariants(group)


# ---- a fixed group for the failure cases ------------------------------------------------


@pytest.fixture(scope="module")
def group() -> Group:
    g = new_group(b"fixed")
    commit(g, 0, adds=5)
    commit(g, 3, adds=1)  # leaves 6 unmerged at the nodes above it
    return g


def staged_path(group: Group, sender: int) -> tuple[PublicTree, CommitPath, UpdatePath]:
    staged = group.tree.copy()
    ours = generate_update_path(staged, LeafIndex(sender), group_id=GROUP_ID, rng=group.rng,
                                signature_private_key=group.members[sender].signature_key)
    return staged, ours, ours.encrypt(staged, context(staged), group.rng)


def receive(group: Group, receiver: int, sender: int, path: UpdatePath) -> bytes:
    tree = group.tree.copy()
    merge_update_path(tree, LeafIndex(sender), path, group_id=GROUP_ID,
                      credential_validator=accept)
    got = decrypt_update_path(tree, group.members[receiver].private, LeafIndex(sender), path,
                              context(tree))
    return got.commit_secret.value


def resigned(group: Group, sender: int, leaf: LeafNode) -> LeafNode:
    tbs = LeafNodeTBS(encryption_key=leaf.encryption_key, signature_key=leaf.signature_key,
                      credential=leaf.credential, capabilities=leaf.capabilities,
                      leaf_node_source=leaf.leaf_node_source, lifetime=leaf.lifetime,
                      parent_hash=leaf.parent_hash, extensions=leaf.extensions,
                      group_id=GROUP_ID, leaf_index=sender)
    return tbs.signed(SUITE.sign_with_label(group.members[sender].signature_key,
                                            "LeafNodeTBS", tbs.to_bytes()))


def test_fixed_group_round_trip(group: Group) -> None:
    _, ours, path = staged_path(group, 2)
    for receiver in group.members:
        if receiver != 2:
            assert receive(group, receiver, 2, path) == ours.commit_secret.value


def test_public_key_that_does_not_match_the_path_secret_is_rejected(group: Group) -> None:
    # A committer whose path is internally consistent (parent hashes, signature) but
    # whose root key is not the one its path secret derives: §7.5 step 6 catches it.
    sender = LeafIndex(1)
    honest = generate_update_path(group.tree.copy(), sender, group_id=GROUP_ID, rng=group.rng,
                                  signature_private_key=group.members[1].signature_key)
    keys = list(honest.public_keys)
    keys[-1] = SUITE.hpke.generate_key_pair(group.rng)[1]
    forged = group.tree.copy()
    leaf_hash, node_hashes = forged.path_parent_hashes(sender, keys)
    leaf = resigned(group, 1, dataclasses.replace(honest.leaf_node, parent_hash=leaf_hash))
    forged.merge_path(sender, leaf, keys, node_hashes)
    evil = dataclasses.replace(honest, leaf_node=leaf, public_keys=tuple(keys))
    path = evil.encrypt(forged, context(forged), group.rng)

    tree = group.tree.copy()
    merge_update_path(tree, sender, path, group_id=GROUP_ID, credential_validator=accept)
    with pytest.raises(PathKeyMismatchError) as info:
        decrypt_update_path(tree, group.members[0].private, sender, path, context(tree))
    assert info.value.rule == "RFC 9420 §7.5"


def test_swapped_path_key_breaks_the_parent_hash(group: Group) -> None:
    _, _, path = staged_path(group, 4)
    other = SUITE.hpke.generate_key_pair(group.rng)[1]
    nodes = (dataclasses.replace(path.nodes[0], encryption_key=other), *path.nodes[1:])
    tree = group.tree.copy()
    before = tree.to_bytes()
    with pytest.raises(ParentHashError):
        merge_update_path(tree, LeafIndex(4), UpdatePath(path.leaf_node, nodes),
                          group_id=GROUP_ID, credential_validator=accept)
    assert tree.to_bytes() == before  # nothing was written


def test_wrong_number_of_path_nodes(group: Group) -> None:
    _, _, path = staged_path(group, 4)
    short = UpdatePath(path.leaf_node, path.nodes[:-1])
    with pytest.raises(InvalidUpdatePathError) as info:
        merge_update_path(group.tree.copy(), LeafIndex(4), short, group_id=GROUP_ID,
                          credential_validator=accept)
    assert info.value.rule == "RFC 9420 §7.6"


def test_wrong_number_of_ciphertexts(group: Group) -> None:
    _, _, path = staged_path(group, 4)
    first = path.nodes[0]
    extra = UpdatePathNode(first.encryption_key,
                           (*first.encrypted_path_secret, HPKECiphertext(b"k", b"c")))
    with pytest.raises(InvalidUpdatePathError):
        merge_update_path(group.tree.copy(), LeafIndex(4),
                          UpdatePath(path.leaf_node, (extra, *path.nodes[1:])),
                          group_id=GROUP_ID, credential_validator=accept)


def test_path_key_already_in_the_tree(group: Group) -> None:
    # Reusing a key of the tree (here member 0's leaf key) is refused even before the
    # parent hash is looked at (§12.4.2).
    _, _, path = staged_path(group, 4)
    reused = group.tree.leaf(LeafIndex(0)).encryption_key  # type: ignore[union-attr]
    nodes = (dataclasses.replace(path.nodes[0], encryption_key=reused), *path.nodes[1:])
    with pytest.raises(DuplicateKeyError) as info:
        merge_update_path(group.tree.copy(), LeafIndex(4), UpdatePath(path.leaf_node, nodes),
                          group_id=GROUP_ID, credential_validator=accept)
    assert info.value.rule == "RFC 9420 §12.4.2"


def test_leaf_with_wrong_parent_hash(group: Group) -> None:
    _, _, path = staged_path(group, 5)
    leaf = resigned(group, 5, dataclasses.replace(path.leaf_node, parent_hash=b"\x00" * 32))
    with pytest.raises(ParentHashError):
        merge_update_path(group.tree.copy(), LeafIndex(5), UpdatePath(leaf, path.nodes),
                          group_id=GROUP_ID, credential_validator=accept)


def test_leaf_must_come_from_a_commit(group: Group) -> None:
    _, _, path = staged_path(group, 5)
    leaf = resigned(group, 5, dataclasses.replace(
        path.leaf_node, leaf_node_source=LeafNodeSource.UPDATE, parent_hash=None))
    with pytest.raises(LeafSourceError):
        merge_update_path(group.tree.copy(), LeafIndex(5), UpdatePath(leaf, path.nodes),
                          group_id=GROUP_ID, credential_validator=accept)


def test_tampered_ciphertext_does_not_decrypt(group: Group) -> None:
    _, _, path = staged_path(group, 0)
    node = path.nodes[0]  # encrypted to leaf 1 alone
    bad = HPKECiphertext(node.encrypted_path_secret[0].kem_output,
                         bytes(len(node.encrypted_path_secret[0].ciphertext)))
    nodes = (UpdatePathNode(node.encryption_key, (bad,)), *path.nodes[1:])
    with pytest.raises(DecryptError):
        receive(group, 1, 0, UpdatePath(path.leaf_node, nodes))


def test_wrong_group_context_does_not_decrypt(group: Group) -> None:
    _, _, path = staged_path(group, 0)
    tree = group.tree.copy()
    merge_update_path(tree, LeafIndex(0), path, group_id=GROUP_ID, credential_validator=accept)
    with pytest.raises(DecryptError):
        decrypt_update_path(tree, group.members[1].private, LeafIndex(0), path, b"other")


def test_committer_does_not_process_its_own_path(group: Group) -> None:
    staged, _, path = staged_path(group, 0)
    with pytest.raises(UsageError):
        decrypt_update_path(staged, group.members[0].private, LeafIndex(0), path,
                            context(staged))


def test_generate_refuses_a_foreign_signature_key(group: Group) -> None:
    with pytest.raises(UsageError):
        generate_update_path(group.tree.copy(), LeafIndex(0), group_id=GROUP_ID,
                             rng=group.rng, signature_private_key=group.members[1].signature_key)


def test_joiner_with_a_wrong_path_secret(group: Group) -> None:
    staged = group.tree.copy()
    leaf, _, encryption_key = key_package_leaf(group.rng, b"late joiner")
    index = staged.add_leaf(leaf)
    ours = generate_update_path(staged, LeafIndex(0), group_id=GROUP_ID, rng=group.rng,
                                signature_private_key=group.members[0].signature_key)
    right = ours.path_secret_for(index)
    assert private_tree_for_joiner(staged, index, encryption_key, committer=LeafIndex(0),
                                   path_secret=right).leaf_index == index
    with pytest.raises(PathKeyMismatchError):
        private_tree_for_joiner(staged, index, encryption_key, committer=LeafIndex(0),
                                path_secret=bytes(len(right)))


def test_private_tree_round_trips_and_prunes(group: Group) -> None:
    private = group.members[2].private
    assert PrivateTree.from_bytes(private.to_bytes()) == private
    assert "keys" not in repr(private)  # private keys never show in a repr
    # After another member's Update-style edit blanks our path, only the leaf key stays.
    tree = group.tree.copy()
    tree.update_leaf(LeafIndex(2), tree.leaf(LeafIndex(2)))  # type: ignore[arg-type]
    assert set(private.pruned(tree).keys) == {tree.leaf(LeafIndex(2)).encryption_key}  # type: ignore[union-attr]


def test_private_tree_decoding_is_strict() -> None:
    entries = PrivateTree(LeafIndex(3), {b"b": b"2", b"a": b"1"}).to_bytes()
    assert PrivateTree.from_bytes(entries).keys == {b"a": b"1", b"b": b"2"}
    swapped = bytes.fromhex("00000003") + bytes([12]) + b"\x01b\x012\x01a\x011"
    with pytest.raises(DecodeError):
        PrivateTree.from_bytes(swapped)


def test_external_commit_takes_the_leftmost_free_leaf(group: Group) -> None:
    # §12.4.2: an external joiner sits in the leftmost blank leaf (or a new one) and
    # commits with a path; the members place it the same way before merging.
    leaf, signature_key, _ = key_package_leaf(group.rng, b"external joiner")
    staged = group.tree.copy()
    slot = staged.assign_free_leaf()
    assert staged.leaf(slot) is None
    ours = generate_update_path(staged, slot, group_id=GROUP_ID, rng=group.rng,
                                signature_private_key=signature_key, leaf_template=leaf)
    path = ours.encrypt(staged, context(staged), group.rng)
    for receiver, member in group.members.items():
        theirs = group.tree.copy()
        assert theirs.assign_free_leaf() == slot
        merge_update_path(theirs, slot, path, group_id=GROUP_ID, credential_validator=accept)
        got = decrypt_update_path(theirs, member.private, slot, path, context(theirs))
        assert got.commit_secret == ours.commit_secret, receiver
    validate_tree(staged, group_id=GROUP_ID, credential_validator=accept)
