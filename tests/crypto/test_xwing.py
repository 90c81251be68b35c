"""X-Wing (ML-KEM-768 + X25519) as an HPKE KEM, and the draft MLS suite on top of it.

Order of trust: key derivation recomputed directly on pyca's SHAKE256/ML-KEM/X25519;
the combiner recomputed on pyca's SHA3-256; then both directions of agreement with
pyca's own HPKE (``hpke.Suite(KEM.MLKEM768_X25519, ...)``); then the exporter, the MLS
labeled functions and the external-init path; last, errors and a hypothesis property.
"""

from __future__ import annotations

import contextlib

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hpke as pyca_hpke
from cryptography.hazmat.primitives.asymmetric import mlkem, x25519
from hypothesis import given, settings
from hypothesis import strategies as st

from letterlock.crypto import (
    DecryptError,
    InvalidKeyError,
    SeededRandom,
    UnsupportedError,
    cipher_suite,
)
from letterlock.crypto._dhkem import dhkem
from letterlock.crypto._xwing import XWING_KEM_ID, XWING_LABEL, XWingKem, expand_private_key
from letterlock.crypto.hpke import AeadId, Hpke, KdfId, KemId
from letterlock.crypto.suite import DRAFT_SUITES, SUPPORTED_SUITES
from letterlock.mls.key_schedule import ExternalSecret, InitSecret

XWING_SUITE_ID = 0x0053
KEM = XWingKem()
HPKE_AES = Hpke(KemId.XWING, KdfId.HKDF_SHA512, AeadId.AES_256_GCM)
HPKE_CHACHA = Hpke(KemId.XWING, KdfId.HKDF_SHA256, AeadId.CHACHA20_POLY1305)
PYCA = {
    HPKE_AES: pyca_hpke.Suite(pyca_hpke.KEM.MLKEM768_X25519, pyca_hpke.KDF.HKDF_SHA512,
                              pyca_hpke.AEAD.AES_256_GCM),
    HPKE_CHACHA: pyca_hpke.Suite(pyca_hpke.KEM.MLKEM768_X25519, pyca_hpke.KDF.HKDF_SHA256,
                                 pyca_hpke.AEAD.CHACHA20_POLY1305),
}
PROPERTY = settings(max_examples=25, deadline=None)


def _shake256(data: bytes, n: int) -> bytes:
    h = hashes.Hash(hashes.SHAKE256(n))
    h.update(data)
    return h.finalize()


def _pyca_private(seed: bytes) -> pyca_hpke.MLKEM768X25519PrivateKey:
    expanded = _shake256(seed, 96)
    return pyca_hpke.MLKEM768X25519PrivateKey(
        mlkem.MLKEM768PrivateKey.from_seed_bytes(expanded[:64]),
        x25519.X25519PrivateKey.from_private_bytes(expanded[64:]))


def _pyca_public(public_key: bytes) -> pyca_hpke.MLKEM768X25519PublicKey:
    # Parsing our serialized public key checks its layout: ML-KEM key, then X25519 key.
    return pyca_hpke.MLKEM768X25519PublicKey(
        mlkem.MLKEM768PublicKey.from_public_bytes(public_key[:1184]),
        x25519.X25519PublicKey.from_public_bytes(public_key[1184:]))


# ---- identifiers, sizes, key derivation -------------------------------------------------


def test_identifiers_and_sizes() -> None:
    assert XWING_KEM_ID == 0x647A
    assert KemId.XWING.value == XWING_KEM_ID
    assert XWING_LABEL.hex() == "5c2e2f2f5e5c"
    assert dhkem(KemId.XWING).kem_id == 0x647A
    assert (HPKE_AES.n_secret, HPKE_AES.n_enc, HPKE_AES.n_pk, HPKE_AES.n_sk) == (
        32, 1120, 1216, 32)
    assert pyca_hpke.KEM.MLKEM768_X25519.enc_length() == HPKE_AES.n_enc
    suite = cipher_suite(XWING_SUITE_ID)
    assert suite.name == "MLS_256_XWING_AES256GCM_SHA512_Ed25519"
    assert (suite.n_h, suite.n_k, suite.n_n) == (64, 32, 12)
    assert suite.hpke.kem == KemId.XWING
    # Opt-in: the draft suites are never among the RFC 9420 suites we offer by default.
    # 0xF001/0xF002 are the draft's own X-Wing suites on private-use code points.
    assert DRAFT_SUITES == (XWING_SUITE_ID, 0xF001, 0xF002)
    assert not set(DRAFT_SUITES) & set(SUPPORTED_SUITES)
    assert cipher_suite(0xF001).name == "MLS_128_MLKEM768X25519_AES128GCM_SHA256_Ed25519"
    assert (cipher_suite(0xF001).n_h, cipher_suite(0xF001).n_k) == (32, 16)
    assert (cipher_suite(0xF002).n_h, cipher_suite(0xF002).n_k) == (48, 32)


@pytest.mark.parametrize("ikm", [b"", b"\x00" * 32, bytes(range(64))])
def test_derive_key_pair_recomputed_on_pyca(ikm: bytes) -> None:
    private_key, public_key = KEM.derive_key_pair(ikm)
    # DeriveKeyPair: seed = SHAKE256(ikm, 32); the seed expands with SHAKE256 to 96 bytes.
    assert private_key == _shake256(ikm, 32)
    expanded = _shake256(private_key, 96)
    pk_m = mlkem.MLKEM768PrivateKey.from_seed_bytes(expanded[:64]).public_key()
    pk_x = x25519.X25519PrivateKey.from_private_bytes(expanded[64:]).public_key()
    assert public_key == pk_m.public_bytes_raw() + pk_x.public_bytes_raw()
    assert KEM.public_key(private_key) == public_key
    assert HPKE_AES.derive_key_pair(ikm) == (private_key, public_key)


def test_combiner_recomputed_on_pyca() -> None:
    private_key, public_key = KEM.derive_key_pair(b"recipient")
    ephemeral = bytes(range(32))
    shared, enc = KEM.encap(public_key, ephemeral)
    assert KEM.decap(enc, private_key) == shared
    key_m, key_x = expand_private_key(private_key)
    ss_m = key_m.decapsulate(enc[:1088])
    ct_x = enc[1088:]
    assert ct_x == x25519.X25519PrivateKey.from_private_bytes(ephemeral).public_key() \
        .public_bytes_raw()
    ss_x = key_x.exchange(x25519.X25519PublicKey.from_public_bytes(ct_x))
    digest = hashes.Hash(hashes.SHA3_256())
    digest.update(ss_m + ss_x + ct_x + public_key[1184:] + b"\\.//^\\")
    assert shared == digest.finalize()


# ---- agreement with pyca's HPKE ---------------------------------------------------------


@pytest.mark.parametrize("suite", list(PYCA), ids=["aes256gcm-sha512", "chacha-sha256"])
def test_pyca_opens_what_we_seal(suite: Hpke) -> None:
    private_key, public_key = suite.derive_key_pair(b"bob")
    enc, ciphertext = suite.seal(public_key, b"info", b"", b"to pyca", SeededRandom(b"r"))
    assert PYCA[suite].decrypt(enc + ciphertext, _pyca_private(private_key), b"info") \
        == b"to pyca"


@pytest.mark.parametrize("suite", list(PYCA), ids=["aes256gcm-sha512", "chacha-sha256"])
def test_we_open_what_pyca_seals(suite: Hpke) -> None:
    private_key, public_key = suite.derive_key_pair(b"alice")
    blob = PYCA[suite].encrypt(b"from pyca", _pyca_public(public_key), b"ctx")
    enc, ciphertext = blob[:suite.n_enc], blob[suite.n_enc:]
    assert suite.open(enc, private_key, b"ctx", b"", ciphertext) == b"from pyca"
    with pytest.raises(DecryptError):
        suite.open(enc, private_key, b"other info", b"", ciphertext)


def test_encryption_is_not_reproducible_from_the_rng() -> None:
    # Documented limitation: pyca's ML-KEM encapsulate() draws its own randomness.
    _, public_key = KEM.derive_key_pair(b"k")
    enc1, _ = HPKE_AES.seal(public_key, b"", b"", b"m", SeededRandom(b"same"))
    enc2, _ = HPKE_AES.seal(public_key, b"", b"", b"m", SeededRandom(b"same"))
    assert enc1[1088:] == enc2[1088:]  # the X25519 half follows the injected randomness
    assert enc1[:1088] != enc2[:1088]  # the ML-KEM half does not


# ---- exporter, PSK mode, MLS ------------------------------------------------------------


def test_exporter_and_psk_mode() -> None:
    private_key, public_key = HPKE_AES.derive_key_pair(b"exp")
    enc, sender = HPKE_AES.setup_sender(public_key, b"info", SeededRandom(b"e"))
    receiver = HPKE_AES.setup_receiver(enc, private_key, b"info")
    assert sender.export(b"label", 64) == receiver.export(b"label", 64)
    psk = bytes(range(32))
    enc, sender = HPKE_AES.setup_sender(public_key, b"", SeededRandom(b"p"), psk=psk,
                                        psk_id=b"id")
    receiver = HPKE_AES.setup_receiver(enc, private_key, b"", psk=psk, psk_id=b"id")
    assert receiver.open(b"a", sender.seal(b"a", b"pt")) == b"pt"


def test_mls_labeled_encryption_and_external_init() -> None:
    suite = cipher_suite(XWING_SUITE_ID)
    private_key, public_key = suite.derive_key_pair(b"leaf")
    kem_output, ct = suite.encrypt_with_label(public_key, "UpdatePathNode", b"gc", b"ps",
                                              SeededRandom(b"x"))
    assert suite.decrypt_with_label(private_key, "UpdatePathNode", b"gc", kem_output, ct) \
        == b"ps"
    with pytest.raises(DecryptError):
        suite.decrypt_with_label(private_key, "Welcome", b"gc", kem_output, ct)
    # RFC 9420 §8.3: an external joiner exports init_secret; members import it.
    external = ExternalSecret(bytes(64))
    kem_output, joiner_init = InitSecret.external_init(suite, external.external_pub(suite),
                                                       SeededRandom(b"j"))
    assert external.init_secret_from(suite, kem_output) == joiner_init


# ---- errors -------------------------------------------------------------------------------


def test_malformed_keys_and_encs() -> None:
    private_key, public_key = KEM.derive_key_pair(b"e")
    rng = SeededRandom(b"z")
    for bad_public in (public_key[:-1], public_key + b"\x00",
                       b"\xff" * 1184 + public_key[1184:],  # coefficients >= q
                       public_key[:1184] + bytes(32)):  # low-order X25519 point
        with pytest.raises(InvalidKeyError):
            HPKE_AES.seal(bad_public, b"", b"", b"m", rng)
    for bad_private in (b"", private_key + b"\x00"):
        with pytest.raises(InvalidKeyError):
            HPKE_AES.public_key(bad_private)
    enc, ct = HPKE_AES.seal(public_key, b"", b"", b"m", rng)
    for bad_enc in (enc[:-1], enc + b"\x00", enc[:1088] + bytes(32),
                    bytes([enc[0] ^ 1]) + enc[1:]):  # ML-KEM implicit rejection
        with pytest.raises(DecryptError):
            HPKE_AES.open(bad_enc, private_key, b"", b"", ct)
    # X-Wing has no authenticated mode (no AuthEncap/AuthDecap).
    with pytest.raises(UnsupportedError):
        HPKE_AES.setup_sender(public_key, b"", rng, sender_private_key=private_key)
    with pytest.raises(UnsupportedError):
        HPKE_AES.setup_receiver(enc, private_key, b"", sender_public_key=public_key)


@given(junk=st.binary(max_size=1300), sized=st.booleans())
@PROPERTY
def test_random_bytes_raise_only_documented_errors(junk: bytes, sized: bool) -> None:
    if sized:
        junk = (junk * 1216)[:1216] if junk else bytes(1216)
    private_key, _ = KEM.derive_key_pair(junk)
    with contextlib.suppress(InvalidKeyError):
        HPKE_AES.seal(junk, b"", b"", b"m", SeededRandom(junk))
    with pytest.raises(DecryptError):
        HPKE_AES.open(junk[:1120], private_key, b"", b"", bytes(48))
    with contextlib.suppress(InvalidKeyError):
        HPKE_AES.public_key(junk)
