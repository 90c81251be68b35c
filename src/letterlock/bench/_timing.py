"""Repeated timing and table printing shared by the benchmarks."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Measurement:
    """Seconds per operation: the median (and spread) over ``runs`` runs."""

    median: float
    low: float
    high: float
    runs: int

    @property
    def per_second(self) -> float:
        return 1.0 / self.median if self.median > 0 else float("inf")


def measure(operation: Callable[[], object], *, runs: int = 7, inner: int = 1,
            setup: Callable[[], object] | None = None, warmup: int = 0) -> Measurement:
    """Time ``operation`` ``inner`` times per run, ``runs`` runs; seconds per call.

    ``setup`` (untimed) runs before every run, for operations that consume their input.
    ``warmup`` runs come first and are not counted (caches, CPU clock ramping up).
    """
    for _ in range(warmup):
        if setup is not None:
            setup()
        for _ in range(inner):
            operation()
    samples: list[float] = []
    for _ in range(runs):
        if setup is not None:
            setup()
        start = time.perf_counter()
        for _ in range(inner):
            operation()
        samples.append((time.perf_counter() - start) / inner)
    return Measurement(statistics.median(samples), min(samples), max(samples), runs)


def measure_pairs(prepare: Callable[[], Callable[[], object]], *, runs: int = 7) -> Measurement:
    """Time one call of the operation ``prepare()`` returns, with a fresh one per run
    (for operations on state that cannot be reused, like processing one commit)."""
    samples: list[float] = []
    for _ in range(runs):
        operation = prepare()
        start = time.perf_counter()
        operation()
        samples.append(time.perf_counter() - start)
    return Measurement(statistics.median(samples), min(samples), max(samples), runs)


def fmt_seconds(seconds: float) -> str:
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds * 1e6:.1f} µs"


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A plain-text table with right-aligned columns after the first."""
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]

    def line(cells: Sequence[str]) -> str:
        first, *rest = cells
        return "  ".join([str(first).ljust(widths[0]),
                          *(str(c).rjust(w) for c, w in zip(rest, widths[1:], strict=True))])

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(headers), rule, *(line(r) for r in rows)])


def summarize(samples: Sequence[float]) -> Measurement:
    """The Measurement of seconds already timed, one sample per run."""
    return Measurement(statistics.median(samples), min(samples), max(samples), len(samples))
