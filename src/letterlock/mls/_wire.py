"""Helpers shared by the RFC 9420 wire-structure modules (private).

Two kinds of check live here, and they fail differently:

- :func:`pull_tag` reads a code point that selects how the rest of a struct is laid out
  (a ``select`` tag). A value the RFC does not define leaves no way to read on, so it is a
  :class:`~letterlock.codec.DecodeError` naming the field: the peer sent bytes that are
  not a structure we can parse.
- :func:`require` guards the constructors of wire types against values whose fields
  disagree with their tag (a member ``Sender`` without a leaf index, ...). That is a
  caller's mistake, a :class:`~letterlock.mls.errors.UsageError`; the decoders never
  build such a value.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from enum import IntEnum
from typing import TypeVar

from letterlock.codec import DecodeError, Reader, Writer

from .constants import ProtocolVersion
from .errors import UsageError

E = TypeVar("E", bound=IntEnum)


def pull_tag(r: Reader, enum: type[E], field: str, *, width: int) -> E:
    """A ``width``-byte code point that must be one of ``enum``'s members."""
    return r.pull_enum(enum, field, width=width)


def known_or_int(enum: type[E], value: int) -> int:
    """``value`` as a member of an extensible registry's enum when it is one, else as is.

    Used for extensible code points (cipher suites, credential and proposal types): the
    enum member only makes reprs readable; it compares equal to the plain int.
    """
    try:
        return enum(value)
    except ValueError:
        return value


def require(condition: bool, message: str) -> None:
    """Raise UsageError(message) unless ``condition``: a wire value built inconsistently."""
    if not condition:
        raise UsageError(message)


def push_uint16s(w: Writer, values: Sequence[int]) -> None:
    """``uint16 values<V>``."""
    w.push_vector(values, Writer.push_uint16)


def pull_uint16s(r: Reader) -> tuple[int, ...]:
    """``uint16 values<V>``."""
    return _pull_ints(r, 2, Reader.pull_uint16)


def push_uint32s(w: Writer, values: Sequence[int]) -> None:
    """``uint32 values<V>``."""
    w.push_vector(values, Writer.push_uint32)


def pull_uint32s(r: Reader) -> tuple[int, ...]:
    """``uint32 values<V>``."""
    return _pull_ints(r, 4, Reader.pull_uint32)


_INT_FORMATS = {2: "H", 4: "I"}


def _pull_ints(r: Reader, width: int, pull: Callable[[Reader], int]) -> tuple[int, ...]:
    # ``r.pull_vector(pull)`` in one unpack (every leaf has five uint16 lists). A block
    # that is not a whole number of integers goes the item-by-item way, which then
    # raises exactly the error pull_vector raises.
    sub = r.sub_reader()
    size = sub.remaining
    if size % width:
        items = []
        while not sub.at_end():
            items.append(pull(sub))
        return tuple(items)
    return struct.unpack(f">{size // width}{_INT_FORMATS[width]}", sub.pull_bytes(size))


def pull_mls10(r: Reader, field: str) -> None:
    """A ``ProtocolVersion version = mls10`` field: the layout that follows is mls10's."""
    start = r.position
    version = r.pull_uint16()
    if version != ProtocolVersion.MLS10:
        raise DecodeError(f"unsupported {field} {version}", start)
