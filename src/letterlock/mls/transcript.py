"""Transcript hashes and the confirmation tag (RFC 9420 §8.2, §6.1).

Every commit extends two running hashes. The *confirmed* transcript hash covers the
commit itself (wire format, content and signature) on top of the previous *interim*
hash; it goes into the new epoch's GroupContext, so the key schedule binds the whole
history of commits. The *interim* hash then appends the commit's confirmation tag, a MAC
under the new epoch's confirmation key that proves the committer derived the same epoch.
"""

from __future__ import annotations

from letterlock.crypto.suite import CipherSuite

from .constants import ContentType
from .errors import UsageError
from .framing import (
    AuthenticatedContent,
    ConfirmedTranscriptHashInput,
    InterimTranscriptHashInput,
)


def confirmed_transcript_hash(
    suite: CipherSuite, interim_before: bytes, commit: AuthenticatedContent
) -> bytes:
    """``Hash(interim_transcript_hash_[n-1] || ConfirmedTranscriptHashInput_[n])``."""
    if commit.content.content_type != ContentType.COMMIT:
        raise UsageError("only commits enter the transcript hash")
    tbh = ConfirmedTranscriptHashInput(commit.wire_format, commit.content,
                                       commit.auth.signature)
    return suite.hash(interim_before + tbh.to_bytes())


def interim_transcript_hash(
    suite: CipherSuite, confirmed: bytes, confirmation_tag: bytes
) -> bytes:
    """``Hash(confirmed_transcript_hash_[n] || InterimTranscriptHashInput_[n])``."""
    return suite.hash(confirmed + InterimTranscriptHashInput(confirmation_tag).to_bytes())


def confirmation_tag(suite: CipherSuite, confirmation_key: bytes, confirmed: bytes) -> bytes:
    """``MAC(confirmation_key, GroupContext.confirmed_transcript_hash)`` (§6.1)."""
    return suite.mac(confirmation_key, confirmed)


def verify_confirmation_tag(
    suite: CipherSuite, confirmation_key: bytes, confirmed: bytes, tag: bytes
) -> None:
    """§6.1: a commit's confirmation tag MUST verify; raises VerifyError (constant time)."""
    suite.verify_mac(confirmation_key, confirmed, tag)


def initial_interim_transcript_hash(
    suite: CipherSuite, confirmation_key: bytes, confirmed: bytes
) -> bytes:
    """§8.2 / §11: at group creation the interim hash follows from the first epoch's tag."""
    return interim_transcript_hash(suite, confirmed,
                                   confirmation_tag(suite, confirmation_key, confirmed))


__all__ = [
    "confirmation_tag",
    "confirmed_transcript_hash",
    "initial_interim_transcript_hash",
    "interim_transcript_hash",
    "verify_confirmation_tag",
]
