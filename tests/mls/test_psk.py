"""Pre-shared keys (RFC 9420 §8.4): PreSharedKeyID's strict codec and psk_secret."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from letterlock.codec import DecodeError
from letterlock.crypto import cipher_suite
from letterlock.mls.constants import PSKType, ResumptionPSKUsage
from letterlock.mls.errors import InvalidMessageError, UsageError
from letterlock.mls.key_schedule import PskSecret
from letterlock.mls.psk import (
    InvalidPskNonceError,
    PreSharedKeyID,
    Psk,
    PSKLabel,
    check_psk_nonce,
    psk_secret,
)

SUITE = cipher_suite(1)
NONCE = b"n" * 32

external_ids = st.builds(PreSharedKeyID.external, st.binary(max_size=80), st.binary(max_size=80))
resumption_ids = st.builds(
    PreSharedKeyID.resumption,
    st.sampled_from(ResumptionPSKUsage),
    st.binary(max_size=80),
    st.integers(min_value=0, max_value=(1 << 64) - 1),
    st.binary(max_size=80),
)
psk_ids = external_ids | resumption_ids


def test_golden_bytes() -> None:
    external = PreSharedKeyID.external(b"id", b"nn")
    assert external.to_bytes().hex() == "01" + "02" + b"id".hex() + "02" + b"nn".hex()
    resumption = PreSharedKeyID.resumption(ResumptionPSKUsage.REINIT, b"g", 7, b"")
    expected = "02" + "02" + "01" + b"g".hex() + "0000000000000007" + "00"
    assert resumption.to_bytes().hex() == expected
    label = PSKLabel(external, 1, 3)
    assert label.to_bytes() == external.to_bytes() + bytes.fromhex("00010003")
    assert PSKLabel.from_bytes(label.to_bytes()) == label


@given(psk_ids)
def test_round_trip_is_byte_exact(psk_id: PreSharedKeyID) -> None:
    encoded = psk_id.to_bytes()
    decoded = PreSharedKeyID.from_bytes(encoded)
    assert decoded == psk_id
    assert decoded.to_bytes() == encoded


@given(st.binary(max_size=120))
def test_random_bytes_raise_only_decode_error(data: bytes) -> None:
    try:
        decoded = PreSharedKeyID.from_bytes(data)
    except DecodeError:
        return
    assert decoded.to_bytes() == data  # whatever decodes is the one canonical encoding


@pytest.mark.parametrize(
    "encoded",
    [
        "00" + "00" + "00",  # psktype reserved(0)
        "03" + "00" + "00",  # psktype unknown
        "02" + "00" + "00" + "0000000000000000" + "00",  # usage reserved(0)
        "02" + "04" + "00" + "0000000000000000" + "00",  # usage unknown
        "01" + "02" + "6964",  # psk_nonce missing
        "01" + "00" + "00" + "ff",  # trailing byte
        "01" + "4002" + "6964" + "00",  # non-minimal length prefix
    ],
)
def test_malformed_ids_are_decode_errors(encoded: str) -> None:
    with pytest.raises(DecodeError):
        PreSharedKeyID.from_bytes(bytes.fromhex(encoded))


def test_fields_must_match_the_type() -> None:
    with pytest.raises(UsageError):
        PreSharedKeyID(psktype=PSKType.EXTERNAL, psk_nonce=NONCE)  # no psk_id
    with pytest.raises(UsageError):
        PreSharedKeyID(psktype=PSKType.RESUMPTION, psk_nonce=NONCE, psk_id=b"x")


def test_no_psk_is_the_zero_secret() -> None:
    assert psk_secret(SUITE, []) == PskSecret.zero(SUITE)
    assert psk_secret(cipher_suite(4), []).value == bytes(64)


def test_order_count_and_value_all_matter() -> None:
    a = Psk(PreSharedKeyID.external(b"a", NONCE), b"secret a")
    b = Psk(PreSharedKeyID.external(b"b", NONCE), b"secret b")
    results = {
        psk_secret(SUITE, [a, b]).value,
        psk_secret(SUITE, [b, a]).value,
        psk_secret(SUITE, [a]).value,
        psk_secret(SUITE, [a, a]).value,
        psk_secret(SUITE, [Psk(a.id, b"other")]).value,
        psk_secret(SUITE, [Psk(PreSharedKeyID.external(b"a", b"m" * 32), b"secret a")]).value,
        bytes(32),
    }
    assert len(results) == 7
    assert "secret a" not in repr(a)


def test_nonce_must_be_nh_bytes() -> None:
    short = PreSharedKeyID.external(b"a", b"n" * 31)
    with pytest.raises(InvalidPskNonceError) as info:
        check_psk_nonce(SUITE, short)
    assert isinstance(info.value, InvalidMessageError) and info.value.rule == "RFC 9420 §8.4"
    check_psk_nonce(cipher_suite(7), PreSharedKeyID.external(b"a", b"n" * 48))
    with pytest.raises(InvalidPskNonceError):
        psk_secret(SUITE, [Psk(short, b"k")])


@given(psk_ids, st.integers(min_value=0), st.integers(min_value=0, max_value=255),
       st.sampled_from(["replace", "truncate", "append"]))
def test_mutated_encodings_raise_only_decode_error(
    psk_id: PreSharedKeyID, position: int, byte: int, how: str
) -> None:
    data = bytearray(psk_id.to_bytes())
    i = position % len(data)
    if how == "replace":
        data[i] = byte
    elif how == "truncate":
        del data[i:]
    else:
        data.append(byte)
    try:
        decoded = PreSharedKeyID.from_bytes(bytes(data))
    except DecodeError:
        return
    assert decoded.to_bytes() == bytes(data)
