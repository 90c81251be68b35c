"""treekem.json: processing and generating UpdatePaths (RFC 9420 §7.4-§7.6, §7.9).

For each case:

1. Load every member's private state (leaf key and per-node path secrets) and check it
   against the public tree.
2. For each given UpdatePath from ``sender``: merge it into a staged copy (this checks
   the committer's leaf and its parent hash), compare the tree hash after; then every
   other member decrypts it and must find the vector's path secret and commit secret.
3. Generate a fresh UpdatePath for the same sender from the original tree; every other
   member must merge it into its own copy, decrypt it and reach the same commit secret.

The GroupContext used as HPKE context has the vector's group_id, epoch and confirmed
transcript hash, no extensions, and the tree hash after the merge.
"""

from __future__ import annotations

from collections.abc import Callable

from letterlock.crypto import SeededRandom, cipher_suite
from letterlock.mls.constants import ProtocolVersion
from letterlock.mls.group_context import GroupContext
from letterlock.mls.ratchet_tree import PublicTree
from letterlock.mls.tree_math import LeafIndex, NodeIndex
from letterlock.mls.tree_nodes import UpdatePath
from letterlock.mls.treekem import (
    PrivateTree,
    decrypt_update_path,
    generate_update_path,
    merge_update_path,
    private_tree_from_path_secrets,
)

from . import Case, expect, unhex
from .tree_validation import accept_credential


def check(case: Case) -> None:
    suite = cipher_suite(case["cipher_suite"])
    tree = PublicTree.from_bytes(suite, unhex(case["ratchet_tree"]))
    group_id = unhex(case["group_id"])

    def context(tree_hash: bytes) -> bytes:
        return GroupContext(ProtocolVersion.MLS10, suite.suite_id, group_id, case["epoch"],
                            tree_hash, unhex(case["confirmed_transcript_hash"])).to_bytes()

    privates: dict[int, PrivateTree] = {}
    signature_keys: dict[int, bytes] = {}
    for entry in case["leaves_private"]:
        index = LeafIndex(entry["index"])
        secrets = {NodeIndex(s["node"]): unhex(s["path_secret"]) for s in entry["path_secrets"]}
        privates[index] = private_tree_from_path_secrets(
            tree, index, unhex(entry["encryption_priv"]), secrets)
        signature_keys[index] = unhex(entry["signature_priv"])

    for n, entry in enumerate(case["update_paths"]):
        sender = LeafIndex(entry["sender"])
        path = UpdatePath.from_bytes(unhex(entry["update_path"]))
        where = f"update_paths[{n}]"

        merged = tree.copy()
        merge_update_path(merged, sender, path, group_id=group_id,
                          credential_validator=accept_credential)
        tree_hash = merged.tree_hash()
        expect(f"{where}.tree_hash_after", unhex(entry["tree_hash_after"]), tree_hash)
        for j, private in privates.items():
            if j == sender:
                continue
            got = decrypt_update_path(merged, private, sender, path, context(tree_hash))
            expect(f"{where}.path_secrets[{j}]", unhex(entry["path_secrets"][j]),
                   got.path_secret)
            expect(f"{where}.commit_secret (leaf {j})", unhex(entry["commit_secret"]),
                   got.commit_secret.value)

        _check_generated(tree, privates, sender, signature_keys[sender], group_id, context,
                         where)


def _check_generated(tree: PublicTree, privates: dict[int, PrivateTree], sender: LeafIndex,
                     signature_key: bytes, group_id: bytes,
                     context: Callable[[bytes], bytes], where: str) -> None:
    staged = tree.copy()
    rng = SeededRandom(b"treekem vector " + where.encode())
    ours = generate_update_path(staged, sender, group_id=group_id,
                                signature_private_key=signature_key, rng=rng)
    update_path = ours.encrypt(staged, context(staged.tree_hash()), rng)
    for j, private in privates.items():
        if j == sender:
            continue
        theirs = tree.copy()
        merge_update_path(theirs, sender, update_path, group_id=group_id,
                          credential_validator=accept_credential)
        expect(f"{where} regenerated: tree hash at leaf {j}", staged.tree_hash(),
               theirs.tree_hash())
        got = decrypt_update_path(theirs, private, sender, update_path,
                                  context(theirs.tree_hash()))
        expect(f"{where} regenerated: commit secret at leaf {j}", ours.commit_secret.value,
               got.commit_secret.value)
