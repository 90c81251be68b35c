"""Shared test plumbing: where the official vectors are, and how a test finds them.

The vectors live outside the repository (``../shared/vectors`` in the development
checkout). ``LETTERLOCK_MLS_VECTORS`` and ``LETTERLOCK_HPKE_VECTORS`` point at them.
Without them the vector tests skip with a reason, unless ``LETTERLOCK_REQUIRE_VECTORS=1``
(set by ``.ci/run``) makes a missing directory an error.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent

# The in-memory MLS group kit (tests/mls/mls_group_kit.py) serves other test packages too
# (tests/attacks): make it importable as a top-level module from anywhere in the suite.
if str(ROOT / "tests" / "mls") not in sys.path:
    sys.path.insert(0, str(ROOT / "tests" / "mls"))


def _vector_dir(env: str, default: str) -> Path:
    value = os.environ.get(env)
    path = Path(value) if value else ROOT.parent / "shared" / "vectors" / default
    return path if path.is_absolute() else (Path.cwd() / path).resolve()


MLS_VECTORS = _vector_dir("LETTERLOCK_MLS_VECTORS", "mls")
HPKE_VECTORS = _vector_dir("LETTERLOCK_HPKE_VECTORS", "hpke")
REQUIRE_VECTORS = os.environ.get("LETTERLOCK_REQUIRE_VECTORS") == "1"


def load_vectors(directory: Path, name: str) -> list[dict[str, Any]] | None:
    """The JSON cases of one vector file, or None when the file is absent."""
    path = directory / name
    if not path.exists():
        return None
    data: list[dict[str, Any]] = json.loads(path.read_text())
    return data


def vector_params(directory: Path, name: str) -> list[Any]:
    """pytest params, one per case of a vector file; a single skip (or error) if absent."""
    cases = load_vectors(directory, name)
    if cases is None:
        reason = f"vector file {directory / name} not found (set the vectors' env variable)"
        if REQUIRE_VECTORS:
            # CI must not pass quietly without the vectors: the test fails instead.
            return [pytest.param(FileNotFoundError(reason), id="missing")]
        return [pytest.param(None, id="absent", marks=pytest.mark.skip(reason=reason))]
    return [pytest.param(case, id=f"case{i}") for i, case in enumerate(cases)]


def need_case(case: Any) -> dict[str, Any]:
    """Unwrap a vector param; a missing required file fails the test here."""
    if isinstance(case, FileNotFoundError):
        raise case
    assert isinstance(case, dict)
    return case
