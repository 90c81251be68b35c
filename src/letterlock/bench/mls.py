"""``python -m letterlock.bench mls``: the cost of MLS operations, next to the crypto floor.

The floor is each primitive timed alone through the same suite object the protocol uses
(Ed25519 sign/verify, HPKE seal/open, AES-128-GCM on a 100-byte payload, one HKDF
ExpandWithLabel), so every protocol row can be read as a ratio to what the cryptography
alone costs.

Three tables follow the floor:

- application messages (100-byte payload) encrypted and decrypted per second, with the
  floor of one message: a signature (or its verification), two AEAD operations (the
  content and the sender data, §6.3) and five ExpandWithLabel steps (the ratchet's key,
  nonce and next secret, §9.1; the sender-data key and nonce, §6.3.2). The floor is run
  as one operation in alternation with the message operation, and the ratio is the
  median of the per-run ratios, so that a busy neighbour slows both alike;
- commits at 10 to 10,000 members: create and process an add-one, a remove-one and an
  update (each with a path, the default of :meth:`Group.commit`), and a new member's join
  by Welcome, in a blank tree (one big Add) and a filled tree (every member has committed
  once); how both are built is in :mod:`letterlock.bench._mls_groups`;
- how long building each group took.

Every figure is the median over ``--runs`` runs (default 7; ``--quick``: 3 runs and
groups up to 1,000 members). A commit run is one real epoch: the committer creates the
commit (timed), the receiver processes it (timed), the committer merges it, and for an
add the new member joins from the Welcome (timed). The whole default run, 10,000-member
groups included, takes about a minute on two cores; the last line says how long it took.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TypeVar

from letterlock.crypto.random import SeededRandom, SystemRandom
from letterlock.crypto.suite import CipherSuite, cipher_suite

from ._mls_groups import BenchGroup, blank_group, filled_group
from ._timing import Measurement, fmt_seconds, measure, summarize, table

T = TypeVar("T")
PAYLOAD = bytes(100)
APP_SIZES = (2, 100)
SIZES = (10, 100, 1_000, 10_000)
QUICK_SIZES = (10, 100, 1_000)
# ExpandWithLabel calls per PrivateMessage: ratchet key, nonce, next secret (§9.1) and
# the sender-data key and nonce (§6.3.2).
KDF_STEPS = 5


def crypto_floor(suite: CipherSuite, runs: int) -> dict[str, Measurement]:
    """Each primitive an MLS message or commit is made of, timed alone."""
    rng = SeededRandom(b"bench-floor")
    sig_priv, sig_pub = suite.generate_signature_key_pair(rng)
    signature = suite.sign(sig_priv, PAYLOAD)
    # Signing with a parsed key, as a Group does (it parses its signature key once).
    signing_key = suite.signing_key(sig_priv)
    hpke_priv, hpke_pub = suite.hpke.generate_key_pair(rng)
    enc, ct = suite.hpke.seal(hpke_pub, b"info", b"", PAYLOAD, rng)
    key, nonce = rng.random_bytes(suite.n_k), rng.random_bytes(suite.n_n)
    sealed = suite.aead_seal(key, nonce, b"aad", PAYLOAD)
    secret = rng.random_bytes(suite.n_h)
    inner = 200
    return {
        "sign": measure(lambda: suite.sign(signing_key, PAYLOAD), runs=runs, inner=inner,
                        warmup=1),
        "verify": measure(lambda: suite.verify(sig_pub, PAYLOAD, signature), runs=runs,
                          inner=inner, warmup=1),
        "HPKE seal": measure(lambda: suite.hpke.seal(hpke_pub, b"info", b"", PAYLOAD, rng),
                             runs=runs, inner=50, warmup=1),
        "HPKE open": measure(lambda: suite.hpke.open(enc, hpke_priv, b"info", b"", ct),
                             runs=runs, inner=50, warmup=1),
        "AEAD seal (100 B)": measure(lambda: suite.aead_seal(key, nonce, b"aad", PAYLOAD),
                                     runs=runs, inner=inner * 5, warmup=1),
        "AEAD open (100 B)": measure(lambda: suite.aead_open(key, nonce, b"aad", sealed),
                                     runs=runs, inner=inner * 5, warmup=1),
        "HKDF ExpandWithLabel": measure(
            lambda: suite.expand_with_label(secret, "key", b"", suite.n_k), runs=runs,
            inner=inner * 5, warmup=1),
    }


def floor_table(floor: dict[str, Measurement], suite: CipherSuite) -> str:
    rows = [(name, fmt_seconds(m.median), f"{m.per_second:,.0f}") for name, m in floor.items()]
    return table((f"primitive (suite {suite.suite_id})", "median", "per second"), rows)


# ---- application messages ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MessageCost:
    """An application-message operation and its floor, timed in alternation."""

    message: Measurement
    floor: Measurement
    ratio: float  # median of the per-run ratios


def _floors(suite: CipherSuite) -> dict[str, Callable[[], object]]:
    """The primitives one PrivateMessage is made of, as one operation each way: a
    signature (or its verification), two AEAD operations (sender data and content) and
    :data:`KDF_STEPS` ExpandWithLabel calls."""
    rng = SeededRandom(b"bench-message-floor")
    sig_priv, sig_pub = suite.generate_signature_key_pair(rng)
    signing_key = suite.signing_key(sig_priv)
    signature = suite.sign(sig_priv, PAYLOAD)
    key, nonce = rng.random_bytes(suite.n_k), rng.random_bytes(suite.n_n)
    sealed = suite.aead_seal(key, nonce, b"aad", PAYLOAD)
    secret = rng.random_bytes(suite.n_h)

    def kdf() -> None:
        for _ in range(KDF_STEPS):
            suite.expand_with_label(secret, "key", b"", suite.n_k)

    def encrypt() -> None:
        suite.sign(signing_key, PAYLOAD)
        suite.aead_seal(key, nonce, b"aad", PAYLOAD)
        suite.aead_seal(key, nonce, b"aad", PAYLOAD)
        kdf()

    def decrypt() -> None:
        suite.verify(sig_pub, PAYLOAD, signature)
        suite.aead_open(key, nonce, b"aad", sealed)
        suite.aead_open(key, nonce, b"aad", sealed)
        kdf()

    return {"encrypt": encrypt, "decrypt": decrypt}


def _alternating(operation: Callable[[], object], floor: Callable[[], object], runs: int,
                 inner: int) -> MessageCost:
    """Time ``operation`` and ``floor`` in alternation, ``inner`` calls per run each, so
    that both see the same machine: on a shared, noisy machine the ratio of two figures
    taken minutes apart says more about the neighbours than about the code."""
    for _ in range(inner):  # warm-up
        floor()
    ops: list[float] = []
    floors: list[float] = []
    for _ in range(runs):
        start = time.perf_counter()
        for _ in range(inner):
            floor()
        middle = time.perf_counter()
        for _ in range(inner):
            operation()
        ops.append((time.perf_counter() - middle) / inner)
        floors.append((middle - start) / inner)
    return MessageCost(summarize(ops), summarize(floors),
                       statistics.median(o / f for o, f in zip(ops, floors, strict=True)))


def application_messages(suite: CipherSuite, n: int, runs: int,
                         inner: int = 200) -> tuple[MessageCost, MessageCost]:
    """Encrypt (by the creator) and decrypt (by the last member), each next to its floor."""
    bench = blank_group(suite, n, seed=b"app %d" % n)
    sender, receiver = bench.committer, bench.receiver
    floors = _floors(suite)
    # The operating system's randomness for the reuse guard, as an application uses:
    # the seeded stream that builds the groups reproducibly costs a SHAKE256 call.
    rng = SystemRandom()
    # Decrypt first, in order: the receiver would refuse to skip the thousands of
    # generations the encrypt runs use up (§15.3 bounds how far a ratchet may jump).
    messages = iter([sender.encrypt(PAYLOAD, rng=rng) for _ in range((runs + 1) * inner)])
    for _ in range(inner):  # warm-up
        receiver.process(next(messages))
    decrypt = _alternating(lambda: receiver.process(next(messages)), floors["decrypt"],
                           runs, inner)
    encrypt = _alternating(lambda: sender.encrypt(PAYLOAD, rng=rng), floors["encrypt"],
                           runs, inner)
    return encrypt, decrypt


def application_table(suite: CipherSuite, sizes: Sequence[int], runs: int) -> str:
    rows = []
    for n in sizes:
        for name, cost in zip(("encrypt", "decrypt"), application_messages(suite, n, runs),
                              strict=True):
            rows.append((f"{name}, {n} members", fmt_seconds(cost.message.median),
                         f"{cost.message.per_second:,.0f}", fmt_seconds(cost.floor.median),
                         f"{cost.ratio:.2f}x"))
    return table(("application message (100 B)", "median", "per second", "floor",
                  "ratio"), rows)


# ---- commits and joins ------------------------------------------------------------------

COLUMNS = ("add create", "add process", "remove create", "remove process",
           "update create", "update process", "join (Welcome)")


def _timed(operation: Callable[[], T]) -> tuple[float, T]:
    start = time.perf_counter()
    value = operation()
    return time.perf_counter() - start, value


def _removable(bench: BenchGroup) -> int:
    # A member other than the committer and the receiver, from the middle of the tree.
    keep = {bench.committer.own_leaf, bench.receiver.own_leaf}
    leaves = [m.leaf for m in bench.committer.roster() if m.leaf not in keep]
    return leaves[len(leaves) // 2]


def commit_runs(bench: BenchGroup, runs: int) -> dict[str, Measurement]:
    """Run ``runs`` epochs of each kind of commit on ``bench``; seconds per step."""
    samples: dict[str, list[float]] = {c: [] for c in COLUMNS}
    committer, receiver = bench.committer, bench.receiver

    def epoch(kind: str, **kwargs: object) -> bytes | None:
        seconds, result = _timed(lambda: committer.commit(**kwargs))  # type: ignore[arg-type]
        samples[f"{kind} create"].append(seconds)
        seconds, _ = _timed(lambda: receiver.process(result.commit_message))
        samples[f"{kind} process"].append(seconds)
        committer.merge_pending_commit()
        return result.welcome

    for _ in range(runs):
        joiner = next(bench.joiners)
        welcome = epoch("add", add=[joiner.bundle.key_package])
        assert welcome is not None
        seconds, joined = _timed(partial(bench.join, welcome, joiner))
        samples["join (Welcome)"].append(seconds)
        assert joined.epoch_authenticator == committer.epoch_authenticator
    for _ in range(runs):
        epoch("remove", remove=[_removable(bench)])
    for _ in range(runs):
        epoch("update")
    assert receiver.epoch_authenticator == committer.epoch_authenticator
    return {name: summarize(values) for name, values in samples.items()}


def commit_table(suite: CipherSuite, sizes: Sequence[int], runs: int) -> tuple[str, str]:
    rows, builds = [], []
    for n in sizes:
        for shape, build in (("blank", blank_group), ("filled", filled_group)):
            bench = build(suite, n, seed=b"%s %d" % (shape.encode(), n))
            builds.append((f"{n:,} members, {shape}", fmt_seconds(bench.build_seconds)))
            results = commit_runs(bench, runs)
            rows.append((f"{n:,} {shape}", *(fmt_seconds(results[c].median) for c in COLUMNS)))
    return (table(("members, tree", *COLUMNS), rows),
            table(("group built in memory", "seconds"), builds))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m letterlock.bench mls",
                                     description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=None,
                        help="repeats per figure, the median is shown (default 7, quick 3)")
    parser.add_argument("--quick", action="store_true",
                        help="groups up to 1,000 members and 3 runs")
    parser.add_argument("--sizes", type=lambda s: tuple(int(x) for x in s.split(",")),
                        default=None, help="comma-separated group sizes for the commit table")
    parser.add_argument("--suite", type=int, default=1)
    args = parser.parse_args(argv)
    runs = args.runs if args.runs is not None else (3 if args.quick else 7)
    sizes = args.sizes or (QUICK_SIZES if args.quick else SIZES)
    suite = cipher_suite(args.suite)
    start = time.perf_counter()
    floor = crypto_floor(suite, runs)
    print(f"Cryptographic floor (median of {runs} runs)")
    print(floor_table(floor, suite))
    print()
    print("Application messages (floor: sign or verify + 2 AEAD + "
          f"{KDF_STEPS} ExpandWithLabel, timed in alternation; ratio: median of per-run "
          "ratios)")
    print(application_table(suite, APP_SIZES, runs), flush=True)
    print()
    commits, builds = commit_table(suite, sizes, runs)
    print(f"Commits and joins (median of {runs} epochs each; every commit has a path)")
    print(commits)
    print()
    print(builds)
    print()
    print(f"total {time.perf_counter() - start:.1f} s")
    return 0
