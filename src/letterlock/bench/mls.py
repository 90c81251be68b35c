"""``python -m letterlock.bench mls``: the cost of MLS operations, next to the crypto floor.

The floor is each primitive timed alone through the same suite object the protocol uses
(Ed25519 sign/verify, HPKE seal/open, AES-128-GCM on a 100-byte payload, one HKDF
ExpandWithLabel), so every protocol row can be read as a ratio to what the cryptography
alone costs.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from letterlock.crypto.random import SeededRandom
from letterlock.crypto.suite import CipherSuite, cipher_suite

from ._timing import Measurement, fmt_seconds, measure, table

PAYLOAD = bytes(100)


def crypto_floor(suite: CipherSuite, runs: int) -> dict[str, Measurement]:
    """Each primitive an MLS message or commit is made of, timed alone."""
    rng = SeededRandom(b"bench-floor")
    sig_priv, sig_pub = suite.generate_signature_key_pair(rng)
    signature = suite.sign(sig_priv, PAYLOAD)
    hpke_priv, hpke_pub = suite.hpke.generate_key_pair(rng)
    enc, ct = suite.hpke.seal(hpke_pub, b"info", b"", PAYLOAD, rng)
    key, nonce = rng.random_bytes(suite.n_k), rng.random_bytes(suite.n_n)
    sealed = suite.aead_seal(key, nonce, b"aad", PAYLOAD)
    secret = rng.random_bytes(suite.n_h)
    inner = 200
    return {
        "sign": measure(lambda: suite.sign(sig_priv, PAYLOAD), runs=runs, inner=inner),
        "verify": measure(lambda: suite.verify(sig_pub, PAYLOAD, signature), runs=runs,
                          inner=inner),
        "HPKE seal": measure(lambda: suite.hpke.seal(hpke_pub, b"info", b"", PAYLOAD, rng),
                             runs=runs, inner=50),
        "HPKE open": measure(lambda: suite.hpke.open(enc, hpke_priv, b"info", b"", ct),
                             runs=runs, inner=50),
        "AEAD seal (100 B)": measure(lambda: suite.aead_seal(key, nonce, b"aad", PAYLOAD),
                                     runs=runs, inner=inner * 5),
        "AEAD open (100 B)": measure(lambda: suite.aead_open(key, nonce, b"aad", sealed),
                                     runs=runs, inner=inner * 5),
        "HKDF ExpandWithLabel": measure(
            lambda: suite.expand_with_label(secret, "key", b"", suite.n_k), runs=runs,
            inner=inner * 5),
    }


def floor_table(floor: dict[str, Measurement]) -> str:
    rows = [(name, fmt_seconds(m.median), f"{m.per_second:,.0f}") for name, m in floor.items()]
    return table(("primitive (suite 1)", "median", "per second"), rows)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m letterlock.bench mls",
                                     description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=7, help="repeats per figure (median)")
    parser.add_argument("--suite", type=int, default=1)
    args = parser.parse_args(argv)
    suite = cipher_suite(args.suite)
    floor = crypto_floor(suite, args.runs)
    print("Cryptographic floor")
    print(floor_table(floor))
    return 0
