"""The base class of every wire structure: one push/pull pair, bytes in and out."""

from __future__ import annotations

from typing import Self

from ._buffer import Reader, Writer, decode


class Struct:
    """A value with exactly one encoding.

    Subclasses implement :meth:`push` and :meth:`pull`; :meth:`to_bytes` and
    :meth:`from_bytes` follow from them. ``from_bytes`` rejects trailing bytes.
    """

    __slots__ = ()

    def push(self, w: Writer) -> None:
        raise NotImplementedError

    @classmethod
    def pull(cls, r: Reader) -> Self:
        raise NotImplementedError

    def to_bytes(self) -> bytes:
        w = Writer()
        self.push(w)
        return w.data

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        """Decode ``data`` as exactly one value; raises DecodeError otherwise."""
        return decode(data, cls.pull)
