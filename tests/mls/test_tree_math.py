"""Tree math beyond the vectors: index conversions and ancestry properties."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from letterlock.mls import tree_math as tm
from letterlock.mls.errors import UsageError

sizes = st.integers(min_value=0, max_value=12).map(lambda k: 1 << k)


@st.composite
def tree_and_node(draw: st.DrawFn) -> tuple[int, tm.NodeIndex]:
    n = draw(sizes)
    return n, tm.NodeIndex(draw(st.integers(min_value=0, max_value=tm.node_width(n) - 1)))


def test_index_conversions() -> None:
    assert tm.leaf_to_node(tm.LeafIndex(3)) == 6
    assert tm.parent_to_node(tm.ParentIndex(3)) == 7
    assert tm.node_to_leaf(tm.NodeIndex(6)) == 3
    assert tm.node_to_parent(tm.NodeIndex(7)) == 3
    with pytest.raises(UsageError):
        tm.node_to_leaf(tm.NodeIndex(7))
    with pytest.raises(UsageError):
        tm.node_to_parent(tm.NodeIndex(6))


def test_misuse_is_a_usage_error() -> None:
    with pytest.raises(UsageError):
        tm.root(3)
    with pytest.raises(UsageError):
        tm.parent(tm.NodeIndex(3), 4)
    with pytest.raises(UsageError):
        tm.parent(tm.NodeIndex(7), 4)
    with pytest.raises(UsageError):
        tm.left(tm.NodeIndex(2))


@given(tree_and_node())
def test_direct_path_ends_at_root_and_climbs_levels(tn: tuple[int, tm.NodeIndex]) -> None:
    n, x = tn
    path = tm.direct_path(x, n)
    if x == tm.root(n):
        assert path == []
        return
    assert path[-1] == tm.root(n)
    levels = [tm.level(p) for p in [x, *path]]
    assert levels == sorted(levels) and len(set(levels)) == len(levels)
    for child, par in zip([x, *path], path, strict=False):
        assert child in (tm.left(par), tm.right(par))


@given(tree_and_node())
def test_copath_siblings(tn: tuple[int, tm.NodeIndex]) -> None:
    n, x = tn
    cp = tm.copath(x, n)
    assert len(cp) == len(tm.direct_path(x, n))
    for s, node in zip(cp, [x, *tm.direct_path(x, n)], strict=False):
        assert tm.sibling(s, n) == node


@given(tree_and_node(), st.data())
def test_common_ancestor_is_lowest_shared(
    tn: tuple[int, tm.NodeIndex], data: st.DataObject
) -> None:
    n, a = tn
    b = tm.NodeIndex(data.draw(st.integers(min_value=0, max_value=tm.node_width(n) - 1)))
    ca = tm.common_ancestor(a, b)
    up_a = [a, *tm.direct_path(a, n)]
    up_b = [b, *tm.direct_path(b, n)]
    shared = [x for x in up_a if x in up_b]
    assert ca == shared[0]


@given(tree_and_node())
def test_subtree_leaves(tn: tuple[int, tm.NodeIndex]) -> None:
    n, x = tn
    leaves = tm.subtree_leaves(x)
    assert len(leaves) == 1 << tm.level(x)
    for leaf in leaves:
        node = tm.leaf_to_node(tm.LeafIndex(leaf))
        assert node == x or x in tm.direct_path(node, n)
