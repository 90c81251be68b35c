"""Strict readers and writers for the TLS presentation language of RFC 9420 §2.1.

Why strict: every MLS structure is authenticated over its exact encoding, so two
parties must agree on one byte string per value. The reader therefore refuses every
encoding that is not the single canonical one: truncated input, bytes left over after
a struct or inside a vector, non-minimal variable-length prefixes (§2.1.2) and
optional-presence bytes other than 0 or 1.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable
from enum import IntEnum
from typing import TypeVar

from ._errors import DecodeError, EncodeError

T = TypeVar("T")
E = TypeVar("E", bound=IntEnum)

# RFC 9420 §2.1.2: the two high bits of the first byte give the length of the
# prefix (00 -> 1 byte, 01 -> 2, 10 -> 4); 11 is invalid. 30 bits of length at most.
VARINT_MAX = (1 << 30) - 1

_U16 = struct.Struct(">H")
_U32 = struct.Struct(">I")
_U64 = struct.Struct(">Q")


class Reader:
    """A cursor over bytes that pulls typed values and rejects anything non-canonical.

    A reader covers ``data[start:end]``; sub-readers made for vectors share the same
    underlying buffer, so positions in errors are offsets into the original input.
    """

    __slots__ = ("_data", "_end", "_pos")

    def __init__(self, data: bytes | bytearray | memoryview, *, start: int = 0,
                 end: int | None = None) -> None:
        self._data = memoryview(data).cast("B") if not isinstance(data, memoryview) else data
        self._pos = start
        self._end = len(self._data) if end is None else end

    @property
    def position(self) -> int:
        """Offset of the next byte to read, counted from the start of the whole input."""
        return self._pos

    @property
    def remaining(self) -> int:
        """How many bytes are left before this reader's end."""
        return self._end - self._pos

    def at_end(self) -> bool:
        return self._pos >= self._end

    def read_since(self, start: int) -> bytes:
        """The bytes consumed from position ``start`` up to the current position."""
        return bytes(self._data[start:self._pos])

    def error(self, message: str) -> DecodeError:
        """A DecodeError that names the current position."""
        return DecodeError(message, self._pos)

    def _take(self, n: int, what: str) -> memoryview:
        if n > self._end - self._pos:
            raise DecodeError(
                f"truncated {what}: need {n} bytes, have {self._end - self._pos}", self._pos
            )
        view = self._data[self._pos : self._pos + n]
        self._pos += n
        return view

    def pull_uint8(self) -> int:
        return self._take(1, "uint8")[0]

    def pull_uint16(self) -> int:
        return int(_U16.unpack(self._take(2, "uint16"))[0])

    def pull_uint32(self) -> int:
        return int(_U32.unpack(self._take(4, "uint32"))[0])

    def pull_uint64(self) -> int:
        return int(_U64.unpack(self._take(8, "uint64"))[0])

    def pull_bytes(self, n: int) -> bytes:
        """Exactly ``n`` bytes (a fixed-size ``opaque x[n]``)."""
        return bytes(self._take(n, f"opaque[{n}]"))

    def pull_varint(self) -> int:
        """A variable-length integer as used for vector lengths (RFC 9420 §2.1.2)."""
        start = self._pos
        first = self._take(1, "length prefix")[0]
        kind = first >> 6
        if kind == 0:
            return first & 0x3F
        if kind == 1:
            value = ((first & 0x3F) << 8) | self._take(1, "length prefix")[0]
            minimum = 64
        elif kind == 2:
            rest = self._take(3, "length prefix")
            value = ((first & 0x3F) << 24) | (rest[0] << 16) | (rest[1] << 8) | rest[2]
            minimum = 1 << 14
        else:
            # §2.1.2: the 0b11 prefix would mean a 64-bit length; MLS forbids it.
            raise DecodeError("invalid length prefix 0b11", start)
        if value < minimum:
            # §2.1.2: "the length MUST be encoded in the smallest number of bytes".
            raise DecodeError(f"non-minimal length prefix for {value}", start)
        return value

    def pull_opaque(self) -> bytes:
        """A variable-length ``opaque data<V>``."""
        length = self.pull_varint()
        return bytes(self._take(length, "vector body"))

    def sub_reader(self) -> Reader:
        """Consume a length-prefixed block and return a reader confined to it."""
        length = self.pull_varint()
        if length > self._end - self._pos:
            raise DecodeError(
                f"truncated vector: need {length} bytes, have {self._end - self._pos}",
                self._pos,
            )
        sub = Reader(self._data, start=self._pos, end=self._pos + length)
        self._pos += length
        return sub

    def pull_vector(self, item: Callable[[Reader], T]) -> list[T]:
        """A variable-length vector of items; items must fill the block exactly."""
        sub = self.sub_reader()
        items: list[T] = []
        while not sub.at_end():
            items.append(item(sub))
        return items

    def pull_block(self, body: Callable[[Reader], T]) -> T:
        """One value encoded inside a length-prefixed block, with nothing left over."""
        sub = self.sub_reader()
        value = body(sub)
        sub.finish()
        return value

    def pull_optional(self, item: Callable[[Reader], T]) -> T | None:
        """``optional<T>``: a presence byte of 0 or 1, then the value if present."""
        start = self._pos
        present = self.pull_uint8()
        if present == 0:
            return None
        if present != 1:
            raise DecodeError(f"optional presence byte must be 0 or 1, got {present}", start)
        return item(self)

    def pull_enum(self, enum: type[E], what: str, *, width: int = 1) -> E:
        """A ``width``-byte (1 or 2) code point that must be a member of ``enum``.

        An unknown value leaves no way to read on (it selects the layout that follows),
        so it is a DecodeError naming ``what``.
        """
        start = self._pos
        value = self.pull_uint8() if width == 1 else self.pull_uint16()
        # The enum's own value-to-member table: a dict lookup, where calling the enum
        # runs Python code (this is on every message's path).
        member = enum._value2member_map_.get(value)
        if member is not None:
            return member  # type: ignore[return-value]
        try:
            return enum(value)  # an enum with _missing_ may still accept it
        except ValueError:
            raise DecodeError(f"unknown {what} {value}", start) from None

    def pull_utf8(self, what: str) -> str:
        """``opaque text<V>`` that must be valid UTF-8."""
        start = self._pos
        raw = self.pull_opaque()
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise DecodeError(f"{what} is not UTF-8", start) from None

    def pull_bool(self) -> bool:
        start = self._pos
        value = self.pull_uint8()
        if value > 1:
            raise DecodeError(f"bool must be 0 or 1, got {value}", start)
        return value == 1

    def finish(self) -> None:
        """Raise DecodeError if any bytes are left in this reader."""
        if self._pos != self._end:
            raise DecodeError(f"{self._end - self._pos} trailing bytes", self._pos)


# Immutable byte strings at least this long are kept by reference, not copied, until
# the final encoding is made (see Writer).
_BY_REFERENCE = 1 << 16


class Writer:
    """Accumulates the canonical encoding of values pushed into it.

    Small values are appended to one buffer. A large immutable ``bytes`` value (64 KiB
    or more: a ratchet tree, a GroupInfo that carries one) is kept by reference
    instead, and nested vectors and blocks hand their pieces to the enclosing writer
    the same way; :attr:`data` joins everything once. So a 3 MB tree inside an
    extension inside a GroupInfo is copied once per encoding, not once per level.
    """

    __slots__ = ("_buf", "_pieces", "_pieces_len")

    def __init__(self) -> None:
        self._buf = bytearray()
        # What was written before ``_buf``, in order, and its total length.
        self._pieces: list[bytes] = []
        self._pieces_len = 0

    @property
    def data(self) -> bytes:
        if not self._pieces:
            return bytes(self._buf)
        return b"".join([*self._pieces, self._buf])

    def __len__(self) -> int:
        return self._pieces_len + len(self._buf)

    def _push_piece(self, data: bytes) -> None:
        # Close the buffer into a piece, then keep ``data`` itself as the next one.
        if self._buf:
            self._pieces.append(bytes(self._buf))
            self._pieces_len += len(self._buf)
            self._buf = bytearray()
        self._pieces.append(data)
        self._pieces_len += len(data)

    def _push_writer(self, inner: Writer) -> None:
        # ``inner``'s encoding behind a length prefix, its pieces taken over uncopied.
        self._buf += encode_varint(len(inner))
        for piece in inner._pieces:
            self._push_piece(piece)
        self._buf += inner._buf

    def push_uint8(self, value: int) -> None:
        if not 0 <= value <= 0xFF:
            raise EncodeError(f"uint8 out of range: {value}")
        self._buf.append(value)

    def push_uint16(self, value: int) -> None:
        if not 0 <= value <= 0xFFFF:
            raise EncodeError(f"uint16 out of range: {value}")
        self._buf += _U16.pack(value)

    def push_uint32(self, value: int) -> None:
        if not 0 <= value <= 0xFFFFFFFF:
            raise EncodeError(f"uint32 out of range: {value}")
        self._buf += _U32.pack(value)

    def push_uint64(self, value: int) -> None:
        if not 0 <= value <= 0xFFFFFFFFFFFFFFFF:
            raise EncodeError(f"uint64 out of range: {value}")
        self._buf += _U64.pack(value)

    def push_bytes(self, data: bytes | bytearray, size: int | None = None) -> None:
        """Raw bytes; with ``size``, a fixed-size field that must have that length."""
        if size is not None and len(data) != size:
            raise EncodeError(f"fixed field needs {size} bytes, got {len(data)}")
        if len(data) >= _BY_REFERENCE and type(data) is bytes:
            self._push_piece(data)
        else:
            self._buf += data

    def push_varint(self, value: int) -> None:
        self._buf += encode_varint(value)

    def push_opaque(self, data: bytes | bytearray) -> None:
        buf = self._buf
        buf += encode_varint(len(data))
        if len(data) >= _BY_REFERENCE and type(data) is bytes:
            self._push_piece(data)
        else:
            buf += data

    def push_vector(self, items: Iterable[T], item: Callable[[Writer, T], None]) -> None:
        inner = Writer()
        for value in items:
            item(inner, value)
        self._push_writer(inner)

    def push_block(self, body: Callable[[Writer], None]) -> None:
        """Whatever ``body`` writes, behind a length prefix."""
        inner = Writer()
        body(inner)
        self._push_writer(inner)

    def push_optional(self, value: T | None, item: Callable[[Writer, T], None]) -> None:
        if value is None:
            self._buf.append(0)
        else:
            self._buf.append(1)
            item(self, value)

    def push_bool(self, value: bool) -> None:
        self._buf.append(1 if value else 0)


# The one-byte encodings, ready-made: most lengths in MLS are below 64.
_ONE_BYTE = tuple(bytes((i,)) for i in range(1 << 6))


def encode_varint(value: int) -> bytes:
    """The minimal RFC 9420 §2.1.2 encoding of a vector length."""
    if 0 <= value < 1 << 6:
        return _ONE_BYTE[value]
    if value < 0 or value > VARINT_MAX:
        raise EncodeError(f"vector length out of range: {value}")
    if value < 1 << 6:
        return bytes((value,))
    if value < 1 << 14:
        return (0x4000 | value).to_bytes(2, "big")
    return (0x80000000 | value).to_bytes(4, "big")


def decode(data: bytes, body: Callable[[Reader], T]) -> T:
    """Decode one value that must use all of ``data``."""
    reader = Reader(data)
    value = body(reader)
    reader.finish()
    return value


def encode(body: Callable[[Writer], None]) -> bytes:
    """Run ``body`` against a fresh writer and return the bytes."""
    writer = Writer()
    body(writer)
    return writer.data
