"""crypto-basics.json: the labeled functions of RFC 9420 §5 and §8, one case per suite.

Signatures: the vector's signature must verify, and so must one of ours. EdDSA is
deterministic, so our signature must also equal the vector's byte for byte; ECDSA is
randomized, so for it only verification is meaningful.

Encryption: the vector's ciphertext must decrypt to its plaintext, and a ciphertext
of ours (made with a seeded rng) must round-trip under the vector's key pair.
"""

from __future__ import annotations

from letterlock.crypto import CipherSuite, SeededRandom, SignatureSchemeId, cipher_suite

from . import Case, expect, unhex

_DETERMINISTIC = (SignatureSchemeId.ED25519, SignatureSchemeId.ED448)


def check(case: Case) -> None:
    suite = cipher_suite(case["cipher_suite"])

    v = case["ref_hash"]
    expect("ref_hash.out", unhex(v["out"]),
           suite.ref_hash(v["label"].encode(), unhex(v["value"])))

    v = case["expand_with_label"]
    got = suite.expand_with_label(unhex(v["secret"]), v["label"], unhex(v["context"]),
                                  v["length"])
    expect("expand_with_label.out", unhex(v["out"]), got)

    v = case["derive_secret"]
    expect("derive_secret.out", unhex(v["out"]),
           suite.derive_secret(unhex(v["secret"]), v["label"]))

    v = case["derive_tree_secret"]
    got = suite.derive_tree_secret(unhex(v["secret"]), v["label"], v["generation"],
                                   v["length"])
    expect("derive_tree_secret.out", unhex(v["out"]), got)

    _check_signature(suite, case["sign_with_label"])
    _check_encryption(suite, case["encrypt_with_label"])


def _check_signature(suite: CipherSuite, v: Case) -> None:
    private, public = unhex(v["priv"]), unhex(v["pub"])
    label, content, signature = v["label"], unhex(v["content"]), unhex(v["signature"])
    expect("sign_with_label.pub", public, suite.signature_public_key(private))
    suite.verify_with_label(public, label, content, signature)
    ours = suite.sign_with_label(private, label, content)
    suite.verify_with_label(public, label, content, ours)
    if suite.signature.scheme_id in _DETERMINISTIC:
        expect("sign_with_label.signature", signature, ours)


def _check_encryption(suite: CipherSuite, v: Case) -> None:
    private, public = unhex(v["priv"]), unhex(v["pub"])
    label, context, plaintext = v["label"], unhex(v["context"]), unhex(v["plaintext"])
    expect("encrypt_with_label.pub", public, suite.hpke.public_key(private))
    got = suite.decrypt_with_label(private, label, context, unhex(v["kem_output"]),
                                   unhex(v["ciphertext"]))
    expect("encrypt_with_label.plaintext", plaintext, got)
    rng = SeededRandom(b"crypto-basics round trip")
    kem_output, ciphertext = suite.encrypt_with_label(public, label, context, plaintext, rng)
    expect("encrypt_with_label.round_trip", plaintext,
           suite.decrypt_with_label(private, label, context, kem_output, ciphertext))
