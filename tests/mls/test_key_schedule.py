"""The key schedule (RFC 9420 §8) beyond the vectors: its state machine, the secret
types, joiner/committer agreement, exporters and external init."""

from __future__ import annotations

import pytest

from letterlock.crypto import CipherSuite, SeededRandom, VerifyError, cipher_suite
from letterlock.mls.constants import ProtocolVersion
from letterlock.mls.errors import UsageError
from letterlock.mls.group_context import GroupContext
from letterlock.mls.key_schedule import (
    CommitSecret,
    ConfirmationKey,
    EncryptionSecret,
    EpochSecrets,
    InitSecret,
    JoinerSecret,
    KeySchedule,
    MembershipKey,
    PskSecret,
)

SUITES = [pytest.param(cipher_suite(i), id=f"suite{i}") for i in (1, 5, 7)]


def context(suite: CipherSuite, epoch: int = 1) -> GroupContext:
    return GroupContext(version=ProtocolVersion.MLS10, cipher_suite=suite.suite_id,
                        group_id=b"group", epoch=epoch, tree_hash=b"t" * suite.n_h,
                        confirmed_transcript_hash=b"c" * suite.n_h)


def start(suite: CipherSuite, psk: PskSecret | None = None) -> tuple[KeySchedule, JoinerSecret]:
    init = InitSecret.random(suite, SeededRandom(b"init"))
    commit = CommitSecret(b"x" * suite.n_h)
    return KeySchedule.for_commit(suite, init, commit, psk, context(suite))


@pytest.mark.parametrize("suite", SUITES)
def test_joiner_and_committer_derive_the_same_epoch(suite: CipherSuite) -> None:
    committer, joiner_secret = start(suite)
    welcome = committer.welcome_secret()
    mine = committer.epoch_secrets()

    joiner = KeySchedule(suite, joiner_secret)  # no PSK: psk_secret defaults to zero
    assert joiner.welcome_secret() == welcome
    joiner.add_context(context(suite))
    theirs = joiner.epoch_secrets()
    assert theirs == mine
    assert len(mine.init_secret.value) == suite.n_h
    key = welcome.key_and_nonce(suite)
    assert (len(key.key), len(key.nonce)) == (suite.n_k, suite.n_n)


def test_the_schedule_refuses_calls_out_of_order() -> None:
    suite = cipher_suite(1)
    _, joiner_secret = start(suite)
    schedule = KeySchedule(suite, joiner_secret)
    with pytest.raises(UsageError, match="awaiting the group context"):
        schedule.epoch_secrets()  # no group context yet
    schedule.add_context(context(suite))
    with pytest.raises(UsageError):
        schedule.add_context(context(suite))  # only once
    schedule.epoch_secrets()
    for call in (schedule.epoch_secrets, schedule.welcome_secret):
        with pytest.raises(UsageError, match="consumed"):
            call()
    with pytest.raises(UsageError):
        schedule.add_context(context(suite))


def test_group_context_of_another_suite_is_refused() -> None:
    suite = cipher_suite(1)
    _, joiner_secret = start(suite)
    with pytest.raises(UsageError):
        KeySchedule(suite, joiner_secret).add_context(context(cipher_suite(3)))
    with pytest.raises(UsageError):
        JoinerSecret.derive(suite, InitSecret(b"i" * 32), CommitSecret.zero(suite),
                            context(cipher_suite(2)))


def test_every_input_changes_the_epoch() -> None:
    suite = cipher_suite(1)
    base_schedule, base_joiner = start(suite)
    base = base_schedule.epoch_secrets()
    # A PSK leaves the joiner_secret alone (it enters after it) but changes the epoch.
    psk_schedule, psk_joiner = start(suite, PskSecret(b"p" * 32))
    assert psk_joiner == base_joiner
    assert psk_schedule.epoch_secrets().epoch_authenticator != base.epoch_authenticator
    # Another epoch number in the GroupContext changes the joiner secret itself.
    init = InitSecret.random(suite, SeededRandom(b"init"))
    _, other = KeySchedule.for_commit(suite, init, CommitSecret(b"x" * 32), None, context(suite, 2))
    assert other != base_joiner
    # A path-less commit is the zero commit_secret.
    _, zero = KeySchedule.for_commit(suite, init, None, None, context(suite))
    assert zero == JoinerSecret.derive(suite, init, CommitSecret(bytes(32)), context(suite))
    # All nine derived secrets differ from one another.
    values = [getattr(base, name).value for name in EpochSecrets.__dataclass_fields__]
    assert len(set(values)) == 9


def test_secret_types_do_not_mix_and_do_not_leak() -> None:
    raw = b"\x42" * 32
    assert EncryptionSecret(raw) == EncryptionSecret(raw)
    assert EncryptionSecret(raw) != EncryptionSecret(b"\x43" * 32)
    assert ConfirmationKey(raw) != MembershipKey(raw)  # same bytes, different kinds
    assert "42" not in repr(ConfirmationKey(raw)) and "32 bytes" in repr(ConfirmationKey(raw))
    with pytest.raises(TypeError):
        hash(InitSecret(raw))
    schedule, _ = start(cipher_suite(1))
    assert "42" not in repr(schedule.epoch_secrets())


@pytest.mark.parametrize("suite", SUITES)
def test_exporter(suite: CipherSuite) -> None:
    schedule, _ = start(suite)
    exporter = schedule.epoch_secrets().exporter_secret
    a = exporter.export(suite, "letterlock franking", b"ctx", 32)
    assert len(a) == 32
    assert exporter.export(suite, b"letterlock franking", b"ctx", 32) == a
    assert exporter.export(suite, "letterlock other", b"ctx", 32) != a
    assert exporter.export(suite, "letterlock franking", b"ctx2", 32) != a
    assert exporter.export(suite, "letterlock franking", b"ctx", 16) != a[:16]  # length bound
    with pytest.raises(ValueError):
        exporter.export(suite, "x", b"", 255 * suite.n_h + 1)


@pytest.mark.parametrize("suite", SUITES)
def test_external_init_round_trip(suite: CipherSuite) -> None:
    schedule, _ = start(suite)
    external = schedule.epoch_secrets().external_secret
    kem_output, init = InitSecret.external_init(suite, external.external_pub(suite),
                                                SeededRandom(b"joiner"))
    assert external.init_secret_from(suite, kem_output) == init
    assert len(init.value) == suite.n_h


def test_confirmation_and_membership_tags() -> None:
    suite = cipher_suite(2)
    schedule, _ = start(suite)
    secrets = schedule.epoch_secrets()
    tag = secrets.confirmation_key.tag(suite, b"confirmed transcript hash")
    secrets.confirmation_key.verify_tag(suite, b"confirmed transcript hash", tag)
    with pytest.raises(VerifyError):
        secrets.confirmation_key.verify_tag(suite, b"confirmed transcript hasH", tag)
    with pytest.raises(VerifyError):
        secrets.membership_key.verify_tag(suite, b"confirmed transcript hash", tag)
