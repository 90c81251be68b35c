"""A 1,000-member group in memory: one Add commit brings everyone in, and a handful of
real members (the creator, three receivers, then joiners) exercise every kind of commit
and agree on each epoch. The other members exist only as leaves: that is the fast path
that makes a large group cheap to build, and it is also what a large group looks like
to each member (a mostly blank tree whose parents fill as members commit).

Also here: the ratchet tree's shortcuts for large trees (resolutions that skip the blank
tail of the array) give the same answers as the definition in §4.1.1.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from mls_group_kit import SUITE, SUITES, accept, client, kp_bytes

from letterlock.crypto import CipherSuite, SeededRandom
from letterlock.mls.credentials import Credential
from letterlock.mls.group import ApplicationMessage, CommitApplied, Group, RemovedFromGroup
from letterlock.mls.key_packages import create_key_package
from letterlock.mls.leaf_node import Lifetime
from letterlock.mls.ratchet_tree import PublicTree
from letterlock.mls.tree_math import NodeIndex, left, right

N = 1_000
FOREVER = Lifetime(0, 2**64 - 1)


@dataclass
class LargeGroup:
    """The real members by name; everyone else is a leaf only."""

    groups: dict[str, Group] = field(default_factory=dict)

    def deliver(self, sender: str, message: bytes) -> dict[str, list[object]]:
        return {name: list(g.process(message)) for name, g in self.groups.items()
                if name != sender}

    def commit(self, committer: str, **kwargs: object) -> dict[str, list[object]]:
        group = self.groups[committer]
        result = group.commit(**kwargs)  # type: ignore[arg-type]
        events = self.deliver(committer, result.commit_message)
        group.merge_pending_commit()
        return events

    def assert_agree(self) -> None:
        first, *rest = self.groups.values()
        for g in rest:
            assert (g.epoch, g.epoch_authenticator) == (first.epoch, first.epoch_authenticator)
            assert g.export_secret("large", b"", 32) == first.export_secret("large", b"", 32)
            assert g.ratchet_tree == first.ratchet_tree

    def everyone_talks(self) -> None:
        for name, sender in self.groups.items():
            message = sender.encrypt(f"from {name}".encode())
            for other, events in self.deliver(name, message).items():
                [event] = events
                assert isinstance(event, ApplicationMessage), other
                assert event.data == f"from {name}".encode()
                assert event.sender == sender.own_leaf


def build(suite: CipherSuite) -> LargeGroup:
    alice = client("alice", suite)
    creator = Group.create(suite, group_id=b"large group", signer=alice.signer,
                           credential=alice.credential, rng=alice.rng,
                           credential_validator=accept)
    # Members 1..N-1: KeyPackages only. Leaves 1, 500 and N-1 get real groups.
    rng = SeededRandom(b"large members")
    real = {1: "bob", 500: "carol", N - 1: "dave"}
    signers, bundles = {}, []
    for leaf in range(1, N):
        signer, _ = suite.generate_signature_key_pair(rng)
        signers[leaf] = signer
        bundles.append(create_key_package(suite, credential=Credential.basic(b"m%d" % leaf),
                                          signature_private_key=signer, lifetime=FOREVER,
                                          rng=rng))
    # One commit adds everyone, without a path (Adds alone may omit it, §12.4).
    result = creator.commit(add=[b.key_package for b in bundles], update_path=False)
    creator.merge_pending_commit()
    assert result.welcome is not None
    world = LargeGroup({"alice": creator})
    for leaf, name in real.items():
        world.groups[name] = Group.join(result.welcome, bundles[leaf - 1], signers[leaf],
                                        rng=SeededRandom(name.encode()),
                                        credential_validator=accept)
        assert world.groups[name].own_leaf == leaf
    return world


# Suite 1, and the post-quantum X-Wing suite (every path and Welcome secret is then
# encapsulated with ML-KEM-768 + X25519).
@pytest.mark.parametrize("suite", list(SUITES.values()), ids=list(SUITES))
def test_a_thousand_members(suite: CipherSuite) -> None:
    world = build(suite)
    world.assert_agree()
    alice = world.groups["alice"]
    assert alice.epoch == 1 and len(alice.roster()) == N
    world.everyone_talks()

    # Update: Bob commits a path through the blank tree (ciphertexts to ~N leaves).
    events = world.commit("bob")
    assert all(isinstance(e[0], CommitApplied) and e[0].committer == 1
               for e in events.values())
    world.assert_agree()

    # Add: Carol adds Erin (with a path); Erin joins from the Welcome.
    erin = client("erin", suite)
    bundle = erin.key_package()
    carol = world.groups["carol"]
    result = carol.commit(add=[kp_bytes(bundle)])
    world.deliver("carol", result.commit_message)
    carol.merge_pending_commit()
    assert result.welcome is not None
    world.groups["erin"] = Group.join(result.welcome, bundle, erin.signer, rng=erin.rng,
                                      credential_validator=accept)
    assert world.groups["erin"].own_leaf == N  # the tree doubled to 2,048 leaves
    world.assert_agree()

    # Remove: Dave removes two leaf-only members; then an Update by reference.
    events = world.commit("dave", remove=[250, 700])
    assert all(e[0].removed == (250, 700) for e in events.values())  # type: ignore[attr-defined]
    world.assert_agree()
    proposal = world.groups["erin"].propose_update()
    world.deliver("erin", proposal)
    events = world.commit("alice")
    assert all(e[0].updated == (N,) for e in events.values())  # type: ignore[attr-defined]
    world.assert_agree()

    # External join: Frank joins from a GroupInfo and takes the leftmost free leaf.
    frank = client("frank", suite)
    info = world.groups["dave"].group_info()
    group, commit = Group.join_external(info, frank.signer, frank.credential, frank.rng,
                                        credential_validator=accept)
    events = world.deliver("frank", commit)
    assert all(isinstance(e[0], CommitApplied) and e[0].external for e in events.values())
    world.groups["frank"] = group
    assert group.own_leaf == 250
    world.assert_agree()
    world.everyone_talks()

    # Dave (the rightmost real member) is removed: his view ends, the rest go on.
    dave = world.groups.pop("dave")
    result = alice.commit(remove=[dave.own_leaf])
    [_, removed] = dave.process(result.commit_message)
    assert isinstance(removed, RemovedFromGroup)
    world.deliver("alice", result.commit_message)
    alice.merge_pending_commit()
    world.assert_agree()
    world.everyone_talks()
    assert len(alice.roster()) == N + 2 - 3  # Erin and Frank in; 250, 700 and Dave out


def _resolution(tree: PublicTree, index: NodeIndex) -> list[NodeIndex]:
    # §4.1.1 word for word, with no shortcut.
    node = tree.node(index)
    if node is not None:
        unmerged = getattr(node, "unmerged_leaves", ())
        return [index, *(NodeIndex(2 * u) for u in unmerged)]
    if not index & 1:
        return []
    return _resolution(tree, left(index)) + _resolution(tree, right(index))


def test_resolutions_skip_the_blank_tail_exactly() -> None:
    # A tree of 8 leaves whose right part is blank, edited the ways that move its last
    # non-blank node: adds at the end, removing the rightmost member, truncation.
    alice = client("alice")
    group = Group.create(SUITE, group_id=b"small", signer=alice.signer,
                         credential=alice.credential, rng=alice.rng,
                         credential_validator=accept)
    others = [client(f"c{i}") for i in range(6)]
    group.commit(add=[kp_bytes(c.key_package()) for c in others])
    group.merge_pending_commit()
    steps: list[dict[str, object]] = [{}, {"remove": [6]}, {"remove": [5, 4]},
                                      {"add": [kp_bytes(client("late").key_package())]},
                                      {"remove": [3, 2, 1]}]
    for step in steps:
        group.commit(**step)  # type: ignore[arg-type]
        group.merge_pending_commit()
        tree = PublicTree.from_bytes(SUITE, group.ratchet_tree)
        live = group._state.tree
        assert live.n_leaves == tree.n_leaves
        for i in range(2 * tree.n_leaves - 1):
            index = NodeIndex(i)
            assert live.resolution(index) == _resolution(tree, index), (step, i)
            assert tree.resolution(index) == _resolution(tree, index), (step, i)
