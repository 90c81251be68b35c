"""The TLS presentation-language codec: golden bytes, strictness and round-trips."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from letterlock.codec import (
    VARINT_MAX,
    DecodeError,
    EncodeError,
    Reader,
    Writer,
    decode,
    encode,
    encode_varint,
)


@pytest.mark.parametrize(
    ("value", "encoded"),
    [(0, "00"), (37, "25"), (63, "3f"), (64, "4040"), (15293, "7bbd"), (16383, "7fff"),
     (16384, "80004000"), (494878333, "9d7f3e7d"), (VARINT_MAX, "bfffffff")],
)
def test_varint_golden(value: int, encoded: str) -> None:
    assert encode_varint(value).hex() == encoded
    assert decode(bytes.fromhex(encoded), Reader.pull_varint) == value


@pytest.mark.parametrize("encoded", ["4025", "80000025", "80003fff", "c000000000000001"])
def test_varint_rejects_non_minimal_and_64_bit(encoded: str) -> None:
    with pytest.raises(DecodeError):
        decode(bytes.fromhex(encoded), Reader.pull_varint)


def test_varint_range_on_encode() -> None:
    with pytest.raises(EncodeError):
        encode_varint(VARINT_MAX + 1)
    with pytest.raises(EncodeError):
        encode_varint(-1)


@given(st.integers(min_value=0, max_value=VARINT_MAX))
def test_varint_round_trip(value: int) -> None:
    assert decode(encode_varint(value), Reader.pull_varint) == value


def test_fixed_width_integers() -> None:
    w = Writer()
    w.push_uint8(1)
    w.push_uint16(0x0203)
    w.push_uint32(0x04050607)
    w.push_uint64(0x08090A0B0C0D0E0F)
    data = w.data
    assert data.hex() == "01" "0203" "04050607" "08090a0b0c0d0e0f"
    r = Reader(data)
    assert (r.pull_uint8(), r.pull_uint16(), r.pull_uint32(), r.pull_uint64()) == (
        1, 0x0203, 0x04050607, 0x08090A0B0C0D0E0F)
    r.finish()


@pytest.mark.parametrize("push", ["push_uint8", "push_uint16", "push_uint32", "push_uint64"])
def test_integer_overflow_is_an_encode_error(push: str) -> None:
    with pytest.raises(EncodeError):
        getattr(Writer(), push)(1 << 64)
    with pytest.raises(EncodeError):
        getattr(Writer(), push)(-1)


def test_truncated_input_says_where() -> None:
    with pytest.raises(DecodeError) as info:
        decode(bytes.fromhex("0500"), Reader.pull_opaque)
    assert info.value.position == 1
    assert "truncated" in str(info.value)


def test_trailing_bytes_rejected() -> None:
    with pytest.raises(DecodeError, match="trailing"):
        decode(bytes.fromhex("0100ff"), Reader.pull_opaque)


def test_vector_items_must_fill_the_block() -> None:
    # Two uint16 items declared in 3 bytes: the second item overruns its block.
    with pytest.raises(DecodeError):
        decode(bytes.fromhex("03000100"), lambda r: r.pull_vector(Reader.pull_uint16))
    two = decode(bytes.fromhex("0400010002"), lambda r: r.pull_vector(Reader.pull_uint16))
    assert two == [1, 2]


def test_block_rejects_leftover_inside() -> None:
    with pytest.raises(DecodeError, match="trailing"):
        decode(bytes.fromhex("03000100"), lambda r: r.pull_block(Reader.pull_uint16))


def test_optional_presence_byte() -> None:
    assert decode(b"\x00", lambda r: r.pull_optional(Reader.pull_uint8)) is None
    assert decode(b"\x01\x07", lambda r: r.pull_optional(Reader.pull_uint8)) == 7
    with pytest.raises(DecodeError, match="presence"):
        decode(b"\x02\x07", lambda r: r.pull_optional(Reader.pull_uint8))


def test_bool_is_zero_or_one() -> None:
    assert decode(b"\x01", Reader.pull_bool) is True
    with pytest.raises(DecodeError):
        decode(b"\x02", Reader.pull_bool)


def test_fixed_size_field_checked_on_encode() -> None:
    with pytest.raises(EncodeError):
        Writer().push_bytes(b"abc", size=4)


def test_positions_are_absolute_inside_vectors() -> None:
    # Outer vector of 3 bytes holding an opaque whose length (5) overruns: offset 2 is the body.
    with pytest.raises(DecodeError) as info:
        decode(bytes.fromhex("03050102"), lambda r: r.pull_block(Reader.pull_opaque))
    assert info.value.position == 2


nested = st.recursive(
    st.binary(max_size=70),
    lambda children: st.lists(children, max_size=5),
    max_leaves=20,
)


def _push_nested(w: Writer, value: bytes | list[object]) -> None:
    if isinstance(value, bytes):
        w.push_uint8(0)
        w.push_opaque(value)
    else:
        w.push_uint8(1)
        w.push_vector(value, _push_nested)  # type: ignore[arg-type]


def _pull_nested(r: Reader) -> bytes | list[object]:
    tag = r.pull_uint8()
    if tag == 0:
        return r.pull_opaque()
    if tag != 1:
        raise r.error("bad tag")
    return r.pull_vector(_pull_nested)


@given(nested)
def test_nested_structures_round_trip(value: bytes | list[object]) -> None:
    data = encode(lambda w: _push_nested(w, value))
    assert decode(data, _pull_nested) == value


@given(st.binary(max_size=64))
def test_random_bytes_raise_only_decode_error(data: bytes) -> None:
    try:
        value = decode(data, _pull_nested)
    except DecodeError:
        return
    assert encode(lambda w: _push_nested(w, value)) == data


def test_enum_and_utf8_fields() -> None:
    from enum import IntEnum

    class Color(IntEnum):
        RED = 1
        BLUE = 0x0102

    assert decode(b"\x01", lambda r: r.pull_enum(Color, "color")) is Color.RED
    assert decode(b"\x01\x02", lambda r: r.pull_enum(Color, "color", width=2)) is Color.BLUE
    with pytest.raises(DecodeError, match="unknown color 7") as info:
        decode(b"\x00\x07", lambda r: (r.pull_uint8(), r.pull_enum(Color, "color")))
    assert info.value.position == 1
    assert decode(b"\x02\xc3\xa9", lambda r: r.pull_utf8("name")) == "é"
    with pytest.raises(DecodeError, match="name is not UTF-8"):
        decode(b"\x01\xff", lambda r: r.pull_utf8("name"))
