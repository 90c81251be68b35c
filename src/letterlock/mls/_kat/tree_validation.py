"""tree-validation.json: resolutions, tree hashes, parent hashes and leaf signatures.

Each case is a ratchet tree built by real group operations (full trees, internal and
trailing blanks, unmerged leaves, blanks skipped by parent-hash links). Checks:

- the resolution and tree hash of every node (``resolutions[i]``, ``tree_hashes[i]``);
- the whole joiner's validation (§12.4.3.1) with ``group_id`` as the signing context:
  parent-hash validity of every parent, every leaf's signature, unmerged-leaf and
  key-uniqueness rules. The vector has no credentials to judge, so every credential is
  accepted.
"""

from __future__ import annotations

from letterlock.crypto import cipher_suite
from letterlock.mls.leaf_node import LeafNode
from letterlock.mls.ratchet_tree import PublicTree
from letterlock.mls.tree_math import NodeIndex
from letterlock.mls.tree_validation import validate_tree

from . import Case, expect, unhex


def accept_credential(leaf: LeafNode, previous: LeafNode | None) -> None:
    """The vectors carry no Authentication Service policy: accept every credential."""


def check(case: Case) -> None:
    suite = cipher_suite(case["cipher_suite"])
    tree = PublicTree.from_bytes(suite, unhex(case["tree"]))
    expect("node count", len(case["tree_hashes"]), len(tree.nodes))
    for i, expected in enumerate(case["resolutions"]):
        expect(f"resolutions[{i}]", expected, tree.resolution(NodeIndex(i)))
    for i, expected in enumerate(case["tree_hashes"]):
        expect(f"tree_hashes[{i}]", unhex(expected), tree.node_tree_hash(NodeIndex(i)))
    validate_tree(tree, group_id=unhex(case["group_id"]),
                  credential_validator=accept_credential)
