"""Transcript hashes chain commits; the confirmation tag binds the epoch."""

from __future__ import annotations

import pytest

from letterlock.crypto import VerifyError
from letterlock.crypto.suite import cipher_suite
from letterlock.mls.commit import Commit
from letterlock.mls.constants import WireFormat
from letterlock.mls.errors import UsageError
from letterlock.mls.framing import (
    AuthenticatedContent,
    FramedContent,
    FramedContentAuthData,
    Sender,
)
from letterlock.mls.transcript import (
    confirmation_tag,
    confirmed_transcript_hash,
    interim_transcript_hash,
    verify_confirmation_tag,
)

SUITE = cipher_suite(1)


def _commit(signature: bytes) -> AuthenticatedContent:
    content = FramedContent(b"g", 1, Sender.member(0), b"", Commit((), None))
    return AuthenticatedContent(WireFormat.PUBLIC_MESSAGE, content,
                                FramedContentAuthData(signature, b"\x00" * 32))


def test_confirmed_hash_depends_on_history_and_signature() -> None:
    a = confirmed_transcript_hash(SUITE, b"\x00" * 32, _commit(b"sig"))
    assert a != confirmed_transcript_hash(SUITE, b"\x01" * 32, _commit(b"sig"))
    assert a != confirmed_transcript_hash(SUITE, b"\x00" * 32, _commit(b"sig2"))
    assert len(a) == SUITE.n_h


def test_confirmation_tag_verifies_and_detects_tampering() -> None:
    key, confirmed = b"k" * 32, b"c" * 32
    tag = confirmation_tag(SUITE, key, confirmed)
    verify_confirmation_tag(SUITE, key, confirmed, tag)
    with pytest.raises(VerifyError):
        verify_confirmation_tag(SUITE, key, b"d" * 32, tag)
    assert interim_transcript_hash(SUITE, confirmed, tag) != interim_transcript_hash(
        SUITE, confirmed, bytes(32))


def test_only_commits_enter_the_transcript() -> None:
    content = FramedContent(b"g", 1, Sender.member(0), b"", b"app")
    app = AuthenticatedContent(WireFormat.PRIVATE_MESSAGE, content, FramedContentAuthData(b"s"))
    with pytest.raises(UsageError):
        confirmed_transcript_hash(SUITE, b"", app)
