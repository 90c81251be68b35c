"""Every case of every official RFC 9420 vector file, through the conformance checkers.

Each case is its own test; a failure names the field that mismatched. Files whose
checker belongs to a later milestone are skipped with that reason.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from conftest import MLS_VECTORS, need_case, vector_params
from letterlock.mls import conformance

PARAMS = [
    pytest.param(module, p.values[0], id=f"{name}-{p.id}", marks=p.marks)
    for name, module in conformance.VECTOR_FILES
    if name != "passive-client-random.json"
    for p in vector_params(MLS_VECTORS, name)
]


@pytest.mark.vectors
@pytest.mark.parametrize(("module", "case"), PARAMS)
def test_vector_case(module: str, case: Any) -> None:
    data = need_case(case)
    check = conformance.load_checker(module)
    if check is None:
        pytest.skip(conformance.NOT_YET)
    check(data)


def test_runner_lines_and_exit_status(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # A passing file, a file with one bad case, and a file with no checker yet.
    good = {"n_leaves": 1, "n_nodes": 1, "root": 0, "left": [None], "right": [None],
            "parent": [None], "sibling": [None]}
    (tmp_path / "tree-math.json").write_text(json.dumps([good, {**good, "root": 5}]))
    (tmp_path / "deserialization.json").write_text(json.dumps([{"vlbytes_header": "00",
                                                                "length": 0}]))
    (tmp_path / "later.json").write_text("[{}, {}]")
    monkeypatch.setattr(conformance, "VECTOR_FILES", (
        ("tree-math.json", "tree_math"),
        ("deserialization.json", "deserialization"),
        ("later.json", "no_such_checker"),
    ))
    code = conformance.main([str(tmp_path)])
    out = capsys.readouterr().out.splitlines()
    assert out == [
        "tree-math.json: 1 passed, 1 failed, 0 skipped",
        "deserialization.json: 1 passed, 0 failed, 0 skipped",
        f"later.json: 0 passed, 0 failed, 2 skipped ({conformance.NOT_YET})",
        "2 passed, 1 failed",
    ]
    assert code == 1


def test_runner_without_directory_fails(capsys: pytest.CaptureFixture[str]) -> None:
    assert conformance.main(["/nonexistent/vectors"]) == 1
    assert "no vector directory" in capsys.readouterr().err
