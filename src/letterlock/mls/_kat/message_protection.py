"""message-protection.json: PublicMessage and PrivateMessage, received and produced.

For each of a proposal, a commit and application data: the vector's protected forms
must unprotect to the given content with a valid signature (and membership tag), and
what we protect ourselves must unprotect to the same content. The group has two
members; the sender is leaf 1.
"""

from __future__ import annotations

from letterlock.crypto.random import SeededRandom
from letterlock.crypto.suite import CipherSuite, cipher_suite
from letterlock.mls.commit import Commit
from letterlock.mls.constants import ProtocolVersion, WireFormat
from letterlock.mls.framing import FramedContent, PublicMessage, Sender
from letterlock.mls.group_context import GroupContext
from letterlock.mls.key_schedule import EncryptionSecret, MembershipKey, SenderDataSecret
from letterlock.mls.message_protection import (
    protect_private,
    protect_public,
    sign_content,
    unprotect_private,
    unprotect_public,
    verify_signature,
)
from letterlock.mls.mls_message import MLSMessage
from letterlock.mls.private_message import PrivateMessage
from letterlock.mls.proposals import Proposal
from letterlock.mls.secret_tree import SecretTree

from . import Case, VectorMismatch, expect, unhex

N_LEAVES = 2
SENDER = 1


def _body(kind: str, raw: bytes) -> bytes | Proposal | Commit:
    if kind == "proposal":
        return Proposal.from_bytes(raw)
    if kind == "commit":
        return Commit.from_bytes(raw)
    return raw


class _Group:
    def __init__(self, case: Case) -> None:
        self.suite: CipherSuite = cipher_suite(int(case["cipher_suite"]))
        self.context = GroupContext(
            ProtocolVersion.MLS10, int(case["cipher_suite"]), unhex(case["group_id"]),
            int(case["epoch"]), unhex(case["tree_hash"]),
            unhex(case["confirmed_transcript_hash"]), ())
        self.sig_priv = unhex(case["signature_priv"])
        self.sig_pub = unhex(case["signature_pub"])
        self.encryption_secret = EncryptionSecret(unhex(case["encryption_secret"]))
        self.sender_data_secret = SenderDataSecret(unhex(case["sender_data_secret"]))
        self.membership_key = MembershipKey(unhex(case["membership_key"]))

    def tree(self) -> SecretTree:
        return SecretTree(self.suite, self.encryption_secret, N_LEAVES)

    def receive_public(self, field: str, data: bytes, expected: FramedContent) -> None:
        message = MLSMessage.from_bytes(data).body
        if not isinstance(message, PublicMessage):
            raise VectorMismatch(f"{field} wire format", "PublicMessage", type(message).__name__)
        auth = unprotect_public(self.suite, message, self.context, self.membership_key)
        verify_signature(self.suite, self.sig_pub, auth, self.context)
        expect(f"{field} content", expected, auth.content)

    def receive_private(self, field: str, data: bytes, expected: FramedContent,
                        tree: SecretTree) -> None:
        message = MLSMessage.from_bytes(data).body
        if not isinstance(message, PrivateMessage):
            raise VectorMismatch(f"{field} wire format", "PrivateMessage", type(message).__name__)
        auth = unprotect_private(self.suite, message, tree, self.sender_data_secret)
        verify_signature(self.suite, self.sig_pub, auth, self.context)
        expect(f"{field} content", expected, auth.content)


def check(case: Case) -> None:
    group = _Group(case)
    rng = SeededRandom(b"message-protection")
    for kind in ("proposal", "commit", "application"):
        body = _body(kind, unhex(case[kind]))
        content = FramedContent(group.context.group_id, group.context.epoch,
                                Sender.member(SENDER), b"", body)
        # The commit's confirmation tag is opaque here: any MAC-sized value will do.
        tag = bytes(group.suite.n_h) if kind == "commit" else None
        if kind != "application":
            group.receive_public(f"{kind}_pub", unhex(case[f"{kind}_pub"]), content)
            signed = sign_content(group.suite, group.sig_priv, WireFormat.PUBLIC_MESSAGE,
                                  content, group.context, tag)
            ours = protect_public(group.suite, signed, group.context, group.membership_key)
            group.receive_public(f"{kind}_pub (ours)", MLSMessage(ours).to_bytes(), content)
        group.receive_private(f"{kind}_priv", unhex(case[f"{kind}_priv"]), content, group.tree())
        signed = sign_content(group.suite, group.sig_priv, WireFormat.PRIVATE_MESSAGE,
                              content, group.context, tag)
        ours_priv = protect_private(group.suite, signed, group.tree(),
                                    group.sender_data_secret, rng)
        group.receive_private(f"{kind}_priv (ours)", MLSMessage(ours_priv).to_bytes(), content,
                              group.tree())
