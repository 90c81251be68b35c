"""Joining by Welcome (RFC 9420 §12.4.3.1): committer and joiner agree; each MUST bites.

The official welcome.json cases run through the conformance checker; here a committer
builds Welcomes to the vectors' KeyPackages (whose init private keys the vectors give),
and every rule of §12.4.3.1 that the module enforces is broken once.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from conftest import MLS_VECTORS, load_vectors
from letterlock.crypto import CipherSuite, DecryptError, SeededRandom, VerifyError, cipher_suite
from letterlock.mls.constants import ProtocolVersion, ResumptionPSKUsage
from letterlock.mls.errors import InvalidMessageError, UsageError
from letterlock.mls.extensions import Extension
from letterlock.mls.group_context import GroupContext
from letterlock.mls.key_package import KeyPackage
from letterlock.mls.key_schedule import EpochSecrets, JoinerSecret, KeySchedule
from letterlock.mls.mls_message import MLSMessage
from letterlock.mls.proposals import PreSharedKeyID
from letterlock.mls.psk import InvalidPskNonceError, Psk, psk_secret
from letterlock.mls.tree_nodes import HPKECiphertext
from letterlock.mls.welcome import (
    EncryptedGroupSecrets,
    GroupInfo,
    GroupInfoTBS,
    GroupSecrets,
    PathSecret,
    Welcome,
)
from letterlock.mls.welcome_processing import (
    ConfirmationTagError,
    GroupInfoSignatureError,
    InvalidGroupInfoError,
    NewMember,
    NoWelcomeEntryError,
    UnknownPskError,
    WelcomeCipherSuiteError,
    WelcomePskError,
    build_welcome,
    external_psk_lookup,
    open_welcome,
    sign_group_info,
)


def _vector_members() -> list[tuple[KeyPackage, bytes]]:
    cases = load_vectors(MLS_VECTORS, "welcome.json") or []
    members = []
    for case in cases:
        body = MLSMessage.from_bytes(bytes.fromhex(case["key_package"])).body
        assert isinstance(body, KeyPackage)
        members.append((body, bytes.fromhex(case["init_priv"])))
    return members


MEMBERS = _vector_members()
needs_vectors = pytest.mark.skipif(not MEMBERS, reason="welcome.json not found")


@dataclasses.dataclass
class Committed:
    suite: CipherSuite
    welcome: Welcome
    group_info: GroupInfo
    signer_pub: bytes
    epoch_secrets: EpochSecrets


def _commit(
    key_package: KeyPackage,
    *,
    psks: tuple[Psk, ...] = (),
    epoch: int = 7,
    bad_tag: bool = False,
    extensions: tuple[Extension, ...] = (),
    version: int = ProtocolVersion.MLS10,
    path_secret: bytes | None = None,
) -> Committed:
    suite = cipher_suite(key_package.cipher_suite)
    rng = SeededRandom(b"committer")
    sig_priv, sig_pub = suite.generate_signature_key_pair(rng)
    joiner = JoinerSecret(rng.random_bytes(suite.n_h))
    context = GroupContext(version, suite.suite_id, b"group", epoch, b"\x01" * suite.n_h,
                           b"\x02" * suite.n_h)
    schedule = KeySchedule(suite, joiner, psk_secret(suite, psks))
    welcome_secret = schedule.welcome_secret()
    schedule.add_context(context)
    epoch_secrets = schedule.epoch_secrets()
    tag = epoch_secrets.confirmation_key.tag(suite, context.confirmed_transcript_hash)
    if bad_tag:
        tag = bytes([tag[0] ^ 1]) + tag[1:]
    group_info = sign_group_info(suite, GroupInfoTBS(context, extensions, tag, 3), sig_priv)
    secrets = GroupSecrets(joiner.value,
                           None if path_secret is None else PathSecret(path_secret),
                           tuple(p.id for p in psks))
    welcome = build_welcome(suite, group_info, welcome_secret,
                            [NewMember(key_package, secrets)], rng)
    return Committed(suite, welcome, group_info, sig_pub, epoch_secrets)


@needs_vectors
@pytest.mark.parametrize("index", range(len(MEMBERS)))
def test_joiner_derives_the_committers_epoch(index: int) -> None:
    key_package, init_priv = MEMBERS[index]
    nonce = bytes(cipher_suite(key_package.cipher_suite).n_h)
    psk = Psk(PreSharedKeyID.external(b"id", nonce), b"secret")
    c = _commit(key_package, psks=(psk,), path_secret=b"ps")
    lookup = external_psk_lookup({b"id": b"secret"})
    opened = open_welcome(c.welcome, key_package, init_priv, lookup)
    assert opened.group_info == c.group_info
    joined = opened.verify(c.signer_pub)
    assert joined.epoch_secrets == c.epoch_secrets
    assert joined.group_secrets.path_secret == PathSecret(b"ps")
    assert joined.key_package_ref == c.welcome.secrets[0].new_member
    # Verification can be repeated: the schedule is rebuilt, not consumed.
    assert opened.verify(c.signer_pub).epoch_secrets == c.epoch_secrets


@needs_vectors
def test_no_entry_for_our_key_package() -> None:
    key_package, init_priv = MEMBERS[0]
    c = _commit(key_package)
    with pytest.raises(NoWelcomeEntryError) as info:
        open_welcome(dataclasses.replace(c.welcome, secrets=()), key_package, init_priv)
    assert info.value.rule == "RFC 9420 §12.4.3.1"


@needs_vectors
def test_cipher_suite_mismatch_between_welcome_and_key_package() -> None:
    key_package, init_priv = MEMBERS[0]
    c = _commit(key_package)
    with pytest.raises(WelcomeCipherSuiteError):
        open_welcome(dataclasses.replace(c.welcome, cipher_suite=2), key_package, init_priv)


def _seal_by_hand(key_package: KeyPackage, info: GroupInfo, secrets: GroupSecrets) -> Welcome:
    # A Welcome built without build_welcome, for GroupInfos that it would refuse.
    suite = cipher_suite(key_package.cipher_suite)
    keys = KeySchedule(suite, JoinerSecret(secrets.joiner_secret)).welcome_secret() \
        .key_and_nonce(suite)
    encrypted = suite.aead_seal(keys.key, keys.nonce, b"", info.to_bytes())
    kem_output, ct = suite.encrypt_with_label(key_package.init_key, "Welcome", encrypted,
                                              secrets.to_bytes(), SeededRandom(b"hand"))
    entry = EncryptedGroupSecrets(suite.make_key_package_ref(key_package.to_bytes()),
                                  HPKECiphertext(kem_output, ct))
    return Welcome(suite.suite_id, (entry,), encrypted)


@needs_vectors
def test_group_info_for_another_suite_is_refused() -> None:
    key_package, init_priv = MEMBERS[0]
    assert key_package.cipher_suite == 1
    # Suites 1 and 3 share HPKE, hash and signature, so this decrypts and parses.
    context = GroupContext(ProtocolVersion.MLS10, 3, b"g", 1, b"", b"")
    info = GroupInfoTBS(context, (), b"tag", 0).signed(b"sig")
    welcome = _seal_by_hand(key_package, info, GroupSecrets(bytes(32)))
    with pytest.raises(WelcomeCipherSuiteError):
        open_welcome(welcome, key_package, init_priv)


@needs_vectors
def test_bad_signature() -> None:
    key_package, init_priv = MEMBERS[0]
    c = _commit(key_package)
    opened = open_welcome(c.welcome, key_package, init_priv)
    other_pub = c.suite.generate_signature_key_pair(SeededRandom(b"other"))[1]
    with pytest.raises(GroupInfoSignatureError) as info:
        opened.verify(other_pub)
    # One error, two readings: invalid peer input, and a failed verification.
    assert isinstance(info.value, InvalidMessageError)
    assert isinstance(info.value, VerifyError)


@needs_vectors
def test_bad_confirmation_tag() -> None:
    key_package, init_priv = MEMBERS[0]
    c = _commit(key_package, bad_tag=True)
    with pytest.raises(ConfirmationTagError):
        open_welcome(c.welcome, key_package, init_priv).verify(c.signer_pub)


@needs_vectors
def test_psk_rules() -> None:
    key_package, init_priv = MEMBERS[0]
    n_h = cipher_suite(1).n_h
    external = Psk(PreSharedKeyID.external(b"id", bytes(n_h)), b"s")
    c = _commit(key_package, psks=(external,))
    with pytest.raises(UnknownPskError):
        open_welcome(c.welcome, key_package, init_priv)
    with pytest.raises(UnknownPskError):
        open_welcome(c.welcome, key_package, init_priv, external_psk_lookup({b"x": b"s"}))
    # The right name with the wrong secret: the GroupInfo does not decrypt.
    with pytest.raises(DecryptError):
        open_welcome(c.welcome, key_package, init_priv, external_psk_lookup({b"id": b"t"}))

    def resumption(usage: ResumptionPSKUsage, epoch: int) -> Psk:
        return Psk(PreSharedKeyID.resumption(usage, b"old", epoch, bytes(n_h)), b"r")

    def lookup(psk_id: PreSharedKeyID) -> bytes:
        return b"r"

    two = (resumption(ResumptionPSKUsage.REINIT, 4), resumption(ResumptionPSKUsage.BRANCH, 4))
    with pytest.raises(WelcomePskError):
        open_welcome(_commit(key_package, psks=two, epoch=1).welcome, key_package, init_priv,
                     lookup)
    late = _commit(key_package, psks=(resumption(ResumptionPSKUsage.BRANCH, 4),), epoch=2)
    with pytest.raises(WelcomePskError):
        open_welcome(late.welcome, key_package, init_priv, lookup).verify(late.signer_pub)
    ok = _commit(key_package, psks=(resumption(ResumptionPSKUsage.REINIT, 4),), epoch=1)
    open_welcome(ok.welcome, key_package, init_priv, lookup).verify(ok.signer_pub)
    # Application-usage resumption PSKs may come several at once.
    apps = (resumption(ResumptionPSKUsage.APPLICATION, 1),
            resumption(ResumptionPSKUsage.APPLICATION, 2))
    both = _commit(key_package, psks=apps)
    open_welcome(both.welcome, key_package, init_priv, lookup).verify(both.signer_pub)


@needs_vectors
def test_short_psk_nonce_is_refused() -> None:
    key_package, init_priv = MEMBERS[0]
    # Built by hand: psk_secret() refuses the short nonce on the committer side too.
    secrets = GroupSecrets(bytes(32), None, (PreSharedKeyID.external(b"id", b"short"),))
    welcome = _seal_by_hand(key_package, _commit(key_package).group_info, secrets)
    with pytest.raises(InvalidPskNonceError):
        open_welcome(welcome, key_package, init_priv, lambda _: b"s")


@needs_vectors
def test_group_info_shape_rules() -> None:
    key_package, init_priv = MEMBERS[0]
    dup = (Extension(0xFF00, b""), Extension(0xFF00, b"x"))
    c = _commit(key_package, extensions=dup)
    with pytest.raises(InvalidMessageError):
        open_welcome(c.welcome, key_package, init_priv)
    c = _commit(key_package, version=2)
    with pytest.raises(InvalidGroupInfoError):
        open_welcome(c.welcome, key_package, init_priv)


@needs_vectors
def test_tampering_and_misuse() -> None:
    key_package, init_priv = MEMBERS[0]
    c = _commit(key_package)
    flipped = bytes([c.welcome.encrypted_group_info[0] ^ 1]) + c.welcome.encrypted_group_info[1:]
    # The GroupSecrets are bound to the encrypted GroupInfo (EncryptWithLabel context).
    with pytest.raises(DecryptError):
        open_welcome(dataclasses.replace(c.welcome, encrypted_group_info=flipped), key_package,
                     init_priv)
    other_priv = cipher_suite(1).hpke.generate_key_pair(SeededRandom(b"k"))[0]
    with pytest.raises(UsageError):
        open_welcome(c.welcome, key_package, other_priv)
    with pytest.raises(UsageError):
        sign_group_info(cipher_suite(2), c.group_info.tbs, b"")
    with pytest.raises(UsageError):
        build_welcome(cipher_suite(2), c.group_info, KeySchedule(
            cipher_suite(2), JoinerSecret(bytes(32))).welcome_secret(), [], SeededRandom(b""))


@needs_vectors
def test_vector_welcomes_reject_a_wrong_signer() -> None:
    cases: list[dict[str, Any]] = load_vectors(MLS_VECTORS, "welcome.json") or []
    for case in cases:
        welcome = MLSMessage.from_bytes(bytes.fromhex(case["welcome"])).body
        key_package = MLSMessage.from_bytes(bytes.fromhex(case["key_package"])).body
        assert isinstance(welcome, Welcome) and isinstance(key_package, KeyPackage)
        opened = open_welcome(welcome, key_package, bytes.fromhex(case["init_priv"]))
        other = opened.suite.generate_signature_key_pair(SeededRandom(b"w"))[1]
        with pytest.raises(GroupInfoSignatureError):
            opened.verify(other)
