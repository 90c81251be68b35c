"""Randomness is injected: every operation that needs it takes a ``RandomSource``.

Production code passes :class:`SystemRandom`; tests and vector checks pass a
:class:`SeededRandom` so that every run produces the same bytes.
"""

from __future__ import annotations

import os
from typing import Protocol

from cryptography.hazmat.primitives import hashes


class RandomSource(Protocol):
    """Where a protocol operation gets its random bytes."""

    def random_bytes(self, n: int) -> bytes:
        """Return ``n`` fresh random bytes."""
        ...


class SystemRandom:
    """The operating system's CSPRNG."""

    __slots__ = ()

    def random_bytes(self, n: int) -> bytes:
        return os.urandom(n)


class SeededRandom:
    """A deterministic stream for tests and benchmarks: SHAKE256(seed || counter).

    Never use it for real keys: anyone who knows the seed knows every output.
    """

    __slots__ = ("_counter", "_seed")

    def __init__(self, seed: bytes) -> None:
        self._seed = bytes(seed)
        self._counter = 0

    def random_bytes(self, n: int) -> bytes:
        digest = hashes.Hash(hashes.SHAKE256(n))
        digest.update(self._seed)
        digest.update(self._counter.to_bytes(8, "big"))
        self._counter += 1
        return digest.finalize()


__all__ = ["RandomSource", "SeededRandom", "SystemRandom"]
