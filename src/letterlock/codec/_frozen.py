"""A faster ``__init__`` for the frozen, slotted dataclasses built for every message.

A frozen dataclass stores each field with ``object.__setattr__`` (its own ``__setattr__``
refuses), and CPython 3.11 runs that call about three times slower than storing
through the slot's descriptor: for a three-field value, most of the time it takes to
build. :func:`fast_init` gives such a class an ``__init__`` with the same signature and
the same ``__post_init__`` call that stores through the slot descriptors instead. The
class stays frozen: its ``__setattr__`` and ``__delattr__`` still refuse, and equality,
hashing, ``repr`` and ``dataclasses.replace`` are untouched.
"""

from __future__ import annotations

import dataclasses
from types import MemberDescriptorType
from typing import Any, TypeVar

T = TypeVar("T")


def fast_init(cls: type[T]) -> type[T]:
    """Replace the dataclass ``__init__`` of ``cls`` (frozen, slotted, and with plain
    positional fields: no ``init=False``, ``kw_only``, ``default_factory`` or
    ``InitVar``) by one that stores through the slots. TypeError for any other class.
    """
    params = getattr(cls, "__dataclass_params__", None)
    if params is None or not params.frozen or "__slots__" not in cls.__dict__:
        raise TypeError(f"{cls.__name__} is not a frozen, slotted dataclass")
    all_fields = cls.__dataclass_fields__  # type: ignore[attr-defined]
    fields = dataclasses.fields(cls)  # type: ignore[arg-type]
    if len(fields) != len(all_fields) or any(
            not f.init or f.kw_only or f.default_factory is not dataclasses.MISSING
            for f in fields):
        raise TypeError(f"{cls.__name__} has fields fast_init does not handle")
    namespace: dict[str, Any] = {}
    params_src, body = [], []
    for f in fields:
        slot = getattr(cls, f.name)
        if not isinstance(slot, MemberDescriptorType):
            raise TypeError(f"{cls.__name__}.{f.name} is not a slot")
        namespace[f"_set_{f.name}"] = slot.__set__
        if f.default is dataclasses.MISSING:
            params_src.append(f.name)
        else:
            namespace[f"_default_{f.name}"] = f.default
            params_src.append(f"{f.name}=_default_{f.name}")
        body.append(f"    _set_{f.name}(self, {f.name})")
    if hasattr(cls, "__post_init__"):
        body.append("    self.__post_init__()")
    source = f"def __init__(self, {', '.join(params_src)}):\n" + "\n".join(body or ["    pass"])
    exec(source, namespace)  # the way dataclasses itself builds __init__
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__module__ = cls.__module__
    setattr(cls, "__init__", init)  # noqa: B010 (mypy refuses assigning a method)
    return cls


__all__ = ["fast_init"]
