"""The content format: golden bytes, round trips, forward compatibility, strict decoding."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from letterlock.client.content import (
    Content,
    ContentExtension,
    ContentType,
    Text,
    Unknown,
    decode_content,
    encode_content,
    text,
)
from letterlock.codec import DecodeError, EncodeError
from letterlock.crypto import SeededRandom

ID = bytes(range(16))

ids = st.binary(min_size=16, max_size=16)
bodies = st.one_of(
    st.text().map(Text),
    st.builds(Unknown, st.integers(0, 0xFFFF).filter(lambda t: t != ContentType.TEXT),
              st.binary(max_size=64)))
contents = st.builds(
    Content, ids, st.integers(0, 2**64 - 1), bodies, st.none() | ids,
    st.lists(st.builds(ContentExtension, st.integers(0, 0xFFFF), st.binary(max_size=32)),
             max_size=3).map(tuple))


def test_golden_text() -> None:
    content = Content(ID, 0x0102030405060708, Text("hi"))
    assert encode_content(content) == (
        b"\x01"                                  # version
        + b"\x00\x01"                            # content_type text
        + ID
        + bytes.fromhex("0102030405060708")      # sent_at_ms
        + b"\x00"                                # no reply_to
        + b"\x02hi"                              # body<V>
        + b"\x00")                               # no extensions


@given(contents)
def test_round_trip(content: Content) -> None:
    assert decode_content(encode_content(content)) == content


@given(st.binary(max_size=200))
def test_random_bytes_raise_only_decode_error(data: bytes) -> None:
    try:
        content = decode_content(data)
    except DecodeError:
        return
    assert encode_content(content) == data  # whatever decodes is canonical


@pytest.mark.parametrize("code", [c.value for c in ContentType if c != ContentType.TEXT]
                         + [0, 0x7FFF])
def test_unknown_and_reserved_types_decode_to_unknown(code: int) -> None:
    data = encode_content(Content(ID, 1, Unknown(code, b"\xff\x00future")))
    assert decode_content(data).body == Unknown(code, b"\xff\x00future")


def test_other_version_is_rejected() -> None:
    data = bytearray(encode_content(Content(ID, 1, Text("x"))))
    data[0] = 2
    with pytest.raises(DecodeError, match="version"):
        decode_content(bytes(data))


def test_text_must_be_utf8() -> None:
    data = encode_content(Content(ID, 1, Unknown(ContentType.TEXT + 0, b"\xff")))
    with pytest.raises(DecodeError, match="UTF-8"):
        decode_content(data)


def test_ids_must_be_16_bytes() -> None:
    with pytest.raises(EncodeError):
        Content(b"short", 1, Text("x"))
    with pytest.raises(EncodeError):
        Content(ID, 1, Text("x"), reply_to=b"short")


def test_text_helper_draws_a_fresh_id() -> None:
    rng = SeededRandom(b"content")
    first, second = (text("hi", rng=rng, sent_at_ms=5) for _ in range(2))
    assert first.client_message_id != second.client_message_id
    assert first.content_type == ContentType.TEXT
