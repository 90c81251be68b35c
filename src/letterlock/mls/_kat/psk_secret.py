"""psk_secret.json: 0..10 external PSKs folded into psk_secret (RFC 9420 §8.4)."""

from __future__ import annotations

from letterlock.crypto import cipher_suite

from ..psk import PreSharedKeyID, Psk, psk_secret
from . import Case, expect, unhex


def check(case: Case) -> None:
    suite = cipher_suite(case["cipher_suite"])
    psks = [
        Psk(PreSharedKeyID.external(unhex(p["psk_id"]), unhex(p["psk_nonce"])), unhex(p["psk"]))
        for p in case["psks"]
    ]
    # Every id must survive its own encoding unchanged, or PSKLabel would differ.
    for i, psk in enumerate(psks):
        expect(f"psks[{i}].id round trip", psk.id, PreSharedKeyID.from_bytes(psk.id.to_bytes()))
    expect("psk_secret", unhex(case["psk_secret"]), psk_secret(suite, psks).value)
