"""HPKE private-key loading: short NIST-curve scalars (leading zeros dropped).

RFC 9180 §7.1.2 serializes a NIST-curve private key as exactly Nsk bytes, and we always
write it so. Other MLS implementations drop leading zero bytes, and the official
passive-client vectors carry such 65-byte P-521 keys; we read them as left-padded and
still refuse scalars outside 0 < sk < order.
"""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from conftest import MLS_VECTORS, load_vectors
from letterlock.crypto import InvalidKeyError, SeededRandom, cipher_suite
from letterlock.crypto._dhkem import Dhkem, KemId, dhkem
from letterlock.mls.key_package import KeyPackage
from letterlock.mls.mls_message import MLSMessage

P521 = dhkem(KemId.DHKEM_P521_SHA512)
P256 = dhkem(KemId.DHKEM_P256_SHA256)
NIST = [
    (KemId.DHKEM_P256_SHA256, ec.SECP256R1()),
    (KemId.DHKEM_P384_SHA384, ec.SECP384R1()),
    (KemId.DHKEM_P521_SHA512, ec.SECP521R1()),
]


def _key_with_leading_zero(kem_id: KemId) -> tuple[bytes, bytes]:
    # P-521's first byte is masked to one bit by DeriveKeyPair, so half of all keys
    # start with 0x00; for P-256/P-384 one in 256 does. Search deterministically.
    kem = dhkem(kem_id)
    for i in range(10_000):
        private_key, public_key = kem.derive_key_pair(i.to_bytes(4, "big") * 8)
        if private_key[0] == 0:
            return private_key, public_key
    raise AssertionError("no key with a leading zero byte found")


@pytest.mark.parametrize(("kem_id", "curve"), NIST, ids=lambda v: getattr(v, "name", ""))
def test_short_scalar_loads_as_left_padded(kem_id: KemId, curve: ec.EllipticCurve) -> None:
    kem = dhkem(kem_id)
    assert isinstance(kem, Dhkem)
    private_key, public_key = _key_with_leading_zero(kem_id)
    assert len(private_key) == kem.n_sk  # written at full Nsk
    short = private_key.lstrip(b"\x00")
    assert len(short) < kem.n_sk
    assert kem.public_key(short) == public_key
    # DH agrees whichever form of the private key is used.
    peer_private, peer_public = kem.derive_key_pair(b"peer" * 16)
    assert kem.dh(short, peer_public) == kem.dh(private_key, peer_public)
    assert kem.dh(peer_private, public_key) == kem.dh(short, peer_public)


def test_short_p521_key_decrypts_what_was_sealed_to_it() -> None:
    suite = cipher_suite(5)
    private_key, public_key = _key_with_leading_zero(KemId.DHKEM_P521_SHA512)
    short = private_key.lstrip(b"\x00")
    enc, ct = suite.hpke.seal(public_key, b"info", b"aad", b"hello", SeededRandom(b"s"))
    assert suite.hpke.open(enc, short, b"info", b"aad", ct) == b"hello"
    kem_output, ct2 = suite.encrypt_with_label(public_key, "Welcome", b"ctx", b"m",
                                               SeededRandom(b"t"))
    assert suite.decrypt_with_label(short, "Welcome", b"ctx", kem_output, ct2) == b"m"


def test_derived_keys_are_always_full_size() -> None:
    for i in range(64):
        private_key, _ = P521.derive_key_pair(bytes([i]) * 66)
        assert len(private_key) == P521.n_sk == 66


@pytest.mark.parametrize(
    "private_key",
    [
        b"",  # no scalar at all
        b"\x00",  # zero
        bytes(66),  # zero at full size
        b"\x01" + bytes(66),  # one byte too long, even though the value is small
        ec.SECP521R1().group_order.to_bytes(66, "big"),  # sk == order
        (ec.SECP521R1().group_order + 1).to_bytes(66, "big"),
        b"\xff" * 66,  # far above the order
    ],
    ids=["empty", "zero-short", "zero-full", "too-long", "order", "order+1", "all-ff"],
)
def test_out_of_range_p521_scalars_are_refused(private_key: bytes) -> None:
    with pytest.raises(InvalidKeyError):
        P521.public_key(private_key)
    with pytest.raises(InvalidKeyError):
        cipher_suite(5).hpke.public_key(private_key)


def test_order_minus_one_is_the_largest_valid_scalar() -> None:
    order = ec.SECP256R1().group_order
    P256.public_key((order - 1).to_bytes(32, "big"))
    assert P256.public_key(b"\x01") == P256.public_key(bytes(31) + b"\x01")


def test_passive_client_vector_keys_match_their_key_packages() -> None:
    cases = load_vectors(MLS_VECTORS, "passive-client-welcome.json")
    if cases is None:
        pytest.skip("passive-client-welcome.json not found")
    short_seen = 0
    for case in cases:
        suite = cipher_suite(case["cipher_suite"])
        message = MLSMessage.from_bytes(bytes.fromhex(case["key_package"]))
        assert isinstance(message.body, KeyPackage)
        key_package = message.body
        init_priv = bytes.fromhex(case["init_priv"])
        encryption_priv = bytes.fromhex(case["encryption_priv"])
        short_seen += (len(init_priv) < suite.hpke.n_sk) + (
            len(encryption_priv) < suite.hpke.n_sk
        )
        assert suite.hpke.public_key(init_priv) == key_package.init_key
        assert suite.hpke.public_key(encryption_priv) == key_package.leaf_node.encryption_key
    # The file really exercises the short form (suite 5 has several 65-byte keys).
    assert short_seen > 0
