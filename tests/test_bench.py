"""The benchmark entry point runs (speed itself is never asserted in tests)."""

from __future__ import annotations

import pytest

from letterlock.bench.__main__ import main
from letterlock.bench._timing import measure, table


def test_unknown_bench_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["nope"]) == 2
    assert "usage" in capsys.readouterr().err


def test_measure_reports_median_of_runs() -> None:
    calls: list[int] = []
    m = measure(lambda: calls.append(1), runs=3, inner=4)
    assert len(calls) == 12 and m.runs == 3 and m.low <= m.median <= m.high


def test_table_aligns_columns() -> None:
    text = table(("name", "value"), [("a", "1"), ("longer", "22")])
    lines = text.splitlines()
    assert len({len(line) for line in lines}) == 1
    assert lines[2].startswith("a ") and lines[2].endswith(" 1")


def test_transparency_bench_quick(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["transparency", "--quick", "--runs", "1"]) == 0
    out = capsys.readouterr().out
    assert "Log append" in out and "inclusion proof" in out and "KeyPackage" in out
