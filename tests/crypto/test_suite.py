"""The MLS cipher suites: primitives, key formats, labeled functions, and tampering.

The official crypto-basics vectors run in tests/mls/test_conformance_vectors.py; here
is what they do not pin down: sizes, error behaviour on bad input, key formats, and
that a flipped bit anywhere is caught, for every suite.
"""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import given, settings
from hypothesis import strategies as st

from letterlock.codec import EncodeError
from letterlock.crypto import (
    KEY_PACKAGE_REF_LABEL,
    PROPOSAL_REF_LABEL,
    SUPPORTED_SUITES,
    CipherSuite,
    DecryptError,
    InvalidKeyError,
    SeededRandom,
    SignatureSchemeId,
    UnsupportedError,
    VerifyError,
    cipher_suite,
)
from letterlock.crypto._labeled import KDFLabel, SignContent
from letterlock.crypto.signature import _P256_ORDER, _P384_ORDER, _P521_ORDER

SUITES = [pytest.param(cipher_suite(i), id=f"suite{i}") for i in SUPPORTED_SUITES]

# (Nh, Nk, Nn, signature scheme) per RFC 9420 §17.1.
EXPECTED = {
    1: (32, 16, 12, SignatureSchemeId.ED25519),
    2: (32, 16, 12, SignatureSchemeId.ECDSA_SECP256R1_SHA256),
    3: (32, 32, 12, SignatureSchemeId.ED25519),
    4: (64, 32, 12, SignatureSchemeId.ED448),
    5: (64, 32, 12, SignatureSchemeId.ECDSA_SECP521R1_SHA512),
    6: (64, 32, 12, SignatureSchemeId.ED448),
    7: (48, 32, 12, SignatureSchemeId.ECDSA_SECP384R1_SHA384),
}


def flip(data: bytes, bit: int) -> bytes:
    """``data`` with one bit inverted (bit index modulo the length in bits)."""
    bit %= 8 * len(data)
    out = bytearray(data)
    out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out)


def test_the_seven_suites_and_nothing_else() -> None:
    assert SUPPORTED_SUITES == (1, 2, 3, 4, 5, 6, 7)
    for suite_id, (n_h, n_k, n_n, scheme) in EXPECTED.items():
        suite = cipher_suite(suite_id)
        assert (suite.suite_id, suite.n_h, suite.n_k, suite.n_n) == (suite_id, n_h, n_k, n_n)
        assert suite.signature.scheme_id is scheme
        assert suite.hpke.n_h == n_h and suite.hpke.n_k == n_k  # HPKE uses the suite's KDF/AEAD
        assert cipher_suite(suite_id) is suite
    for bad in (0, 8, 0x0A0A, 0xFFFF, -1, True):
        with pytest.raises(UnsupportedError):
            cipher_suite(bad)


def test_hkdf_matches_rfc5869_case_1() -> None:
    suite = cipher_suite(1)  # SHA-256
    prk = suite.kdf_extract(bytes(range(13)), b"\x0b" * 22)
    assert prk.hex() == "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5"
    okm = suite.kdf_expand(prk, bytes(range(0xF0, 0xFA)), 42)
    assert okm.hex() == ("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
                         "34007208d5b887185865")
    with pytest.raises(ValueError):
        suite.kdf_expand(prk, b"", 255 * 32 + 1)


def test_kdf_label_and_sign_content_golden_bytes() -> None:
    # KDFLabel: uint16 length, then "MLS 1.0 " + label and the context as opaque<V>.
    assert KDFLabel(32, b"MLS 1.0 tree", b"left").to_bytes().hex() == (
        "0020" + "0c" + b"MLS 1.0 tree".hex() + "04" + b"left".hex())
    assert SignContent(b"MLS 1.0 x", b"").to_bytes().hex() == "09" + b"MLS 1.0 x".hex() + "00"
    suite = cipher_suite(1)
    # DeriveSecret is ExpandWithLabel with an empty context and Nh bytes.
    assert suite.derive_secret(b"s" * 32, "x") == suite.expand_with_label(b"s" * 32, "x", b"", 32)
    # Labels may be given as str or bytes: MLS-Exporter labels are arbitrary bytes.
    assert suite.derive_secret(b"s" * 32, "x") == suite.derive_secret(b"s" * 32, b"x")


def test_labeled_inputs_match_their_structs() -> None:
    # The fast encoders write exactly what the codec structs write, for every length
    # class of the varint prefix (1, 2 and 4 bytes).
    from letterlock.crypto import _labeled

    for size in (0, 5, 63, 64, 300, 16383, 16384, 70000):
        value = bytes(range(256)) * (size // 256) + bytes(size % 256)
        assert _labeled.kdf_label("tree", value, 32) == \
            KDFLabel(32, b"MLS 1.0 tree", value).to_bytes()
        assert _labeled.sign_content(b"x", value) == \
            SignContent(b"MLS 1.0 x", value).to_bytes()
        assert _labeled.encrypt_context("y", value) == \
            _labeled.EncryptContext(b"MLS 1.0 y", value).to_bytes()
        assert _labeled.ref_hash_input(b"label", value) == \
            _labeled.RefHashInput(b"label", value).to_bytes()
    with pytest.raises(EncodeError):
        _labeled.kdf_label("x", b"", 1 << 16)


def test_derive_tree_secret_takes_a_uint32_generation() -> None:
    suite = cipher_suite(1)
    expected = suite.expand_with_label(b"s" * 32, "key", b"\x00\x00\x01\x02", 16)
    assert suite.derive_tree_secret(b"s" * 32, "key", 258, 16) == expected
    for bad in (-1, 1 << 32):
        with pytest.raises(ValueError):
            suite.derive_tree_secret(b"s" * 32, "key", bad, 16)


def test_ref_hash_uses_the_label_verbatim() -> None:
    suite = cipher_suite(2)
    value = b"some encoded KeyPackage"
    assert suite.make_key_package_ref(value) == suite.ref_hash(KEY_PACKAGE_REF_LABEL, value)
    assert suite.make_proposal_ref(value) == suite.ref_hash(PROPOSAL_REF_LABEL, value)
    assert suite.make_key_package_ref(value) != suite.make_proposal_ref(value)
    assert len(suite.make_key_package_ref(value)) == suite.n_h


@pytest.mark.parametrize("suite", SUITES)
def test_mac_detects_every_tampering(suite: CipherSuite) -> None:
    key, data = b"k" * suite.n_h, b"confirmed transcript hash"
    tag = suite.mac(key, data)
    assert len(tag) == suite.n_h
    suite.verify_mac(key, data, tag)
    for bad_key, bad_data, bad_tag in ((key, data, flip(tag, 0)), (key, data, tag[:-1]),
                                       (key, flip(data, 9), tag), (flip(key, 3), data, tag)):
        with pytest.raises(VerifyError):
            suite.verify_mac(bad_key, bad_data, bad_tag)


@pytest.mark.parametrize("suite", SUITES)
def test_aead_round_trip_and_every_flipped_bit_fails(suite: CipherSuite) -> None:
    key, nonce, aad, plaintext = b"K" * suite.n_k, b"N" * suite.n_n, b"aad", b"attack at dawn"
    ciphertext = suite.aead_seal(key, nonce, aad, plaintext)
    assert len(ciphertext) == len(plaintext) + 16
    assert suite.aead_open(key, nonce, aad, ciphertext) == plaintext
    for bit in range(8 * len(ciphertext)):
        with pytest.raises(DecryptError):
            suite.aead_open(key, nonce, aad, flip(ciphertext, bit))
    for bad in ((flip(key, 1), nonce, aad, ciphertext), (key, flip(nonce, 1), aad, ciphertext),
                (key, nonce, b"aae", ciphertext), (key, nonce, aad, ciphertext[:15]),
                (key, nonce, aad, b"")):
        with pytest.raises(DecryptError):
            suite.aead_open(*bad)


@pytest.mark.parametrize("suite", SUITES)
def test_aead_refuses_wrong_key_and_nonce_sizes(suite: CipherSuite) -> None:
    with pytest.raises(InvalidKeyError):
        suite.aead_seal(b"K" * 24, b"N" * suite.n_n, b"", b"x")  # AES-192 is no MLS AEAD
    with pytest.raises(InvalidKeyError):
        suite.aead_seal(b"K" * suite.n_k, b"N" * 16, b"", b"x")


@pytest.mark.parametrize("suite", SUITES)
def test_signatures_round_trip_and_tampering_fails(suite: CipherSuite) -> None:
    private, public = suite.generate_signature_key_pair(SeededRandom(b"sig"))
    # Deterministic from the rng: the same seed gives the same key pair.
    assert suite.generate_signature_key_pair(SeededRandom(b"sig")) == (private, public)
    assert suite.signature_public_key(private) == public
    message = b"a LeafNodeTBS"
    signature = suite.sign(private, message)
    suite.verify(public, message, signature)
    for bit in range(0, 8 * len(signature), 7):
        with pytest.raises(VerifyError):
            suite.verify(public, message, flip(signature, bit))
    with pytest.raises(VerifyError):
        suite.verify(public, flip(message, 5), signature)
    with pytest.raises(VerifyError):
        suite.verify(public, message, signature[:-1])
    _, other_public = suite.generate_signature_key_pair(SeededRandom(b"other"))
    with pytest.raises(VerifyError):
        suite.verify(other_public, message, signature)


@pytest.mark.parametrize("suite", SUITES)
def test_labels_separate_signatures(suite: CipherSuite) -> None:
    private, public = suite.generate_signature_key_pair(SeededRandom(b"labels"))
    signature = suite.sign_with_label(private, "LeafNodeTBS", b"content")
    suite.verify_with_label(public, "LeafNodeTBS", b"content", signature)
    with pytest.raises(VerifyError):
        suite.verify_with_label(public, "KeyPackageTBS", b"content", signature)
    with pytest.raises(VerifyError):  # the label is length-prefixed: no shifting bytes across
        suite.verify_with_label(public, "LeafNodeTB", b"Scontent", signature)


@pytest.mark.parametrize("suite", SUITES)
def test_malformed_public_keys_are_invalid_key_errors(suite: CipherSuite) -> None:
    private, public = suite.generate_signature_key_pair(SeededRandom(b"malformed"))
    signature = suite.sign(private, b"m")
    candidates = [public[:-1], public + b"\x00", b""]
    if public[0] == 0x04:  # ECDSA: compressed form, and a point off the curve
        size = (len(public) - 1) // 2
        compressed = bytes([2 + (public[-1] & 1)]) + public[1 : 1 + size]
        candidates += [compressed, public[:-1] + bytes([public[-1] ^ 1])]
    for bad in candidates:
        with pytest.raises(InvalidKeyError):
            suite.verify(bad, b"m", signature)


@pytest.mark.parametrize(
    ("suite_id", "curve", "order"),
    [(2, ec.SECP256R1(), _P256_ORDER), (5, ec.SECP521R1(), _P521_ORDER),
     (7, ec.SECP384R1(), _P384_ORDER)],
)
def test_ecdsa_private_scalars(suite_id: int, curve: ec.EllipticCurve, order: int) -> None:
    suite = cipher_suite(suite_id)
    size = (curve.key_size + 7) // 8
    # The order constants agree with pyca: n - 1 is a key, n is not.
    ec.derive_private_key(order - 1, curve)
    with pytest.raises(ValueError):
        ec.derive_private_key(order, curve)
    for bad in (bytes(size), order.to_bytes(size, "big"), b"\x01" * (size + 1), b""):
        with pytest.raises(InvalidKeyError):
            suite.sign(bad, b"m")
    # Scalars with their leading zero bytes dropped (as other stacks write them) load.
    small = (5).to_bytes(size, "big")
    assert suite.signature_public_key(small) == suite.signature_public_key(b"\x05")
    # Generated scalars are always written at full size.
    private, public = suite.generate_signature_key_pair(SeededRandom(b"scalar"))
    assert len(private) == size and len(public) == 1 + 2 * size and public[0] == 4


@pytest.mark.parametrize("suite", SUITES)
def test_encrypt_with_label_round_trip_and_binding(suite: CipherSuite) -> None:
    private, public = suite.hpke.generate_key_pair(SeededRandom(b"hpke"))
    kem_output, ciphertext = suite.encrypt_with_label(
        public, "UpdatePathNode", b"group context", b"path secret", SeededRandom(b"enc"))
    assert suite.decrypt_with_label(private, "UpdatePathNode", b"group context", kem_output,
                                    ciphertext) == b"path secret"
    for label, context, kem, ct in (("Welcome", b"group context", kem_output, ciphertext),
                                    ("UpdatePathNode", b"other", kem_output, ciphertext),
                                    ("UpdatePathNode", b"group context", kem_output,
                                     flip(ciphertext, 3))):
        with pytest.raises(DecryptError):
            suite.decrypt_with_label(private, label, context, kem, ct)


@pytest.mark.parametrize("suite", SUITES)
def test_encrypt_with_label_each_is_encrypt_with_label_for_each(suite: CipherSuite) -> None:
    # The batch form prepares the context once; its output is byte for byte that of
    # one call per recipient drawing from the same random stream.
    pairs = [suite.hpke.generate_key_pair(SeededRandom(b"r%d" % i)) for i in range(3)]
    recipients = [(public, b"secret %d" % i) for i, (_, public) in enumerate(pairs)]
    context = bytes(70000)  # a Welcome's context: the whole encrypted GroupInfo
    batch = suite.encrypt_with_label_each(recipients, "Welcome", context,
                                          SeededRandom(b"enc"))
    rng = SeededRandom(b"enc")
    one_by_one = [suite.encrypt_with_label(public, "Welcome", context, plaintext, rng)
                  for public, plaintext in recipients]
    assert batch == one_by_one
    for (private, _), (kem_output, ciphertext), (_, plaintext) in zip(
            pairs, batch, recipients, strict=True):
        assert suite.decrypt_with_label(private, "Welcome", context, kem_output,
                                        ciphertext) == plaintext
    assert suite.encrypt_with_label_each([], "Welcome", context, rng) == []


@pytest.mark.parametrize("suite", SUITES)
def test_derive_key_pair_is_hpke_derive_key_pair(suite: CipherSuite) -> None:
    private, public = suite.derive_key_pair(b"i" * suite.n_h)
    assert suite.hpke.public_key(private) == public
    assert suite.derive_key_pair(b"i" * suite.n_h) == (private, public)


@settings(max_examples=30, deadline=None)
@given(message=st.binary(max_size=64), bit=st.integers(min_value=0))
def test_any_flipped_signature_bit_fails_ed25519(message: bytes, bit: int) -> None:
    suite = cipher_suite(1)
    private, public = suite.generate_signature_key_pair(SeededRandom(b"prop"))
    signature = suite.sign_with_label(private, "label", message)
    with pytest.raises(VerifyError):
        suite.verify_with_label(public, "label", message, flip(signature, bit))


@pytest.mark.parametrize("suite_id", [1, 2, 4, 5, 7])
def test_signing_key_signs_like_its_bytes(suite_id: int) -> None:
    # A SigningKey is the same key, parsed once; it keeps no global state and shows no bytes.
    suite = cipher_suite(suite_id)
    private, public = suite.generate_signature_key_pair(SeededRandom(b"sk"))
    key = suite.signing_key(private)
    assert suite.signing_key(key) is key
    assert key.raw == private and private.hex() not in repr(key)
    assert suite.signature_public_key(key) == public
    suite.verify_with_label(public, "L", b"m", suite.sign_with_label(key, "L", b"m"))
    other = cipher_suite(3 if suite_id != 3 else 1)
    if other.signature.scheme_id != suite.signature.scheme_id:
        with pytest.raises(InvalidKeyError):
            other.sign(key, b"m")
