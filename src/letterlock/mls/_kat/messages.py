"""Checker for ``messages.json``: every wire structure decodes and re-encodes byte-exact.

Each field of a case is the TLS encoding of one structure (the test-vectors description
of mlswg/mls-implementations). The contents are random, not semantically valid, so this
exercises the codec alone: no validation is applied.
"""

from __future__ import annotations

from letterlock.codec import Struct

from ..commit import Commit
from ..constants import WireFormat
from ..mls_message import MLSMessage
from ..proposals import (
    Add,
    ExternalInit,
    GroupContextExtensions,
    PreSharedKey,
    ReInit,
    Remove,
    Update,
)
from ..tree_nodes import RatchetTree
from ..welcome import GroupSecrets
from . import Case, expect, unhex

# field -> the struct it encodes, and for MLSMessage-wrapped ones the wire format inside.
FIELDS: tuple[tuple[str, type[Struct], WireFormat | None], ...] = (
    ("mls_welcome", MLSMessage, WireFormat.WELCOME),
    ("mls_group_info", MLSMessage, WireFormat.GROUP_INFO),
    ("mls_key_package", MLSMessage, WireFormat.KEY_PACKAGE),
    ("ratchet_tree", RatchetTree, None),
    ("group_secrets", GroupSecrets, None),
    ("add_proposal", Add, None),
    ("update_proposal", Update, None),
    ("remove_proposal", Remove, None),
    ("pre_shared_key_proposal", PreSharedKey, None),
    ("re_init_proposal", ReInit, None),
    ("external_init_proposal", ExternalInit, None),
    ("group_context_extensions_proposal", GroupContextExtensions, None),
    ("commit", Commit, None),
    ("public_message_application", MLSMessage, WireFormat.PUBLIC_MESSAGE),
    ("public_message_proposal", MLSMessage, WireFormat.PUBLIC_MESSAGE),
    ("public_message_commit", MLSMessage, WireFormat.PUBLIC_MESSAGE),
    ("private_message", MLSMessage, WireFormat.PRIVATE_MESSAGE),
)


def check(case: Case) -> None:
    """Decode each field present in ``case``, re-encode it, and compare the bytes."""
    for field, struct, wire_format in FIELDS:
        if case.get(field) is None:
            continue
        original = unhex(case[field])
        value = struct.from_bytes(original)
        if isinstance(value, MLSMessage):
            expect(f"{field} wire_format", wire_format, value.wire_format)
        expect(f"{field} round-trip", original, value.to_bytes())
