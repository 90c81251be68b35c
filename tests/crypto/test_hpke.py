"""HPKE (RFC 9180): the Appendix A vectors, X448, properties, and agreement with pyca.

Order of trust: first every official vector case field by field; then X448, which the
appendix lacks, by round trip and by recomputing §7.1.3 with pyca directly; then
hypothesis properties asserting that only documented errors escape; last, both
directions of interoperation with pyca's own HPKE.
"""

from __future__ import annotations

import contextlib
import re
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives import hpke as pyca_hpke
from cryptography.hazmat.primitives.asymmetric import ec, x448, x25519
from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import HPKE_VECTORS, need_case, vector_params
from letterlock.crypto._dhkem import dhkem
from letterlock.crypto._errors import DecryptError, InvalidKeyError, UnsupportedError
from letterlock.crypto.hpke import (
    AeadId,
    ExportOnlyError,
    Hpke,
    HpkeUsageError,
    KdfId,
    KemId,
    MessageLimitReachedError,
    Mode,
    PskInputError,
    ReceiverContext,
    SenderContext,
)
from letterlock.crypto.random import SeededRandom

VECTOR_FILE = "rfc9180-test-vectors.json"

# The HPKE parts of the MLS cipher suites (RFC 9420 §17.1), suites 1 to 7.
MLS_SUITES = [
    (KemId.DHKEM_X25519_SHA256, KdfId.HKDF_SHA256, AeadId.AES_128_GCM),
    (KemId.DHKEM_P256_SHA256, KdfId.HKDF_SHA256, AeadId.AES_128_GCM),
    (KemId.DHKEM_X25519_SHA256, KdfId.HKDF_SHA256, AeadId.CHACHA20_POLY1305),
    (KemId.DHKEM_X448_SHA512, KdfId.HKDF_SHA512, AeadId.AES_256_GCM),
    (KemId.DHKEM_P521_SHA512, KdfId.HKDF_SHA512, AeadId.AES_256_GCM),
    (KemId.DHKEM_X448_SHA512, KdfId.HKDF_SHA512, AeadId.CHACHA20_POLY1305),
    (KemId.DHKEM_P384_SHA384, KdfId.HKDF_SHA384, AeadId.AES_256_GCM),
]
SUITES = {ids: Hpke(*ids) for ids in MLS_SUITES}
PSK = bytes(range(32))
PSK_ID = b"psk id"

PROPERTY = settings(max_examples=50, deadline=None)


def suite_strategy() -> st.SearchStrategy[Hpke]:
    return st.sampled_from(list(SUITES.values()))


# ---- RFC 9180 Appendix A --------------------------------------------------------------


def _field(case: dict[str, Any], name: str) -> bytes:
    return bytes.fromhex(case.get(name, ""))


def _expect(case: dict[str, Any], field: str, got: bytes, want: bytes) -> None:
    # Vector values are public; showing them makes a mismatch easy to chase.
    if got != want:
        pytest.fail(f"{case['name']}: {field} mismatch: got {got.hex()}, want {want.hex()}")


# The shared vector file was converted mechanically from the RFC's "key: value" text and
# an empty exporter_context swallowed the next line, so entries read "<hex>L: 32" rather
# than carrying a separate "L". Both spellings are accepted; anything else fails.
_MERGED_EXPORT = re.compile(r"([0-9a-fA-F]*)L: ?(\d+)")


def _export_input(entry: dict[str, Any]) -> tuple[bytes, int]:
    if "L" in entry:
        return bytes.fromhex(entry["exporter_context"]), int(entry["L"])
    match = _MERGED_EXPORT.fullmatch(entry["exporter_context"])
    if match is None:
        pytest.fail(f"unreadable export entry {entry!r}")
    return bytes.fromhex(match.group(1)), int(match.group(2))


def _check_key_pair(case: dict[str, Any], suite: Hpke, who: str) -> tuple[bytes, bytes]:
    private, public = suite.derive_key_pair(_field(case, f"ikm{who}"))
    _expect(case, f"sk{who}m", private, _field(case, f"sk{who}m"))
    _expect(case, f"pk{who}m", public, _field(case, f"pk{who}m"))
    _expect(case, f"public_key(sk{who}m)", suite.public_key(private), public)
    return private, public


def _check_schedule(case: dict[str, Any], role: str, ctx: SenderContext | ReceiverContext) -> None:
    schedule = ctx._schedule
    for field in ("key_schedule_context", "secret", "key", "base_nonce", "exporter_secret"):
        _expect(case, f"{role} {field}", getattr(schedule, field), _field(case, field))
    assert ctx.mode == Mode(case["mode"]), f"{case['name']}: {role} mode"


@pytest.mark.vectors
@pytest.mark.parametrize("case", vector_params(HPKE_VECTORS, VECTOR_FILE))
def test_rfc9180_vector(case: Any) -> None:
    data = need_case(case)
    suite = Hpke(KemId(data["kem_id"]), KdfId(data["kdf_id"]), AeadId(data["aead_id"]))
    sk_e, _ = _check_key_pair(data, suite, "E")
    sk_r, pk_r = _check_key_pair(data, suite, "R")
    sk_s, pk_s = _check_key_pair(data, suite, "S") if "ikmS" in data else (None, None)
    info, psk, psk_id = _field(data, "info"), _field(data, "psk"), _field(data, "psk_id")

    kem = dhkem(suite.kem)
    shared, enc = kem.encap(pk_r, sk_e, sk_s)
    _expect(data, "enc", enc, _field(data, "enc"))
    _expect(data, "shared_secret (encap)", shared, _field(data, "shared_secret"))
    _expect(data, "shared_secret (decap)", kem.decap(enc, sk_r, pk_s), shared)

    enc, sender = suite._setup_sender_with_ephemeral(
        pk_r, info, sk_e, psk=psk, psk_id=psk_id, sender_private_key=sk_s
    )
    _expect(data, "enc (setup)", enc, _field(data, "enc"))
    receiver = suite.setup_receiver(enc, sk_r, info, psk=psk, psk_id=psk_id, sender_public_key=pk_s)
    _check_schedule(data, "sender", sender)
    _check_schedule(data, "receiver", receiver)

    for entry in data["encryptions"]:
        seq = entry["sequence_number"]
        aad, pt, ct = (bytes.fromhex(entry[k]) for k in ("aad", "pt", "ct"))
        # The appendix lists a sample of sequence numbers (0, 1, 2, 4, 255, 256): jump
        # each context straight to the listed one.
        sender._seq = receiver._seq = seq
        _expect(data, f"nonce[{seq}]", sender._compute_nonce(seq), bytes.fromhex(entry["nonce"]))
        _expect(data, f"ct[{seq}]", sender.seal(aad, pt), ct)
        _expect(data, f"pt[{seq}]", receiver.open(aad, ct), pt)
        assert sender.sequence_number == receiver.sequence_number == seq + 1
        if seq == 0 and data["mode"] == Mode.BASE:
            _expect(data, "single-shot open", suite.open(enc, sk_r, info, aad, ct), pt)

    for entry in data["exports"]:
        context, length = _export_input(entry)
        want = bytes.fromhex(entry["exported_value"])
        _expect(data, f"sender export({context.hex()})", sender.export(context, length), want)
        _expect(data, f"receiver export({context.hex()})", receiver.export(context, length), want)


# ---- sizes and identifiers ------------------------------------------------------------

# RFC 9180 Table 2 (Nsecret, Nenc, Npk, Nsk), Table 3 (Nh) and Table 5 (Nk, Nn).
KEM_SIZES = {
    KemId.DHKEM_P256_SHA256: (32, 65, 65, 32),
    KemId.DHKEM_P384_SHA384: (48, 97, 97, 48),
    KemId.DHKEM_P521_SHA512: (64, 133, 133, 66),
    KemId.DHKEM_X25519_SHA256: (32, 32, 32, 32),
    KemId.DHKEM_X448_SHA512: (64, 56, 56, 56),
    # X-Wing (draft-ietf-hpke-pq, not RFC 9180): see test_xwing.py.
    KemId.XWING: (32, 1120, 1216, 32),
}
KDF_SIZES = {KdfId.HKDF_SHA256: 32, KdfId.HKDF_SHA384: 48, KdfId.HKDF_SHA512: 64}
AEAD_SIZES = {
    AeadId.AES_128_GCM: (16, 12),
    AeadId.AES_256_GCM: (32, 12),
    AeadId.CHACHA20_POLY1305: (32, 12),
    AeadId.EXPORT_ONLY: (0, 0),
}


@pytest.mark.parametrize("kem", list(KemId))
@pytest.mark.parametrize("kdf", list(KdfId))
@pytest.mark.parametrize("aead", list(AeadId))
def test_sizes_follow_rfc9180_tables(kem: KemId, kdf: KdfId, aead: AeadId) -> None:
    suite = Hpke(kem, kdf, aead)
    assert (suite.kem, suite.kdf, suite.aead) == (kem, kdf, aead)
    assert (suite.n_secret, suite.n_enc, suite.n_pk, suite.n_sk) == KEM_SIZES[kem]
    assert suite.n_h == KDF_SIZES[kdf]
    assert (suite.n_k, suite.n_n) == AEAD_SIZES[aead]


@pytest.mark.parametrize("which", [0, 1, 2])
def test_unknown_identifier_is_unsupported(which: int) -> None:
    ids: list[Any] = [KemId.DHKEM_X25519_SHA256, KdfId.HKDF_SHA256, AeadId.AES_128_GCM]
    ids[which] = 0x0099
    with pytest.raises(UnsupportedError):
        Hpke(*ids)


# ---- X448: §7.1.3 recomputed with pyca, and round trips in every mode ------------------


def _reference_x448_derive(ikm: bytes) -> bytes:
    # LabeledExtract("", "dkp_prk", ikm) then LabeledExpand(dkp_prk, "sk", "", 56), with
    # suite_id "KEM" || 0x0021, written out directly on pyca's HMAC and HKDFExpand.
    suite_id = b"KEM\x00\x21"
    mac = hmac.HMAC(bytes(64), hashes.SHA512())
    mac.update(b"HPKE-v1" + suite_id + b"dkp_prk" + ikm)
    dkp_prk = mac.finalize()
    info = (56).to_bytes(2, "big") + b"HPKE-v1" + suite_id + b"sk"
    return HKDFExpand(hashes.SHA512(), 56, info).derive(dkp_prk)


@given(ikm=st.binary(min_size=0, max_size=80))
@PROPERTY
def test_x448_derive_key_pair_follows_7_1_3(ikm: bytes) -> None:
    suite = SUITES[MLS_SUITES[3]]
    private, public = suite.derive_key_pair(ikm)
    assert private == _reference_x448_derive(ikm)
    assert public == x448.X448PrivateKey.from_private_bytes(private).public_key().public_bytes_raw()


def _setup_pair(
    suite: Hpke, mode: Mode, rng: SeededRandom, info: bytes
) -> tuple[bytes, SenderContext, ReceiverContext]:
    sk_r, pk_r = suite.generate_key_pair(rng)
    sk_s, pk_s = suite.generate_key_pair(rng)
    auth = mode in (Mode.AUTH, Mode.AUTH_PSK)
    psk, psk_id = (PSK, PSK_ID) if mode in (Mode.PSK, Mode.AUTH_PSK) else (b"", b"")
    enc, sender = suite.setup_sender(
        pk_r, info, rng, psk=psk, psk_id=psk_id, sender_private_key=sk_s if auth else None
    )
    receiver = suite.setup_receiver(
        enc, sk_r, info, psk=psk, psk_id=psk_id, sender_public_key=pk_s if auth else None
    )
    return enc, sender, receiver


@pytest.mark.parametrize("aead", [AeadId.AES_256_GCM, AeadId.CHACHA20_POLY1305])
@pytest.mark.parametrize("mode", list(Mode))
def test_x448_round_trip_in_every_mode(mode: Mode, aead: AeadId) -> None:
    suite = Hpke(KemId.DHKEM_X448_SHA512, KdfId.HKDF_SHA512, aead)
    enc, sender, receiver = _setup_pair(suite, mode, SeededRandom(b"x448"), b"info")
    assert len(enc) == 56
    assert sender.mode == receiver.mode == mode
    for i in range(3):
        message = b"message %d" % i
        assert receiver.open(b"aad", sender.seal(b"aad", message)) == message
    assert sender.export(b"ctx", 64) == receiver.export(b"ctx", 64)
    assert sender.export(b"ctx", 64) != sender.export(b"other", 64)


# ---- modes, PSK rules, export-only, sequence limit -------------------------------------


@pytest.mark.parametrize("ids", MLS_SUITES, ids=str)
@pytest.mark.parametrize("mode", list(Mode))
def test_every_mode_round_trips(ids: tuple[KemId, KdfId, AeadId], mode: Mode) -> None:
    _, sender, receiver = _setup_pair(SUITES[ids], mode, SeededRandom(b"modes"), b"i")
    assert receiver.open(b"", sender.seal(b"", b"hello")) == b"hello"
    assert sender.export(b"", 32) == receiver.export(b"", 32)


def test_seal_is_the_deterministic_core_fed_by_the_rng() -> None:
    suite = SUITES[MLS_SUITES[1]]
    _, pk_r = suite.derive_key_pair(b"recipient")
    enc, ct = suite.seal(pk_r, b"info", b"aad", b"pt", SeededRandom(b"seed"))
    assert suite.seal(pk_r, b"info", b"aad", b"pt", SeededRandom(b"seed")) == (enc, ct)
    sk_e, _ = suite.generate_key_pair(SeededRandom(b"seed"))
    enc2, sender = suite._setup_sender_with_ephemeral(pk_r, b"info", sk_e)
    assert (enc2, sender.seal(b"aad", b"pt")) == (enc, ct)


@pytest.mark.parametrize(
    ("psk", "psk_id"),
    [(PSK, b""), (b"", PSK_ID), (b"short psk", PSK_ID)],
    ids=["psk-without-id", "id-without-psk", "psk-too-short"],
)
def test_psk_inputs_are_checked(psk: bytes, psk_id: bytes) -> None:
    suite = SUITES[MLS_SUITES[0]]
    sk_r, pk_r = suite.derive_key_pair(b"r")
    sk_s, pk_s = suite.derive_key_pair(b"s")
    rng = SeededRandom(b"psk")
    with pytest.raises(PskInputError):
        suite.setup_sender(pk_r, b"", rng, psk=psk, psk_id=psk_id)
    with pytest.raises(PskInputError):
        suite.setup_sender(pk_r, b"", rng, psk=psk, psk_id=psk_id, sender_private_key=sk_s)
    # Checked before the KEM: even a garbage enc reports the misuse, not DecryptError.
    with pytest.raises(PskInputError):
        suite.setup_receiver(b"\x00" * 32, sk_r, b"", psk=psk, psk_id=psk_id)
    with pytest.raises(PskInputError):
        suite.setup_receiver(b"", sk_r, b"", psk=psk, psk_id=psk_id, sender_public_key=pk_s)


def test_wrong_psk_or_sender_fails_to_open() -> None:
    suite = SUITES[MLS_SUITES[0]]
    sk_r, pk_r = suite.derive_key_pair(b"r")
    sk_s, pk_s = suite.derive_key_pair(b"s")
    _, pk_other = suite.derive_key_pair(b"other")
    enc, sender = suite.setup_sender(
        pk_r, b"", SeededRandom(b"w"), psk=PSK, psk_id=PSK_ID, sender_private_key=sk_s
    )
    ct = sender.seal(b"", b"secret")
    wrong_inputs: list[dict[str, Any]] = [
        {"psk": PSK[::-1], "psk_id": PSK_ID, "sender_public_key": pk_s},
        {"psk": PSK, "psk_id": b"other id", "sender_public_key": pk_s},
        {"psk": PSK, "psk_id": PSK_ID, "sender_public_key": pk_other},
    ]
    for kwargs in wrong_inputs:
        receiver = suite.setup_receiver(enc, sk_r, b"", **kwargs)
        with pytest.raises(DecryptError):
            receiver.open(b"", ct)
    # Dropping authentication or the PSK changes the mode: the PSK rules refuse it.
    with pytest.raises(PskInputError):
        suite.setup_receiver(enc, sk_r, b"", psk=PSK, sender_public_key=pk_s)


def test_export_only_suite_exports_but_never_seals() -> None:
    suite = Hpke(KemId.DHKEM_X25519_SHA256, KdfId.HKDF_SHA256, AeadId.EXPORT_ONLY)
    sk_r, pk_r = suite.derive_key_pair(b"r")
    rng = SeededRandom(b"export")
    with pytest.raises(ExportOnlyError):
        suite.seal(pk_r, b"", b"", b"pt", rng)
    with pytest.raises(ExportOnlyError):
        suite.open(b"\x01" * 32, sk_r, b"", b"", b"ct")
    enc, sender = suite.setup_sender(pk_r, b"", rng)
    receiver = suite.setup_receiver(enc, sk_r, b"")
    with pytest.raises(ExportOnlyError):
        sender.seal(b"", b"pt")
    with pytest.raises(ExportOnlyError):
        receiver.open(b"", b"ct")
    assert sender.export(b"ctx", 17) == receiver.export(b"ctx", 17)


def test_export_length_is_bounded() -> None:
    suite = SUITES[MLS_SUITES[0]]
    _, sender, receiver = _setup_pair(suite, Mode.BASE, SeededRandom(b"len"), b"")
    assert len(sender.export(b"", 255 * 32)) == 255 * 32
    assert sender.export(b"", 0) == b""
    for bad in (-1, 255 * 32 + 1):
        with pytest.raises(HpkeUsageError):
            receiver.export(b"", bad)


def test_sequence_number_limit() -> None:
    suite = SUITES[MLS_SUITES[0]]
    _, sender, receiver = _setup_pair(suite, Mode.BASE, SeededRandom(b"seq"), b"")
    # RFC 9180 §5.2: with Nn = 12 the last usable sequence number is 2^96 - 2.
    last = (1 << 96) - 2
    sender._seq = receiver._seq = last
    assert receiver.open(b"", sender.seal(b"", b"last")) == b"last"
    with pytest.raises(MessageLimitReachedError):
        sender.seal(b"", b"one too many")
    with pytest.raises(MessageLimitReachedError):
        receiver.open(b"", b"\x00" * 32)


def test_failed_open_does_not_advance_the_sequence() -> None:
    suite = SUITES[MLS_SUITES[2]]
    _, sender, receiver = _setup_pair(suite, Mode.BASE, SeededRandom(b"adv"), b"")
    ct = sender.seal(b"", b"first")
    with pytest.raises(DecryptError):
        receiver.open(b"", ct[:-1] + bytes([ct[-1] ^ 1]))
    assert receiver.sequence_number == 0
    assert receiver.open(b"", ct) == b"first"


# ---- invalid keys ---------------------------------------------------------------------

# Low-order u-coordinates (RFC 7748 §5): the DH output would be all zeros.
LOW_ORDER = {
    KemId.DHKEM_X25519_SHA256: [bytes(32), b"\x01" + bytes(31)],
    KemId.DHKEM_X448_SHA512: [bytes(56), b"\x01" + bytes(55)],
}


@pytest.mark.parametrize("ids", [MLS_SUITES[0], MLS_SUITES[3]], ids=str)
def test_low_order_points_are_refused(ids: tuple[KemId, KdfId, AeadId]) -> None:
    suite = SUITES[ids]
    sk_r, pk_r = suite.derive_key_pair(b"r")
    sk_s, _ = suite.derive_key_pair(b"s")
    for point in LOW_ORDER[ids[0]]:
        with pytest.raises(InvalidKeyError):
            suite.seal(point, b"", b"", b"pt", SeededRandom(b"lo"))
        with pytest.raises(DecryptError):
            suite.open(point, sk_r, b"", b"", bytes(32))
        with pytest.raises(InvalidKeyError):
            suite.setup_receiver(pk_r, sk_r, b"", sender_public_key=point)
        with pytest.raises(InvalidKeyError):
            suite.setup_sender(point, b"", SeededRandom(b"lo"), sender_private_key=sk_s)


@pytest.mark.parametrize("ids", [MLS_SUITES[1], MLS_SUITES[4], MLS_SUITES[6]], ids=str)
def test_nist_key_encodings_are_strict(ids: tuple[KemId, KdfId, AeadId]) -> None:
    suite = SUITES[ids]
    sk_r, pk_r = suite.derive_key_pair(b"r")
    curve = {65: ec.SECP256R1(), 97: ec.SECP384R1(), 133: ec.SECP521R1()}[suite.n_pk]
    point = ec.EllipticCurvePublicKey.from_encoded_point(curve, pk_r)
    compressed = point.public_bytes(Encoding.X962, PublicFormat.CompressedPoint)
    off_curve = pk_r[:-1] + bytes([pk_r[-1] ^ 1])
    for bad in (compressed, b"\x00", off_curve, pk_r + b"\x00", b"\x05" + pk_r[1:]):
        with pytest.raises(InvalidKeyError):
            suite.seal(bad, b"", b"", b"pt", SeededRandom(b"nist"))
        with pytest.raises(DecryptError):
            suite.open(bad, sk_r, b"", b"", bytes(32))
    order = curve.group_order
    for scalar in (0, order, (1 << (8 * suite.n_sk)) - 1):
        with pytest.raises(InvalidKeyError):
            suite.public_key(scalar.to_bytes(suite.n_sk, "big"))
    # Shorter scalars load as left-padded (other MLS implementations drop leading
    # zeros; see test_hpke_keys.py), but a longer one is never canonical.
    with pytest.raises(InvalidKeyError):
        suite.public_key(b"\x00" + sk_r)
    with pytest.raises(InvalidKeyError):
        suite.public_key(b"")


# ---- properties: round trips, and only documented errors escape ------------------------


@given(
    suite=suite_strategy(),
    seed=st.binary(max_size=16),
    info=st.binary(max_size=64),
    aad=st.binary(max_size=64),
    plaintext=st.binary(max_size=256),
)
@PROPERTY
def test_seal_open_round_trip(
    suite: Hpke, seed: bytes, info: bytes, aad: bytes, plaintext: bytes
) -> None:
    rng = SeededRandom(seed)
    sk_r, pk_r = suite.generate_key_pair(rng)
    assert suite.public_key(sk_r) == pk_r
    assert (len(sk_r), len(pk_r)) == (suite.n_sk, suite.n_pk)
    enc, ct = suite.seal(pk_r, info, aad, plaintext, rng)
    assert len(enc) == suite.n_enc
    assert len(ct) == len(plaintext) + 16
    assert suite.open(enc, sk_r, info, aad, ct) == plaintext


@given(
    suite=suite_strategy(),
    target=st.sampled_from(["enc", "ct", "aad"]),
    bit=st.integers(min_value=0),
    aad=st.binary(min_size=1, max_size=32),
    plaintext=st.binary(max_size=64),
)
@PROPERTY
def test_any_flipped_bit_fails_to_open(
    suite: Hpke, target: str, bit: int, aad: bytes, plaintext: bytes
) -> None:
    # A flipped bit in enc may leave a valid point (X25519/X448) or not (NIST curves);
    # either way the error is the same opaque DecryptError.
    rng = SeededRandom(b"flip")
    sk_r, pk_r = suite.generate_key_pair(rng)
    enc, ct = suite.seal(pk_r, b"info", aad, plaintext, rng)
    fields = {"enc": enc, "ct": ct, "aad": aad}
    data = bytearray(fields[target])
    index = bit % (8 * len(data))
    data[index // 8] ^= 1 << (index % 8)
    fields[target] = bytes(data)
    with pytest.raises(DecryptError):
        suite.open(fields["enc"], sk_r, b"info", fields["aad"], fields["ct"])


@given(suite=suite_strategy(), info=st.binary(max_size=16), other=st.binary(max_size=16))
@PROPERTY
def test_wrong_info_fails_to_open(suite: Hpke, info: bytes, other: bytes) -> None:
    if info == other:
        other += b"!"
    rng = SeededRandom(info)
    sk_r, pk_r = suite.generate_key_pair(rng)
    enc, ct = suite.seal(pk_r, info, b"", b"payload", rng)
    with pytest.raises(DecryptError):
        suite.open(enc, sk_r, other, b"", ct)


@given(suite=suite_strategy(), junk=st.binary(max_size=160), sized=st.booleans())
@PROPERTY
def test_random_bytes_as_keys_raise_only_documented_errors(
    suite: Hpke, junk: bytes, sized: bool
) -> None:
    if sized:
        # Right-sized junk reaches the curve checks rather than the length checks.
        junk = (junk * suite.n_pk)[: suite.n_pk] if junk else bytes(suite.n_pk)
    rng = SeededRandom(junk)
    sk_r, pk_r = suite.generate_key_pair(rng)
    # Any 32/56 bytes are an X25519/X448 key, so sealing may succeed; nothing else may.
    with contextlib.suppress(InvalidKeyError):
        suite.seal(junk, b"", b"", b"pt", rng)
    with pytest.raises(DecryptError):
        suite.open(junk, sk_r, b"", b"", bytes(48))
    with contextlib.suppress(InvalidKeyError):
        suite.setup_receiver(pk_r, sk_r, b"", sender_public_key=junk)
    # Longer than Nsk is never a private key, whatever the bytes (shorter NIST scalars
    # are read as left-padded, so only over-long input is certainly invalid).
    with pytest.raises(InvalidKeyError):
        suite.public_key(bytes(suite.n_sk + 1) + junk)


@given(kem=st.sampled_from(list(KemId)), ikm=st.binary(max_size=64))
@PROPERTY
def test_derived_private_keys_are_valid(kem: KemId, ikm: bytes) -> None:
    suite = Hpke(kem, KdfId.HKDF_SHA256, AeadId.AES_128_GCM)
    private, public = suite.derive_key_pair(ikm)
    assert suite.public_key(private) == public
    assert suite.derive_key_pair(ikm) == (private, public)
    if kem == KemId.DHKEM_P521_SHA512:
        # RFC 9180 §7.1.3: the P-521 bitmask 0x01 leaves 521 bits.
        assert private[0] <= 0x01


# ---- agreement with pyca's own HPKE (base mode, empty aad) -----------------------------

PYCA_KEMS = {
    KemId.DHKEM_X25519_SHA256: pyca_hpke.KEM.X25519,
    KemId.DHKEM_P256_SHA256: pyca_hpke.KEM.P256,
    KemId.DHKEM_P384_SHA384: pyca_hpke.KEM.P384,
    KemId.DHKEM_P521_SHA512: pyca_hpke.KEM.P521,
}
PYCA_KDFS = {
    KdfId.HKDF_SHA256: pyca_hpke.KDF.HKDF_SHA256,
    KdfId.HKDF_SHA384: pyca_hpke.KDF.HKDF_SHA384,
    KdfId.HKDF_SHA512: pyca_hpke.KDF.HKDF_SHA512,
}
PYCA_AEADS = {
    AeadId.AES_128_GCM: pyca_hpke.AEAD.AES_128_GCM,
    AeadId.AES_256_GCM: pyca_hpke.AEAD.AES_256_GCM,
    AeadId.CHACHA20_POLY1305: pyca_hpke.AEAD.CHACHA20_POLY1305,
}
PYCA_CURVES = {
    KemId.DHKEM_P256_SHA256: ec.SECP256R1(),
    KemId.DHKEM_P384_SHA384: ec.SECP384R1(),
    KemId.DHKEM_P521_SHA512: ec.SECP521R1(),
}
PYCA_SUITES = [(kem, kdf, aead) for kem in PYCA_KEMS for kdf in PYCA_KDFS for aead in PYCA_AEADS]


def _pyca_keys(
    kem: KemId, private: bytes
) -> tuple[
    x25519.X25519PrivateKey | ec.EllipticCurvePrivateKey,
    x25519.X25519PublicKey | ec.EllipticCurvePublicKey,
]:
    if kem == KemId.DHKEM_X25519_SHA256:
        key: x25519.X25519PrivateKey | ec.EllipticCurvePrivateKey = (
            x25519.X25519PrivateKey.from_private_bytes(private)
        )
    else:
        key = ec.derive_private_key(int.from_bytes(private, "big"), PYCA_CURVES[kem])
    return key, key.public_key()


@pytest.mark.parametrize("ids", PYCA_SUITES, ids=str)
def test_agrees_with_pyca_hpke(ids: tuple[KemId, KdfId, AeadId]) -> None:
    ours = Hpke(*ids)
    theirs = pyca_hpke.Suite(PYCA_KEMS[ids[0]], PYCA_KDFS[ids[1]], PYCA_AEADS[ids[2]])
    sk_r, pk_r = ours.derive_key_pair(b"agreement " + ids[0].to_bytes(2, "big"))
    private, public = _pyca_keys(ids[0], sk_r)
    for info, plaintext in ((b"", b""), (b"info", b"a message for both")):
        both = theirs.encrypt(plaintext, public, info)
        enc, ct = both[: ours.n_enc], both[ours.n_enc :]
        assert ours.open(enc, sk_r, info, b"", ct) == plaintext
        enc, ct = ours.seal(pk_r, info, b"", plaintext, SeededRandom(info))
        assert theirs.decrypt(enc + ct, private, info) == plaintext


@settings(max_examples=25, deadline=None)
@given(suite=suite_strategy(), parts=st.lists(st.binary(max_size=300), max_size=4))
def test_seal_each_with_info_in_parts_is_seal_each_with_it_joined(
        suite: Hpke, parts: list[bytes]) -> None:
    # The info of a Welcome's seals is hashed from its parts, never joined: the same
    # key schedules, so the same output from the same random draws.
    _, public = suite.generate_key_pair(SeededRandom(b"recipient"))
    recipients = [(public, b"group secrets")]
    joined = suite.seal_each(recipients, b"".join(parts), b"", SeededRandom(b"draws"))
    assert suite.seal_each(recipients, parts, b"", SeededRandom(b"draws")) == joined
