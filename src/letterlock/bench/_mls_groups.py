"""Large MLS groups for the benchmark, built in memory without simulating every member.

Only three members of a benchmarked group need a real :class:`~letterlock.mls.group.Group`:
the committer, one receiver and each joiner. Everyone else exists only as a leaf in the
ratchet tree. Two tree shapes are built:

- **blank** (:func:`blank_group`): what one big Add leaves. The creator commits the
  KeyPackages of all the other members in one commit without a path (every check of
  that commit runs: each KeyPackage's two signatures, the Welcome's HPKE seals); the
  receiver joins from that commit's Welcome. Every parent node is blank, so a path
  commit encrypts to n - 1 leaves.
- **filled** (:func:`filled_group`): what a group looks like once every member has
  committed a path. The tree is generated directly with TreeKEM: every member's
  :func:`~letterlock.mls.treekem.generate_update_path` runs in leaf order on one
  :class:`~letterlock.mls.ratchet_tree.PublicTree`, exactly the public tree those n
  commits leave (fresh leaf keys, commit-source leaves signed by their owners,
  parent-hash chains, keys derived from path secrets). All derived private keys are
  kept, so the committer's and the receiver's private trees are the keys on their
  direct paths. The two real members then start from a fresh epoch over that tree
  (its GroupContext and key schedule built as :meth:`Group.create` builds epoch 0);
  this skips only the n framing and key-schedule steps nobody measures. A joiner
  still verifies every leaf signature and parent hash of it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from letterlock.crypto import CipherSuite, SeededRandom
from letterlock.mls.constants import LeafNodeSource, ProtocolVersion
from letterlock.mls.credentials import Credential
from letterlock.mls.group import Group, GroupConfig
from letterlock.mls.group._epoch import EpochState
from letterlock.mls.group_context import GroupContext
from letterlock.mls.key_packages import KeyPackageBundle, create_key_package, default_capabilities
from letterlock.mls.key_schedule import InitSecret, KeySchedule
from letterlock.mls.leaf_node import LeafNode, LeafNodeTBS, Lifetime
from letterlock.mls.ratchet_tree import PublicTree
from letterlock.mls.transcript import initial_interim_transcript_hash
from letterlock.mls.tree_math import LeafIndex, direct_path, leaf_to_node
from letterlock.mls.treekem import PrivateTree, generate_update_path

FOREVER = Lifetime(0, 2**64 - 1)
GROUP_ID = b"bench group"


def accept(leaf: LeafNode, previous: LeafNode | None) -> None:
    """The benchmark's Authentication Service: every basic credential is fine."""


@dataclass(frozen=True, slots=True)
class Joiner:
    """A client that is not in the group yet: its signature key and KeyPackage."""

    signer: bytes
    bundle: KeyPackageBundle


@dataclass(slots=True)
class BenchGroup:
    """The real members of a large group, and clients waiting to join it."""

    suite: CipherSuite
    committer: Group
    receiver: Group
    joiners: Iterator[Joiner]
    build_seconds: float
    config: GroupConfig = field(default_factory=GroupConfig)

    def join(self, welcome: bytes, joiner: Joiner) -> Group:
        return Group.join(welcome, joiner.bundle, joiner.signer,
                          rng=SeededRandom(joiner.signer), credential_validator=accept,
                          config=self.config)


def joiners(suite: CipherSuite, seed: bytes) -> Iterator[Joiner]:
    """An endless supply of new clients with one KeyPackage each."""
    rng = SeededRandom(seed)
    count = 0
    while True:
        count += 1
        signer, _ = suite.generate_signature_key_pair(rng)
        bundle = create_key_package(suite, credential=Credential.basic(b"joiner %d" % count),
                                    signature_private_key=signer, lifetime=FOREVER, rng=rng)
        yield Joiner(signer, bundle)


def blank_group(suite: CipherSuite, n: int, *, config: GroupConfig | None = None,
                seed: bytes = b"bench") -> BenchGroup:
    """``n`` members added by the creator (leaf 0, the committer) in one commit without
    a path; the receiver is the last leaf, joined from that commit's Welcome."""
    start = time.perf_counter()
    cfg = config or GroupConfig()
    rng = SeededRandom(seed + b" creator")
    signer, _ = suite.generate_signature_key_pair(rng)
    creator = Group.create(suite, group_id=GROUP_ID, signer=signer,
                           credential=Credential.basic(b"member 0"), rng=rng,
                           credential_validator=accept, config=cfg)
    supply = joiners(suite, seed + b" members")
    members = [next(supply) for _ in range(n - 1)]
    receiver = creator
    if members:
        result = creator.commit(add=[m.bundle.key_package for m in members],
                                update_path=False)
        creator.merge_pending_commit()
        assert result.welcome is not None
        last = members[-1]
        receiver = Group.join(result.welcome, last.bundle, last.signer,
                              rng=SeededRandom(last.signer), credential_validator=accept,
                              config=cfg)
    return BenchGroup(suite, creator, receiver, joiners(suite, seed + b" joiners"),
                      time.perf_counter() - start, cfg)


def filled_group(suite: CipherSuite, n: int, *, config: GroupConfig | None = None,
                 seed: bytes = b"bench") -> BenchGroup:
    """``n`` members, each of whom has committed a path once, in leaf order; the
    committer is leaf 0 and the receiver the last leaf (see the module docstring)."""
    start = time.perf_counter()
    cfg = config or GroupConfig()
    rng = SeededRandom(seed + b" filled")
    signers = [suite.generate_signature_key_pair(rng)[0] for _ in range(n)]
    capabilities = default_capabilities()
    tree: PublicTree | None = None
    for i, signer in enumerate(signers):
        # A placeholder leaf: its key and signature are replaced by member i's path
        # below, before anyone reads the tree.
        tbs = LeafNodeTBS(encryption_key=rng.random_bytes(32),
                          signature_key=suite.signature_public_key(signer),
                          credential=Credential.basic(b"member %d" % i),
                          capabilities=capabilities,
                          leaf_node_source=LeafNodeSource.KEY_PACKAGE, lifetime=FOREVER)
        leaf = tbs.signed(b"")
        if tree is None:
            tree = PublicTree.create(suite, leaf)
        else:
            tree.add_leaf(leaf)
    assert tree is not None
    private_keys: dict[bytes, bytes] = {}
    for i, signer in enumerate(signers):
        path = generate_update_path(tree, LeafIndex(i), group_id=GROUP_ID,
                                    signature_private_key=signer, rng=rng)
        private_keys.update(path.private_tree.keys)

    context = GroupContext(ProtocolVersion.MLS10, suite.suite_id, GROUP_ID, 1,
                           tree.tree_hash(), rng.random_bytes(suite.n_h))
    schedule, _ = KeySchedule.for_commit(suite, InitSecret.random(suite, rng), None, None,
                                         context)
    secrets = schedule.epoch_secrets()
    interim = initial_interim_transcript_hash(suite, secrets.confirmation_key.value,
                                              context.confirmed_transcript_hash)

    def member(leaf: int) -> Group:
        start_node = leaf_to_node(LeafIndex(leaf))
        keys = {}
        for index in (start_node, *direct_path(start_node, tree.n_leaves)):
            node = tree.node(index)
            if node is not None:
                keys[node.encryption_key] = private_keys[node.encryption_key]
        state = EpochState.create(suite, context, tree.copy(), interim, secrets, cfg.ratchet)
        # Group's own constructor: the state of an epoch this member is already in.
        return Group(state, PrivateTree(LeafIndex(leaf), keys), signers[leaf],
                     credential_validator=accept, rng=SeededRandom(signers[leaf]),
                     config=cfg)

    committer, receiver = member(0), member(n - 1)
    return BenchGroup(suite, committer, receiver, joiners(suite, seed + b" joiners"),
                      time.perf_counter() - start, cfg)


__all__ = ["BenchGroup", "Joiner", "accept", "blank_group", "filled_group", "joiners"]
