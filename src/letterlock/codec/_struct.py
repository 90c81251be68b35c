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


class CachedStruct(Struct):
    """A Struct for frozen values encoded again and again (tree nodes, the GroupContext):
    the encoding is made once, on first use, and reused by :meth:`to_bytes` and
    :meth:`push`.

    Subclasses write their fields in :meth:`push_fields` instead of :meth:`push`, and
    must be immutable all the way down (frozen dataclasses of bytes, ints and tuples),
    so that the encoding can never go stale. The cache is a slot outside the dataclass
    fields: equality, hashing and ``repr`` do not see it.

    Decoding fills the cache too: subclasses read their fields in :meth:`pull_fields`,
    and :meth:`pull` keeps the bytes it consumed. Those are the value's encoding
    because the :class:`Reader` accepts canonical encodings only (minimal lengths,
    exact vectors, 0/1 presence bytes, fixed-width integers): decoding then encoding
    gives back the very bytes read, so a received tree is hashed without re-encoding.
    """

    __slots__ = ("_encoding",)
    _encoding: bytes

    def push_fields(self, w: Writer) -> None:
        raise NotImplementedError

    @classmethod
    def pull_fields(cls, r: Reader) -> Self:
        raise NotImplementedError

    @classmethod
    def pull(cls, r: Reader) -> Self:
        start = r.position
        value = cls.pull_fields(r)
        object.__setattr__(value, "_encoding", r.read_since(start))
        return value

    def push(self, w: Writer) -> None:
        w.push_bytes(self.to_bytes())

    def to_bytes(self) -> bytes:
        try:
            return self._encoding
        except AttributeError:
            w = Writer()
            self.push_fields(w)
            encoding = w.data
            # Frozen dataclasses refuse setattr; the slot is ours, not a field.
            object.__setattr__(self, "_encoding", encoding)
            return encoding
