"""tree-math.json: node count, root, and left/right/parent/sibling of every node."""

from __future__ import annotations

from collections.abc import Callable

from letterlock.mls import tree_math as tm
from letterlock.mls.errors import UsageError

from . import Case, expect


def _or_none(fn: Callable[..., tm.NodeIndex], *args: int) -> int | None:
    """The function's answer, or None where tree math says there is none (e.g. a leaf's child)."""
    try:
        return int(fn(*args))
    except UsageError:
        return None


def check(case: Case) -> None:
    n = int(case["n_leaves"])
    expect("n_nodes", case["n_nodes"], tm.node_width(n))
    expect("root", case["root"], tm.root(n))
    for i in range(tm.node_width(n)):
        expect(f"left[{i}]", case["left"][i], _or_none(tm.left, i))
        expect(f"right[{i}]", case["right"][i], _or_none(tm.right, i))
        expect(f"parent[{i}]", case["parent"][i], _or_none(tm.parent, i, n))
        expect(f"sibling[{i}]", case["sibling"][i], _or_none(tm.sibling, i, n))
