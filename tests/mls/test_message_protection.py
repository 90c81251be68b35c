"""Protecting and unprotecting messages: round trips, and every tampering is caught."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from letterlock.codec import DecodeError
from letterlock.crypto import DecryptError, VerifyError
from letterlock.crypto.random import SeededRandom
from letterlock.crypto.suite import CipherSuite, cipher_suite
from letterlock.mls.commit import Commit
from letterlock.mls.constants import ContentType, ProtocolVersion, WireFormat
from letterlock.mls.errors import InvalidMessageError, UsageError
from letterlock.mls.framing import FramedContent, PublicMessage, Sender
from letterlock.mls.group_context import GroupContext
from letterlock.mls.key_schedule import EncryptionSecret, MembershipKey, SenderDataSecret
from letterlock.mls.message_protection import (
    ApplicationInPublicMessageError,
    UnknownSenderError,
    _guarded,
    protect_private,
    protect_public,
    sign_content,
    unprotect_private,
    unprotect_public,
    verify_signature,
)
from letterlock.mls.private_message import PrivateMessage
from letterlock.mls.proposals import Proposal, Remove
from letterlock.mls.secret_tree import GenerationReusedError, SecretTree

SUITES = [1, 2, 3, 4, 5, 6, 7]
# Errors a tampered message may raise; nothing else may escape.
REJECTIONS = (DecryptError, VerifyError, DecodeError, InvalidMessageError)


class Epoch:
    """One epoch of a two-member group with its secrets, seen by sender and receiver."""

    def __init__(self, suite_id: int, seed: bytes = b"epoch") -> None:
        rng = SeededRandom(seed)
        self.suite: CipherSuite = cipher_suite(suite_id)
        self.rng = rng
        self.context = GroupContext(ProtocolVersion.MLS10, suite_id, b"group", 7,
                                    b"\x01" * self.suite.n_h, b"\x02" * self.suite.n_h)
        self.sig_priv, self.sig_pub = self.suite.generate_signature_key_pair(rng)
        n = self.suite.n_h
        self.encryption_secret = EncryptionSecret(rng.random_bytes(n))
        self.sender_data_secret = SenderDataSecret(rng.random_bytes(n))
        self.membership_key = MembershipKey(rng.random_bytes(n))
        self.sender_tree = self.tree()
        self.receiver_tree = self.tree()

    def tree(self) -> SecretTree:
        return SecretTree(self.suite, self.encryption_secret, 4)

    def content(self, body: bytes | Proposal | Commit, aad: bytes = b"") -> FramedContent:
        return FramedContent(self.context.group_id, self.context.epoch, Sender.member(1),
                             aad, body)

    def private(self, body: bytes | Proposal | Commit, aad: bytes = b"",
                padding: int = 0) -> PrivateMessage:
        tag = bytes(self.suite.n_h) if isinstance(body, Commit) else None
        signed = sign_content(self.suite, self.sig_priv, WireFormat.PRIVATE_MESSAGE,
                              self.content(body, aad), self.context, tag)
        return protect_private(self.suite, signed, self.sender_tree, self.sender_data_secret,
                               self.rng, padding=padding)

    def open_private(self, message: PrivateMessage) -> FramedContent:
        auth = unprotect_private(self.suite, message, self.receiver_tree,
                                 self.sender_data_secret)
        verify_signature(self.suite, self.sig_pub, auth, self.context)
        return auth.content

    def public(self, body: Proposal | Commit) -> PublicMessage:
        tag = bytes(self.suite.n_h) if isinstance(body, Commit) else None
        signed = sign_content(self.suite, self.sig_priv, WireFormat.PUBLIC_MESSAGE,
                              self.content(body), self.context, tag)
        return protect_public(self.suite, signed, self.context, self.membership_key)

    def open_public(self, message: PublicMessage) -> FramedContent:
        auth = unprotect_public(self.suite, message, self.context, self.membership_key)
        verify_signature(self.suite, self.sig_pub, auth, self.context)
        return auth.content


EPOCHS = {suite: Epoch(suite) for suite in SUITES}
REMOVE = Proposal(Remove(2))


@pytest.mark.parametrize("suite", SUITES)
def test_private_round_trip_every_content_type(suite: int) -> None:
    epoch = Epoch(suite)
    for body in (b"hello", REMOVE, Commit((), None)):
        message = epoch.private(body, aad=b"franking", padding=16)
        assert epoch.open_private(PrivateMessage.from_bytes(message.to_bytes())) == \
            epoch.content(body, b"franking")


@pytest.mark.parametrize("suite", SUITES)
def test_public_round_trip(suite: int) -> None:
    epoch = Epoch(suite)
    for body in (REMOVE, Commit((), None)):
        message = PublicMessage.from_bytes(epoch.public(body).to_bytes())
        assert epoch.open_public(message) == epoch.content(body)


def test_replay_of_a_private_message_is_rejected() -> None:
    epoch = Epoch(1)
    message = epoch.private(b"once")
    epoch.open_private(message)
    with pytest.raises(GenerationReusedError):
        epoch.open_private(message)


def test_out_of_order_within_window() -> None:
    epoch = Epoch(1)
    messages = [epoch.private(f"m{i}".encode()) for i in range(4)]
    for i in (2, 0, 3, 1):
        assert epoch.open_private(messages[i]).body == f"m{i}".encode()


def test_forged_message_does_not_burn_the_key() -> None:
    epoch = Epoch(1)
    message = epoch.private(b"real")
    forged = PrivateMessage(message.group_id, message.epoch, message.content_type,
                            message.authenticated_data, message.encrypted_sender_data,
                            message.ciphertext[:-1] + bytes([message.ciphertext[-1] ^ 1]))
    with pytest.raises(DecryptError):
        epoch.open_private(forged)
    assert epoch.open_private(message).body == b"real"


def test_application_data_never_travels_as_public_message() -> None:
    epoch = Epoch(1)
    signed = sign_content(epoch.suite, epoch.sig_priv, WireFormat.PUBLIC_MESSAGE,
                          epoch.content(b"secret"), epoch.context)
    with pytest.raises(UsageError):
        protect_public(epoch.suite, signed, epoch.context, epoch.membership_key)
    sneaky = PublicMessage(signed.content, signed.auth, b"\x00" * epoch.suite.n_h)
    with pytest.raises(ApplicationInPublicMessageError):
        unprotect_public(epoch.suite, sneaky, epoch.context, epoch.membership_key)


def test_sender_outside_the_group_is_rejected() -> None:
    epoch = Epoch(1)
    message = epoch.private(b"x")
    with pytest.raises(UnknownSenderError):
        unprotect_private(epoch.suite, message, epoch.receiver_tree, epoch.sender_data_secret,
                          is_member=lambda leaf: leaf != 1)


def test_signature_from_another_key_fails() -> None:
    epoch, other = Epoch(1), Epoch(1, seed=b"other")
    auth = unprotect_public(epoch.suite, epoch.public(REMOVE), epoch.context,
                            epoch.membership_key)
    with pytest.raises(VerifyError):
        verify_signature(epoch.suite, other.sig_pub, auth, epoch.context)


def test_wrong_context_breaks_signature_and_membership_tag() -> None:
    epoch = Epoch(1)
    message = epoch.public(REMOVE)
    later = GroupContext(epoch.context.version, epoch.context.cipher_suite,
                         epoch.context.group_id, epoch.context.epoch + 1,
                         epoch.context.tree_hash, epoch.context.confirmed_transcript_hash)
    with pytest.raises(VerifyError):
        unprotect_public(epoch.suite, message, later, epoch.membership_key)


def _flip(data: bytes, bit: int) -> bytes:
    i = (bit // 8) % len(data)
    return data[:i] + bytes([data[i] ^ (1 << (bit % 8))]) + data[i + 1:]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(suite=st.sampled_from(SUITES), bit=st.integers(min_value=0))
def test_any_flipped_bit_in_a_private_message_is_rejected(suite: int, bit: int) -> None:
    epoch = Epoch(suite)
    wire = epoch.private(b"attack at dawn", aad=b"ad").to_bytes()
    tampered = _flip(wire, bit % (len(wire) * 8))
    with pytest.raises(REJECTIONS):
        epoch.open_private(PrivateMessage.from_bytes(tampered))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(suite=st.sampled_from(SUITES), bit=st.integers(min_value=0))
def test_any_flipped_bit_in_a_public_message_is_rejected(suite: int, bit: int) -> None:
    epoch = EPOCHS[suite]
    wire = epoch.public(REMOVE).to_bytes()
    tampered = _flip(wire, bit % (len(wire) * 8))
    with pytest.raises(REJECTIONS):
        epoch.open_public(PublicMessage.from_bytes(tampered))


@settings(max_examples=40, deadline=None)
@given(payload=st.binary(max_size=300), aad=st.binary(max_size=40),
       padding=st.integers(min_value=0, max_value=64))
def test_private_round_trip_any_payload(payload: bytes, aad: bytes, padding: int) -> None:
    epoch = Epoch(3)
    message = epoch.private(payload, aad=aad, padding=padding)
    assert message.content_type == ContentType.APPLICATION
    assert epoch.open_private(message).body == payload


@settings(max_examples=50, deadline=None)
@given(nonce=st.binary(min_size=4, max_size=32), guard=st.binary(min_size=4, max_size=4))
def test_reuse_guard_is_xored_into_the_first_four_nonce_bytes(nonce: bytes,
                                                              guard: bytes) -> None:
    # §6.3.1: only the first 4 bytes change; the rest of the nonce is as derived.
    expected = bytes(n ^ g for n, g in zip(nonce, guard, strict=False)) + nonce[4:]
    assert _guarded(nonce, guard) == expected
    with pytest.raises(ValueError):
        _guarded(nonce[:3], guard)
