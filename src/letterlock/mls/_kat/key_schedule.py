"""key-schedule.json: five chained epochs of the RFC 9420 §8 key schedule per suite.

Each epoch starts from the previous epoch's init_secret (the case's
``initial_init_secret`` for the first), takes the given commit_secret and psk_secret,
and builds its GroupContext from the group id, the epoch number and the given tree hash
and confirmed transcript hash (no extensions).
"""

from __future__ import annotations

from letterlock.crypto import cipher_suite

from ..constants import ProtocolVersion
from ..group_context import GroupContext
from ..key_schedule import CommitSecret, InitSecret, KeySchedule, PskSecret
from . import Case, expect, unhex


def check(case: Case) -> None:
    suite = cipher_suite(case["cipher_suite"])
    group_id = unhex(case["group_id"])
    init_secret = InitSecret(unhex(case["initial_init_secret"]))
    for epoch, v in enumerate(case["epochs"]):
        where = f"epochs[{epoch}]"
        context = GroupContext(
            version=ProtocolVersion.MLS10,
            cipher_suite=suite.suite_id,
            group_id=group_id,
            epoch=epoch,
            tree_hash=unhex(v["tree_hash"]),
            confirmed_transcript_hash=unhex(v["confirmed_transcript_hash"]),
        )
        expect(f"{where}.group_context", unhex(v["group_context"]), context.to_bytes())

        schedule, joiner = KeySchedule.for_commit(
            suite, init_secret, CommitSecret(unhex(v["commit_secret"])),
            PskSecret(unhex(v["psk_secret"])), context,
        )
        expect(f"{where}.joiner_secret", unhex(v["joiner_secret"]), joiner.value)
        expect(f"{where}.welcome_secret", unhex(v["welcome_secret"]),
               schedule.welcome_secret().value)
        secrets = schedule.epoch_secrets()
        for name in ("sender_data_secret", "encryption_secret", "exporter_secret",
                     "epoch_authenticator", "external_secret", "confirmation_key",
                     "membership_key", "resumption_psk", "init_secret"):
            expect(f"{where}.{name}", unhex(v[name]), getattr(secrets, name).value)
        expect(f"{where}.external_pub", unhex(v["external_pub"]),
               secrets.external_secret.external_pub(suite))

        exporter = v["exporter"]
        # The generator treats the exporter label as text: the label is the hex string's
        # ASCII characters, not the bytes they spell (unlike the context, which is hex).
        got = secrets.exporter_secret.export(
            suite, exporter["label"].encode(), unhex(exporter["context"]), exporter["length"]
        )
        expect(f"{where}.exporter.secret", unhex(exporter["secret"]), got)
        init_secret = secrets.init_secret
