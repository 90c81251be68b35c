"""Mailbox envelopes round-trip, and only DecodeError escapes their decoder."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from letterlock.codec import DecodeError
from letterlock.protocol.envelope import Envelope, EnvelopeKind

envelopes = st.builds(Envelope, st.sampled_from(EnvelopeKind), st.binary(max_size=40),
                      st.integers(0, 2**64 - 1), st.text(max_size=40),
                      st.binary(max_size=200))


@given(envelopes)
def test_round_trip(envelope: Envelope) -> None:
    assert Envelope.from_bytes(envelope.to_bytes()) == envelope


@given(st.binary(max_size=120))
def test_random_bytes_only_decode_error(data: bytes) -> None:
    try:
        envelope = Envelope.from_bytes(data)
    except DecodeError:
        return
    assert envelope.to_bytes() == data


def test_golden_and_strict() -> None:
    e = Envelope(EnvelopeKind.APPLICATION, b"g", 7, "dev", b"m")
    assert e.to_bytes().hex() == "0001" "02" "0167" "0000000000000007" "03646576" "016d"
    with pytest.raises(DecodeError, match="version"):
        Envelope.from_bytes(bytes.fromhex("0002") + e.to_bytes()[2:])
    with pytest.raises(DecodeError, match="kind"):
        Envelope.from_bytes(bytes.fromhex("000109") + e.to_bytes()[3:])
    with pytest.raises(DecodeError, match="trailing"):
        Envelope.from_bytes(e.to_bytes() + b"\x00")
