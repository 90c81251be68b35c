"""transcript-hashes.json: confirmed/interim transcript hashes and the confirmation tag."""

from __future__ import annotations

from letterlock.crypto.suite import cipher_suite
from letterlock.mls.framing import AuthenticatedContent
from letterlock.mls.transcript import (
    confirmation_tag,
    confirmed_transcript_hash,
    interim_transcript_hash,
    verify_confirmation_tag,
)

from . import Case, expect, unhex


def check(case: Case) -> None:
    suite = cipher_suite(int(case["cipher_suite"]))
    commit = AuthenticatedContent.from_bytes(unhex(case["authenticated_content"]))
    expect("authenticated_content round-trip", unhex(case["authenticated_content"]),
           commit.to_bytes())
    confirmed = confirmed_transcript_hash(suite, unhex(case["interim_transcript_hash_before"]),
                                          commit)
    expect("confirmed_transcript_hash_after", unhex(case["confirmed_transcript_hash_after"]),
           confirmed)
    tag = commit.auth.confirmation_tag
    assert tag is not None  # AuthenticatedContent guarantees it for commits
    key = unhex(case["confirmation_key"])
    expect("confirmation_tag", tag, confirmation_tag(suite, key, confirmed))
    verify_confirmation_tag(suite, key, confirmed, tag)
    expect("interim_transcript_hash_after", unhex(case["interim_transcript_hash_after"]),
           interim_transcript_hash(suite, confirmed, tag))
