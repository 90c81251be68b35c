"""fast_init: the same construction as the dataclass __init__ it replaces, only faster."""

from __future__ import annotations

import dataclasses
import pickle
from dataclasses import dataclass, field

import pytest

from letterlock.codec import fast_init


@fast_init
@dataclass(frozen=True, slots=True)
class Point:
    x: int
    y: int = 0
    label: bytes = field(default=b"", repr=False)

    def __post_init__(self) -> None:
        if self.x < 0:
            raise ValueError("x must not be negative")


@dataclass(frozen=True, slots=True)
class Reference:
    x: int
    y: int = 0
    label: bytes = field(default=b"", repr=False)


def test_builds_what_the_dataclass_init_builds() -> None:
    for args, kwargs in (((1,), {}), ((1, 2), {}), ((1,), {"label": b"l"}),
                         ((), {"x": 3, "y": 4, "label": b"m"})):
        p, r = Point(*args, **kwargs), Reference(*args, **kwargs)
        assert (p.x, p.y, p.label) == (r.x, r.y, r.label)
        assert p == Point(p.x, p.y, p.label) and hash(p) == hash(Point(p.x, p.y, p.label))
        assert repr(p) == repr(r).replace("Reference", "Point")
    with pytest.raises(TypeError):
        Point()  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        Point(1, 2, b"", 4)  # type: ignore[call-arg]


def test_post_init_runs_and_the_value_stays_frozen() -> None:
    with pytest.raises(ValueError):
        Point(-1)
    p = Point(1, 2)
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.x = 5  # type: ignore[misc]
    assert dataclasses.replace(p, y=7) == Point(1, 7)
    assert pickle.loads(pickle.dumps(p)) == p


def test_refuses_classes_it_does_not_handle() -> None:
    @dataclass(slots=True)
    class Mutable:
        x: int

    @dataclass(frozen=True)
    class NoSlots:
        x: int

    @dataclass(frozen=True, slots=True)
    class Factory:
        x: list[int] = field(default_factory=list)

    @dataclass(frozen=True, slots=True)
    class KeywordOnly:
        x: int = field(kw_only=True)

    @dataclass(frozen=True, slots=True)
    class NotInInit:
        x: int = field(init=False, default=0)

    for cls in (Mutable, NoSlots, Factory, KeywordOnly, NotInInit, int):
        with pytest.raises(TypeError):
            fast_init(cls)
