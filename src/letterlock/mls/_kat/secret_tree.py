"""secret-tree.json: per-leaf ratchet keys and sender-data keys (RFC 9420 §9, §6.3.2).

The generations of each leaf are asked for as a receiver would: in the listed order
(0, then 15, skipping the rest), each staged and then consumed.
"""

from __future__ import annotations

from letterlock.crypto import cipher_suite

from ..key_schedule import EncryptionSecret, SenderDataSecret
from ..secret_tree import RatchetType, SecretTree, sender_data_key
from ..tree_math import LeafIndex
from . import Case, expect, unhex


def check(case: Case) -> None:
    suite = cipher_suite(case["cipher_suite"])

    v = case["sender_data"]
    got = sender_data_key(suite, SenderDataSecret(unhex(v["sender_data_secret"])),
                          unhex(v["ciphertext"]))
    expect("sender_data.key", unhex(v["key"]), got.key)
    expect("sender_data.nonce", unhex(v["nonce"]), got.nonce)

    leaves = case["leaves"]
    tree = SecretTree(suite, EncryptionSecret(unhex(case["encryption_secret"])), len(leaves))
    for leaf, generations in enumerate(leaves):
        for g in generations:
            for kind in RatchetType:
                where = f"leaves[{leaf}] generation {g['generation']} {kind.value}"
                staged = tree.key_for_decryption(LeafIndex(leaf), kind, g["generation"])
                expect(f"{where} key", unhex(g[f"{kind.value}_key"]), staged.key.key)
                expect(f"{where} nonce", unhex(g[f"{kind.value}_nonce"]), staged.key.nonce)
                tree.consume(staged)
