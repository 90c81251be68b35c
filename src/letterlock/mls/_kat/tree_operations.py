"""tree-operations.json: one Add, Update or Remove proposal applied to a ratchet tree.

The tree before must hash to ``tree_hash_before``; after applying the proposal sent by
``proposal_sender`` (§12.1.1-§12.1.3) the tree must encode to exactly ``tree_after``
(so unmerged leaves, blanked paths, extension and truncation all match) and hash to
``tree_hash_after``. The edit is made on a staged copy, and the original must not move.
"""

from __future__ import annotations

from letterlock.crypto import cipher_suite
from letterlock.mls.proposals import Add, Proposal, Remove, Update
from letterlock.mls.ratchet_tree import PublicTree
from letterlock.mls.tree_math import LeafIndex

from . import Case, VectorMismatch, expect, unhex


def check(case: Case) -> None:
    suite = cipher_suite(case["cipher_suite"])
    before_bytes = unhex(case["tree_before"])
    tree = PublicTree.from_bytes(suite, before_bytes)
    expect("tree_hash_before", unhex(case["tree_hash_before"]), tree.tree_hash())

    staged = tree.copy()
    body = Proposal.from_bytes(unhex(case["proposal"])).body
    sender = LeafIndex(case["proposal_sender"])
    if isinstance(body, Add):
        staged.add_leaf(body.key_package.leaf_node)
    elif isinstance(body, Update):
        staged.update_leaf(sender, body.leaf_node)
    elif isinstance(body, Remove):
        staged.remove_leaf(LeafIndex(body.removed))
    else:
        raise VectorMismatch("proposal type", "add, update or remove", body.proposal_type)

    expect("tree_after", unhex(case["tree_after"]), staged.to_bytes())
    expect("tree_hash_after", unhex(case["tree_hash_after"]), staged.tree_hash())
    # A fresh tree from the same bytes hashes the same: the cache was invalidated right.
    fresh = PublicTree.from_bytes(suite, staged.to_bytes())
    expect("tree_hash_after (uncached)", fresh.tree_hash(), staged.tree_hash())
    expect("tree_before untouched", before_bytes, tree.to_bytes())
