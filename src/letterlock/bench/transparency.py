"""``python -m letterlock.bench transparency``: the key transparency log's costs.

- log append throughput: entries built, encoded, hashed and appended per second;
- at 10^3, 10^5 and 10^6 entries: the time to rebuild the log from stored leaf hashes
  (what the server does at start), inclusion and consistency proof sizes, and the time
  to produce and to verify each;
- the client-side cost of checking one claimed KeyPackage against the log: the
  KeyPackage's own signatures, the tree head's signature, the handle opening and the
  inclusion proof.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence

from letterlock.crypto.random import SeededRandom
from letterlock.crypto.suite import cipher_suite
from letterlock.mls.credentials import Credential
from letterlock.mls.key_packages import create_key_package, verify_key_package
from letterlock.mls.leaf_node import Lifetime
from letterlock.transparency.entries import HandleOpening, LogAction, LogEntry
from letterlock.transparency.merkle import MerkleLog, verify_consistency, verify_inclusion
from letterlock.transparency.tree_head import SignedTreeHead

from ._timing import Measurement, fmt_seconds, measure, table

SIZES = (1_000, 100_000, 1_000_000)
NOW = 1_800_000_000_000


def _entries(n: int, rng: SeededRandom) -> list[LogEntry]:
    return [LogEntry.create(LogAction.ADDED, HandleOpening.new(f"@user{i}", rng),
                            f"{i:032x}", rng.random_bytes(32), 1, NOW + i) for i in range(n)]


def append_throughput(n: int, runs: int) -> Measurement:
    """Seconds per appended entry (encode, hash, append), over batches of ``n``."""
    rng = SeededRandom(b"kt-append")
    entries = _entries(n, rng)

    def batch() -> None:
        log = MerkleLog()
        for entry in entries:
            log.append_leaf_hash(entry.leaf_hash())

    m = measure(batch, runs=runs)
    return Measurement(m.median / n, m.low / n, m.high / n, m.runs)


def _synthetic_log(n: int) -> tuple[MerkleLog, float]:
    # Distinct leaf hashes without building n entries: the tree cost is what is measured.
    leaves = (i.to_bytes(32, "big") for i in range(n))
    start = time.perf_counter()
    log = MerkleLog.from_leaf_hashes(leaves)
    return log, time.perf_counter() - start


def _proof_row(n: int, runs: int) -> tuple[str, ...]:
    log, rebuild = _synthetic_log(n)
    root = log.root()
    index = n // 3
    leaf = log.leaf_hash(index)
    proof = log.inclusion_proof(index)
    first = max(1, n // 2 - 7)
    consistency = log.consistency_proof(first)
    first_root = log.root(first)
    make_incl = measure(lambda: log.inclusion_proof(index), runs=runs, inner=50)
    check_incl = measure(lambda: verify_inclusion(leaf, proof, root), runs=runs, inner=200)
    make_cons = measure(lambda: log.consistency_proof(first), runs=runs, inner=50)
    check_cons = measure(lambda: verify_consistency(consistency, first_root, root),
                         runs=runs, inner=200)
    return (f"{n:,}", fmt_seconds(rebuild),
            f"{len(proof.to_bytes())} B", fmt_seconds(make_incl.median),
            fmt_seconds(check_incl.median),
            f"{len(consistency.to_bytes())} B", fmt_seconds(make_cons.median),
            fmt_seconds(check_cons.median))


def proof_rows(sizes: Sequence[int], runs: int) -> list[tuple[str, ...]]:
    return [_proof_row(n, runs) for n in sizes]


def key_package_check(runs: int) -> Measurement:
    """What a client does per claimed KeyPackage before it may add the device."""
    suite = cipher_suite(1)
    rng = SeededRandom(b"kt-client")
    sig_priv, sig_pub = suite.generate_signature_key_pair(rng)
    log_priv, log_pub = suite.generate_signature_key_pair(rng)
    bundle = create_key_package(suite, credential=Credential.basic(b"@bob"),
                                signature_private_key=sig_priv, lifetime=Lifetime(0, 2**63),
                                rng=rng)
    opening = HandleOpening.new("@bob", rng)
    entry = LogEntry.create(LogAction.ADDED, opening, "b" * 32, sig_pub, 1, NOW)
    log, _ = _synthetic_log(99_999)
    index = log.append_leaf_hash(entry.leaf_hash())
    sth = SignedTreeHead.sign(log_priv, log.size, log.root(), NOW)
    proof = log.inclusion_proof(index)

    def check() -> None:
        verify_key_package(suite, bundle.key_package)
        sth.verify(log_pub)
        opening.check(entry.handle_commitment)
        if entry.signature_key != bundle.key_package.leaf_node.signature_key:
            raise AssertionError("logged key differs")
        verify_inclusion(entry.leaf_hash(), proof, sth.root_hash)

    return measure(check, runs=runs, inner=50)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m letterlock.bench transparency",
                                     description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=5, help="repeats per figure (median)")
    parser.add_argument("--quick", action="store_true", help="sizes up to 10^4 only")
    args = parser.parse_args(argv)
    sizes = (1_000, 10_000) if args.quick else SIZES
    append = append_throughput(1_000 if args.quick else 20_000, args.runs)
    print(f"Log append: {append.per_second:,.0f} entries per second "
          f"({fmt_seconds(append.median)} per entry: encode, hash, append)")
    print()
    print(table(("entries", "rebuild", "inclusion proof", "make", "verify",
                 "consistency proof", "make", "verify"), proof_rows(sizes, args.runs)))
    print()
    check = key_package_check(args.runs)
    print(f"Client check of one claimed KeyPackage (its signatures, tree head signature, "
          f"handle opening, inclusion in a 10^5-entry log): {fmt_seconds(check.median)}")
    return 0
