"""Protecting and unprotecting messages (RFC 9420 §6.1 to §6.3).

Sign, then protect:

- every message is signed by its sender over ``FramedContentTBS`` (§6.1);
- a :class:`PublicMessage` from a member also carries a membership tag, a MAC under the
  epoch's membership key over ``AuthenticatedContentTBM`` (§6.2), so only members can
  produce one that other members accept;
- a :class:`PrivateMessage` encrypts the content and its signature under a key from the
  secret tree (§9) and hides who sent it, and with which key generation, in sender data
  encrypted under a key derived from the ciphertext itself (§6.3.2).

Receiving runs the same steps backwards and checks every MUST on the way. The signature
itself is verified by :func:`verify_signature` with the sender's key from the ratchet
tree, which the caller looks up once it knows the sender.

Errors (see :mod:`letterlock.mls.errors`): :class:`InvalidMessageError` subclasses below
for rule violations, :class:`~letterlock.crypto.DecryptError` for a ciphertext that does
not open, :class:`~letterlock.crypto.VerifyError` for a bad signature or tag, and
:class:`~letterlock.codec.DecodeError` for malformed plaintext.
"""

from __future__ import annotations

from collections.abc import Callable

from letterlock.crypto.random import RandomSource
from letterlock.crypto.signature import PrivateKey
from letterlock.crypto.suite import CipherSuite

from .constants import ContentType, SenderType, WireFormat
from .errors import InvalidMessageError, UsageError
from .framing import (
    AuthenticatedContent,
    AuthenticatedContentTBM,
    FramedContent,
    FramedContentAuthData,
    FramedContentTBS,
    PublicMessage,
    Sender,
)
from .group_context import GroupContext
from .key_schedule import MembershipKey, SenderDataSecret
from .private_message import (
    REUSE_GUARD_SIZE,
    PrivateMessage,
    PrivateMessageContent,
    SenderData,
    private_message_aads,
)
from .secret_tree import RatchetType, SecretTree, sender_data_key
from .tree_math import LeafIndex

SIGNATURE_LABEL = b"FramedContentTBS"

# Enum members read for every message, bound once (reading an Enum class attribute
# runs EnumType's Python-level hooks in Python 3.11).
_MEMBER, _PRIVATE = SenderType.MEMBER, WireFormat.PRIVATE_MESSAGE
_SIGNED_WITH_CONTEXT = (SenderType.MEMBER, SenderType.NEW_MEMBER_COMMIT)


class ApplicationInPublicMessageError(InvalidMessageError):
    """§6.2: application data MUST NOT be sent as a PublicMessage."""


class WrongSenderTypeError(InvalidMessageError):
    """§6.3: only members send PrivateMessages; §6.2 rules for other sender types."""


class UnknownSenderError(InvalidMessageError):
    """§6.3.2: the sender data names a leaf that is not a member of the group."""


def _needs_context(sender: Sender) -> bool:
    return sender.sender_type in _SIGNED_WITH_CONTEXT


def _tbs(wire_format: WireFormat, content: FramedContent,
         context: GroupContext | None) -> bytes:
    # The encoded FramedContentTBS: only its bytes are signed or verified.
    if _needs_context(content.sender):
        if context is None:
            raise UsageError("member and new_member_commit content is signed with the context")
        return FramedContentTBS.encode(wire_format, content, context)
    return FramedContentTBS.encode(wire_format, content, None)


def sign_content(
    suite: CipherSuite,
    signature_private_key: PrivateKey,
    wire_format: WireFormat,
    content: FramedContent,
    context: GroupContext | None,
    confirmation_tag: bytes | None = None,
) -> AuthenticatedContent:
    """Sign ``content`` (§6.1); commits also need their ``confirmation_tag``.

    Raises UsageError when the context or confirmation tag is missing where required.
    """
    tbs = _tbs(wire_format, content, context)
    signature = suite.sign_with_label(signature_private_key, SIGNATURE_LABEL, tbs)
    return AuthenticatedContent(wire_format, content,
                                FramedContentAuthData(signature, confirmation_tag))


def verify_signature(
    suite: CipherSuite,
    signature_public_key: bytes,
    authenticated: AuthenticatedContent,
    context: GroupContext | None,
) -> None:
    """§6.1: the signature MUST verify with the sender's key; raises VerifyError."""
    tbs = _tbs(authenticated.wire_format, authenticated.content, context)
    suite.verify_with_label(signature_public_key, SIGNATURE_LABEL, tbs,
                            authenticated.auth.signature)


def _tbm(authenticated: AuthenticatedContent, context: GroupContext) -> bytes:
    tbs = FramedContentTBS(authenticated.wire_format, authenticated.content, context)
    return AuthenticatedContentTBM(tbs, authenticated.auth).to_bytes()


def protect_public(
    suite: CipherSuite,
    authenticated: AuthenticatedContent,
    context: GroupContext,
    membership_key: MembershipKey,
) -> PublicMessage:
    """Frame signed content as a PublicMessage, with a membership tag for members (§6.2)."""
    if authenticated.wire_format != WireFormat.PUBLIC_MESSAGE:
        raise UsageError("content was signed for another wire format")
    if authenticated.content.content_type == ContentType.APPLICATION:
        raise UsageError("application data is only sent as a PrivateMessage (§6.2)")
    tag = None
    if authenticated.content.sender.sender_type == SenderType.MEMBER:
        tag = membership_key.tag(suite, _tbm(authenticated, context))
    return PublicMessage(authenticated.content, authenticated.auth, tag)


def unprotect_public(
    suite: CipherSuite,
    message: PublicMessage,
    context: GroupContext,
    membership_key: MembershipKey,
) -> AuthenticatedContent:
    """Check a PublicMessage's framing and membership tag; the signature is left to
    :func:`verify_signature` with the sender's key.

    Raises ApplicationInPublicMessageError, VerifyError (membership tag).
    """
    authenticated = AuthenticatedContent(WireFormat.PUBLIC_MESSAGE, message.content,
                                         message.auth)
    if message.content.content_type == ContentType.APPLICATION:
        raise ApplicationInPublicMessageError("application data in a PublicMessage",
                                              "RFC 9420 §6.2")
    if message.content.sender.sender_type == SenderType.MEMBER:
        assert message.membership_tag is not None  # PublicMessage's invariant
        # §6.2: "the recipient MUST verify the membership_tag" (constant-time MAC check).
        membership_key.verify_tag(suite, _tbm(authenticated, context), message.membership_tag)
    return authenticated


def _guarded(nonce: bytes, reuse_guard: bytes) -> bytes:
    # §6.3.1: the first four bytes of the nonce are XORed with the reuse guard.
    size = len(nonce)
    if size < REUSE_GUARD_SIZE or len(reuse_guard) != REUSE_GUARD_SIZE:
        raise ValueError("a reuse guard is XORed into the first 4 bytes of a nonce")
    # One integer XOR of the whole nonce with the guard shifted onto its first 4 bytes.
    shift = 8 * (size - REUSE_GUARD_SIZE)
    guarded = int.from_bytes(nonce, "big") ^ (int.from_bytes(reuse_guard, "big") << shift)
    return guarded.to_bytes(size, "big")


def protect_private(
    suite: CipherSuite,
    authenticated: AuthenticatedContent,
    secret_tree: SecretTree,
    sender_data_secret: SenderDataSecret,
    rng: RandomSource,
    *,
    padding: int = 0,
) -> PrivateMessage:
    """Encrypt signed member content as a PrivateMessage (§6.3).

    Takes the next key of the sender's ratchet (application or handshake by content
    type) and deletes it. ``padding`` zero bytes hide the content length.
    """
    content = authenticated.content
    if authenticated.wire_format != _PRIVATE:
        raise UsageError("content was signed for another wire format")
    leaf = content.sender.leaf_index
    if content.sender.sender_type != _MEMBER or leaf is None:
        raise UsageError("only members send PrivateMessages (§6.3)")
    content_type = content.content_type
    key = secret_tree.key_for_encryption(LeafIndex(leaf), RatchetType.for_content(content_type))
    reuse_guard = rng.random_bytes(REUSE_GUARD_SIZE)
    plaintext = PrivateMessageContent.encode(content.body, authenticated.auth, padding)
    sender_data_aad, content_aad = private_message_aads(
        content.group_id, content.epoch, content_type, content.authenticated_data)
    ciphertext = suite.aead_seal(key.key, _guarded(key.nonce, reuse_guard), content_aad,
                                 plaintext)
    # §6.3.2: the sender data key is derived from a sample of the content ciphertext,
    # so encrypted sender data cannot be moved onto another message.
    sd = sender_data_key(suite, sender_data_secret, ciphertext)
    sender_data = SenderData.encode(leaf, key.generation, reuse_guard)
    encrypted_sender_data = suite.aead_seal(sd.key, sd.nonce, sender_data_aad, sender_data)
    return PrivateMessage(content.group_id, content.epoch, content_type,
                          content.authenticated_data, encrypted_sender_data, ciphertext)


def unprotect_private(
    suite: CipherSuite,
    message: PrivateMessage,
    secret_tree: SecretTree,
    sender_data_secret: SenderDataSecret,
    is_member: Callable[[int], bool] | None = None,
) -> AuthenticatedContent:
    """Decrypt a PrivateMessage to signed content; the signature is left to
    :func:`verify_signature`.

    ``is_member`` tells whether a leaf index holds a member;
    without it any leaf of the secret tree is accepted. Raises DecryptError,
    UnknownSenderError, the secret tree's generation errors, DecodeError.
    """
    sender_data_aad, content_aad = private_message_aads(
        message.group_id, message.epoch, message.content_type, message.authenticated_data)
    sd = sender_data_key(suite, sender_data_secret, message.ciphertext)
    sender_data = SenderData.from_bytes(
        suite.aead_open(sd.key, sd.nonce, sender_data_aad, message.encrypted_sender_data))
    leaf = LeafIndex(sender_data.leaf_index)
    # §6.3.2: the leaf index MUST name a member of the group.
    if leaf >= secret_tree.n_leaves or (is_member is not None and not is_member(leaf)):
        raise UnknownSenderError(f"sender data names leaf {leaf}, not a member",
                                 "RFC 9420 §6.3.2")
    # Derive without consuming: a forged message must not burn a key (§9.2 counts only
    # a successful decryption as consumption).
    staged = secret_tree.key_for_decryption(
        leaf, RatchetType.for_content(message.content_type), sender_data.generation)
    plaintext = suite.aead_open(staged.key.key, _guarded(staged.key.nonce,
                                                         sender_data.reuse_guard),
                                content_aad, message.ciphertext)
    inner = PrivateMessageContent.from_bytes(plaintext, message.content_type)
    secret_tree.consume(staged)
    content = FramedContent(message.group_id, message.epoch, Sender.member(leaf),
                            message.authenticated_data, inner.body)
    return AuthenticatedContent(_PRIVATE, content, inner.auth)
