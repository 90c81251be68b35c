"""Every case of every official RFC 9420 vector file, through the conformance checkers.

Each case is its own test; a failure names the field that mismatched. Files whose
checker belongs to a later milestone are skipped with that reason.
"""

from __future__ import annotations

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


def test_runner_reports_every_file(tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "tree-math.json").write_text("[]")
    (tmp_path / "welcome.json").write_text("[{}]")
    code = conformance.main([str(tmp_path)])
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "tree-math.json: 0 passed, 0 failed, 0 skipped"
    assert out[-1].endswith("failed")
    assert code in (0, 1)
