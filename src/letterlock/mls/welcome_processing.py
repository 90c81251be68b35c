"""The cryptography of joining by Welcome (RFC 9420 §12.4.3.1), both sides.

Joiner, in two steps, because the GroupInfo signer's key lives in the ratchet tree and
the tree (in-band in the GroupInfo's ratchet_tree extension, or out of band) can only
be examined once the GroupInfo is decrypted::

    opened = open_welcome(welcome, key_package, init_private_key, psk_lookup)
    # the caller builds the tree and finds leaf opened.group_info.signer
    joined = opened.verify(signer_public_key)     # -> VerifiedWelcome

:func:`open_welcome` finds our entry by KeyPackageRef, decrypts the GroupSecrets,
checks their PSKs, derives the welcome key and decrypts the GroupInfo. Its result,
:class:`OpenedWelcome`, holds an *unverified* GroupInfo; :meth:`OpenedWelcome.verify`
is the only road to a :class:`VerifiedWelcome`: it checks the signature, derives the
epoch secrets from the joiner secret and the GroupInfo's GroupContext, and checks the
confirmation tag.

Committer: :func:`sign_group_info` and :func:`build_welcome` (or its two halves,
:func:`encrypt_group_info` and :func:`seal_welcome`).

What stays with the caller (it needs the tree or other groups): the ratchet tree's
validity and finding our own leaf in it, the uniqueness of group_id among our groups,
applying ``path_secret``, and the reinit/branch checks against the old group (§11.2,
§12.4.3.1). The RFC steps that need only the Welcome are all here.

Errors: the InvalidMessageError subclasses below, each naming its rule;
:class:`~letterlock.crypto.DecryptError` (opaque) when the GroupSecrets or the
GroupInfo do not decrypt (wrong init key, wrong PSK value, tampering);
:class:`~letterlock.codec.DecodeError` when they decrypt to malformed bytes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from letterlock.codec import encode_varint
from letterlock.crypto import CipherSuite, RandomSource, VerifyError, cipher_suite
from letterlock.crypto.signature import PrivateKey

from .constants import ProtocolVersion, PSKType, ResumptionPSKUsage
from .errors import InvalidMessageError, UsageError
from .extensions import check_unique
from .group_context import GroupContext
from .key_package import KeyPackage
from .key_schedule import EpochSecrets, JoinerSecret, KeySchedule, PskSecret, WelcomeSecret
from .proposals import PreSharedKeyID
from .psk import Psk, psk_secret
from .transcript import interim_transcript_hash
from .tree_nodes import HPKECiphertext
from .welcome import EncryptedGroupSecrets, GroupInfo, GroupInfoTBS, GroupSecrets, Welcome

RULE = "RFC 9420 §12.4.3.1"

# Finds the secret of a PSK named in GroupSecrets, or None when we do not hold it.
PskLookup = Callable[[PreSharedKeyID], bytes | None]


class NoWelcomeEntryError(InvalidMessageError):
    """The Welcome has no EncryptedGroupSecrets for our KeyPackage (§12.4.3.1)."""


class WelcomeCipherSuiteError(InvalidMessageError):
    """The Welcome or its GroupInfo names a suite other than our KeyPackage's (§12.4.3.1)."""


class WelcomePskError(InvalidMessageError):
    """The GroupSecrets' PSKs break §12.4.3.1 (a reinit/branch PSK that is not alone,
    or in a GroupInfo whose epoch is not 1)."""


class UnknownPskError(WelcomePskError):
    """GroupSecrets name a PSK we do not hold (§12.4.3.1: "return an error")."""


class InvalidGroupInfoError(InvalidMessageError):
    """The decrypted GroupInfo is malformed for this join (version, extensions)."""


class GroupInfoSignatureError(InvalidMessageError, VerifyError):
    """The GroupInfo signature does not verify with the signer's key (§12.4.3.1).

    Also a :class:`~letterlock.crypto.VerifyError`, like every failed signature.
    """


class ConfirmationTagError(InvalidMessageError, VerifyError):
    """The GroupInfo's confirmation_tag is not MAC(confirmation_key,
    confirmed_transcript_hash) for the derived epoch (§12.4.3.1: MUST verify)."""


def external_psk_lookup(psks: Mapping[bytes, bytes]) -> PskLookup:
    """A :data:`PskLookup` over external PSKs by ``psk_id`` (none of resumption type)."""

    def lookup(psk_id: PreSharedKeyID) -> bytes | None:
        if psk_id.psktype != PSKType.EXTERNAL or psk_id.psk_id is None:
            return None
        return psks.get(psk_id.psk_id)

    return lookup


# ---- joiner ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VerifiedWelcome:
    """A Welcome whose GroupInfo is authentic and whose epoch secrets are confirmed.

    ``interim_transcript_hash`` follows from the GroupInfo's confirmed transcript hash
    and confirmation tag (§8.2); ``group_secrets.path_secret`` is for the caller to
    apply at the common ancestor of the signer's leaf and ours (§12.4.3.1).
    """

    suite: CipherSuite
    key_package_ref: bytes
    group_info: GroupInfo
    group_secrets: GroupSecrets
    epoch_secrets: EpochSecrets
    interim_transcript_hash: bytes

    @property
    def group_context(self) -> GroupContext:
        return self.group_info.group_context


@dataclass(frozen=True, slots=True)
class OpenedWelcome:
    """A decrypted Welcome whose GroupInfo is NOT yet verified; call :meth:`verify`."""

    suite: CipherSuite
    key_package_ref: bytes
    group_secrets: GroupSecrets
    group_info: GroupInfo
    _joiner_secret: JoinerSecret
    _psk_secret: PskSecret

    def verify(self, signer_public_key: bytes) -> VerifiedWelcome:
        """Check the GroupInfo and derive the epoch (§12.4.3.1, in the RFC's order).

        :param signer_public_key: the signature key of the leaf at
            ``group_info.signer`` in the group's ratchet tree (the caller finds it;
            a blank leaf there is the caller's error to raise).
        :raises GroupInfoSignatureError: the signature does not verify.
        :raises InvalidKeyError: ``signer_public_key`` is malformed.
        :raises ConfirmationTagError: the confirmation tag does not verify.
        :raises WelcomePskError: a reinit/branch PSK joins an epoch other than 1.
        """
        suite, info = self.suite, self.group_info
        try:
            suite.verify_with_label(signer_public_key, "GroupInfoTBS", info.tbs.to_bytes(),
                                    info.signature)
        except VerifyError:
            raise GroupInfoSignatureError("GroupInfo signature does not verify", RULE) from None
        # The joiner_secret and the GroupInfo's GroupContext give the epoch secrets (§8).
        schedule = KeySchedule(suite, self._joiner_secret, self._psk_secret)
        schedule.add_context(info.group_context)
        epoch_secrets = schedule.epoch_secrets()
        confirmed = info.group_context.confirmed_transcript_hash
        try:
            epoch_secrets.confirmation_key.verify_tag(suite, confirmed, info.confirmation_tag)
        except VerifyError:
            raise ConfirmationTagError("GroupInfo confirmation_tag does not verify",
                                       RULE) from None
        # §12.4.3.1: a group started by reinit or branch begins at epoch 1.
        if any(_is_reinit_or_branch(p) for p in self.group_secrets.psks) \
                and info.group_context.epoch != 1:
            raise WelcomePskError(
                f"a reinit/branch PSK joins epoch {info.group_context.epoch}, not 1", RULE)
        return VerifiedWelcome(
            suite=suite,
            key_package_ref=self.key_package_ref,
            group_info=info,
            group_secrets=self.group_secrets,
            epoch_secrets=epoch_secrets,
            interim_transcript_hash=interim_transcript_hash(suite, confirmed,
                                                            info.confirmation_tag),
        )


def open_welcome(
    welcome: Welcome,
    key_package: KeyPackage,
    init_private_key: bytes,
    psk_lookup: PskLookup | None = None,
) -> OpenedWelcome:
    """Decrypt our GroupSecrets and the GroupInfo of ``welcome`` (§12.4.3.1).

    :param key_package: our own KeyPackage, the one the committer added.
    :param init_private_key: the private key of ``key_package.init_key``.
    :param psk_lookup: the secret of each PSK the GroupSecrets name (none if omitted).
    :raises WelcomeCipherSuiteError: the Welcome's or the GroupInfo's suite is not the
        KeyPackage's.
    :raises NoWelcomeEntryError: no entry carries our KeyPackageRef.
    :raises UnknownPskError, WelcomePskError, InvalidPskNonceError: bad PSK list.
    :raises InvalidGroupInfoError: wrong GroupContext version, repeated extension types.
    :raises DecryptError: the GroupSecrets or the GroupInfo do not decrypt.
    :raises DecodeError: they decrypt to bytes that are not the structure.
    :raises UsageError: ``init_private_key`` does not belong to ``key_package``.
    """
    # §12.4.3.1: the suite of the KeyPackage must be the Welcome's; checked first, since
    # the KeyPackageRef is computed with the Welcome's hash.
    if welcome.cipher_suite != key_package.cipher_suite:
        raise WelcomeCipherSuiteError(
            f"Welcome is for suite {welcome.cipher_suite}, "
            f"our KeyPackage for {key_package.cipher_suite}", RULE)
    suite = cipher_suite(key_package.cipher_suite)
    if suite.hpke.public_key(init_private_key) != key_package.init_key:
        raise UsageError("init_private_key does not match the KeyPackage's init_key")

    ref = suite.make_key_package_ref(key_package.to_bytes())
    entry = next((s for s in welcome.secrets if s.new_member == ref), None)
    if entry is None:
        raise NoWelcomeEntryError("no EncryptedGroupSecrets for our KeyPackage", RULE)

    # encrypted_group_secrets = EncryptWithLabel(init_key, "Welcome",
    #                                            encrypted_group_info, group_secrets)
    ciphertext = entry.encrypted_group_secrets
    group_secrets = GroupSecrets.from_bytes(suite.decrypt_with_label(
        init_private_key, "Welcome", welcome.encrypted_group_info, ciphertext.kem_output,
        ciphertext.ciphertext))
    psk = psk_secret(suite, _resolve_psks(group_secrets.psks, psk_lookup))
    joiner_secret = JoinerSecret(group_secrets.joiner_secret)

    # welcome_secret from the joiner_secret and psk_secret (§8), then key and nonce;
    # the GroupInfo is sealed with empty associated data.
    keys = KeySchedule(suite, joiner_secret, psk).welcome_secret().key_and_nonce(suite)
    group_info = GroupInfo.from_bytes(
        suite.aead_open(keys.key, keys.nonce, b"", welcome.encrypted_group_info))
    _check_group_info(group_info, key_package)
    return OpenedWelcome(suite, ref, group_secrets, group_info, joiner_secret, psk)


def _is_reinit_or_branch(psk_id: PreSharedKeyID) -> bool:
    return psk_id.psktype == PSKType.RESUMPTION and psk_id.usage in (
        ResumptionPSKUsage.REINIT, ResumptionPSKUsage.BRANCH)


def _resolve_psks(ids: Sequence[PreSharedKeyID], lookup: PskLookup | None) -> list[Psk]:
    # §12.4.3.1: "If a PreSharedKeyID has type resumption with usage reinit or branch,
    # verify that it is the only such PSK."
    if sum(_is_reinit_or_branch(p) for p in ids) > 1:
        raise WelcomePskError("more than one reinit/branch resumption PSK", RULE)
    psks: list[Psk] = []
    for index, psk_id in enumerate(ids):
        # §12.4.3.1: a PSK we do not possess is an error, not something to skip.
        secret = lookup(psk_id) if lookup is not None else None
        if secret is None:
            raise UnknownPskError(f"GroupSecrets.psks[{index}] names a PSK we do not hold",
                                  RULE)
        psks.append(Psk(psk_id, secret))
    return psks


def _check_group_info(info: GroupInfo, key_package: KeyPackage) -> None:
    context = info.group_context
    # §12.4.3.1: "Verify that the cipher_suite in the GroupInfo matches the cipher_suite
    # in the KeyPackage."
    if context.cipher_suite != key_package.cipher_suite:
        raise WelcomeCipherSuiteError(
            f"GroupInfo is for suite {context.cipher_suite}, "
            f"our KeyPackage for {key_package.cipher_suite}", RULE)
    # §8.1: GroupContext.version is mls10; it must also be the KeyPackage's (§12.4.3.1
    # joins a group of the version we offered).
    if context.version != ProtocolVersion.MLS10 or context.version != key_package.version:
        raise InvalidGroupInfoError(f"GroupContext version {context.version}", "RFC 9420 §8.1")
    # §13: no extension list repeats a type.
    check_unique(info.extensions)
    check_unique(context.extensions)


# ---- committer ------------------------------------------------------------------------


def sign_group_info(suite: CipherSuite, tbs: GroupInfoTBS,
                    signer_private_key: PrivateKey) -> GroupInfo:
    """SignWithLabel(signer_private_key, "GroupInfoTBS", tbs) (§12.4.3).

    :raises UsageError: ``tbs`` is for another suite.
    """
    if tbs.group_context.cipher_suite != suite.suite_id:
        raise UsageError(f"GroupInfo is for suite {tbs.group_context.cipher_suite}, "
                         f"not {suite.suite_id}")
    return tbs.signed(suite.sign_with_label(signer_private_key, "GroupInfoTBS", tbs.to_bytes()))


def sign_group_info_tbs(suite: CipherSuite, tbs: bytes, signer_private_key: PrivateKey) -> bytes:
    """The encoded GroupInfo for an encoded GroupInfoTBS: SignWithLabel(signer_private_key,
    "GroupInfoTBS", tbs), appended as ``opaque signature<V>`` (§12.4.3; a GroupInfo is
    its GroupInfoTBS followed by the signature).

    :func:`sign_group_info` on bytes, for a committer that only sends the result: the
    TBS is encoded once and no GroupInfo value (nor its copy of the ratchet tree) is
    kept while signing. The caller makes ``tbs`` from a GroupContext of ``suite``.
    """
    signature = suite.sign_with_label(signer_private_key, "GroupInfoTBS", tbs)
    return b"".join((tbs, encode_varint(len(signature)), signature))


@dataclass(frozen=True, slots=True)
class NewMember:
    """One joiner of a Welcome: its KeyPackage and the GroupSecrets meant for it.

    GroupSecrets differ per member only in ``path_secret`` (§12.4.3.1).
    """

    key_package: KeyPackage
    group_secrets: GroupSecrets


def build_welcome(
    suite: CipherSuite,
    group_info: GroupInfo,
    welcome_secret: WelcomeSecret,
    new_members: Sequence[NewMember],
    rng: RandomSource,
) -> Welcome:
    """The Welcome for ``new_members`` (§12.4.3.1): :func:`encrypt_group_info`, then
    :func:`seal_welcome`.

    :param welcome_secret: from the committer's key schedule of the new epoch
        (:meth:`KeySchedule.welcome_secret`), with the same PSKs as the GroupSecrets.
    :param rng: the HPKE ephemeral keys of EncryptWithLabel.
    :raises UsageError: a KeyPackage or the GroupInfo is for another suite.
    :raises InvalidKeyError: a KeyPackage's init_key is not a valid HPKE public key.
    """
    if group_info.group_context.cipher_suite != suite.suite_id:
        raise UsageError("GroupInfo is for another cipher suite")
    return seal_welcome(suite, encrypt_group_info(suite, group_info.to_bytes(), welcome_secret),
                        new_members, rng)


def encrypt_group_info(suite: CipherSuite, group_info: bytes,
                       welcome_secret: WelcomeSecret) -> bytes:
    """A Welcome's ``encrypted_group_info`` (§12.4.3.1): the encoded GroupInfo sealed
    under the welcome key and nonce.

    The first half of :func:`build_welcome`, on bytes: a committer can then make the
    encoding with :func:`sign_group_info_tbs` and hold no GroupInfo value at all (with
    a ratchet_tree extension it is 3 MB at 10,000 members; every copy alive at once is
    memory the allocator must find).
    """
    keys = welcome_secret.key_and_nonce(suite)
    return suite.aead_seal(keys.key, keys.nonce, b"", group_info)


def seal_welcome(suite: CipherSuite, encrypted_group_info: bytes,
                 new_members: Sequence[NewMember], rng: RandomSource) -> Welcome:
    """The Welcome carrying ``encrypted_group_info`` (from :func:`encrypt_group_info`),
    with each new member's GroupSecrets sealed to its init key (§12.4.3.1).

    :param rng: the HPKE ephemeral keys of EncryptWithLabel.
    :raises UsageError: a KeyPackage is for another suite.
    :raises InvalidKeyError: a KeyPackage's init_key is not a valid HPKE public key.
    """
    for member in new_members:
        if member.key_package.cipher_suite != suite.suite_id:
            raise UsageError(f"KeyPackage is for suite {member.key_package.cipher_suite}")
    # The context binds each member's secrets to this very encrypted GroupInfo; it is
    # the same for all of them, so it is prepared once (the GroupInfo holds the tree).
    sealed = suite.encrypt_with_label_each(
        [(m.key_package.init_key, m.group_secrets.to_bytes()) for m in new_members],
        "Welcome", encrypted_group_info, rng)
    secrets = tuple(
        EncryptedGroupSecrets(suite.make_key_package_ref(m.key_package.to_bytes()),
                              HPKECiphertext(kem_output, ciphertext))
        for m, (kem_output, ciphertext) in zip(new_members, sealed, strict=True))
    return Welcome(suite.suite_id, secrets, encrypted_group_info)


__all__ = [
    "ConfirmationTagError",
    "GroupInfoSignatureError",
    "InvalidGroupInfoError",
    "NewMember",
    "NoWelcomeEntryError",
    "OpenedWelcome",
    "PskLookup",
    "UnknownPskError",
    "VerifiedWelcome",
    "WelcomeCipherSuiteError",
    "WelcomePskError",
    "build_welcome",
    "encrypt_group_info",
    "external_psk_lookup",
    "open_welcome",
    "seal_welcome",
    "sign_group_info",
    "sign_group_info_tbs",
]
