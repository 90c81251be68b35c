"""The MLS key schedule (RFC 9420 §8): from one epoch's secrets to the next.

::

    init_secret[n-1] (salt) + commit_secret (ikm) --Extract--> ·
      · --ExpandWithLabel("joiner", GroupContext[n], Nh)--> joiner_secret
    joiner_secret (salt) + psk_secret (ikm) --Extract--> member secret
      member secret --DeriveSecret("welcome")--> welcome_secret
      member secret --ExpandWithLabel("epoch", GroupContext[n], Nh)--> epoch_secret
    epoch_secret --DeriveSecret(<label>)--> the secrets of Table 4, and init_secret[n]

Every secret has its own type (:class:`InitSecret`, :class:`JoinerSecret`, ...), so a
membership key cannot be passed where a confirmation key belongs. Secrets compare in
constant time and never show their bytes in ``repr``.

:class:`KeySchedule` is a small state machine that refuses calls out of order: a joiner
learns the GroupContext only after decrypting the GroupInfo with the welcome key, so
the welcome secret is available first and the epoch secrets only once the context has
been added (§8, §12.4.3.1). Deriving the epoch secrets consumes the schedule.

Deletion (§9.2): Python cannot wipe memory; "deleting" a secret here means dropping
the last reference this library holds, which is the most a pure-Python layer can do.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Self

from cryptography.hazmat.primitives.constant_time import bytes_eq

from letterlock.codec import fast_init
from letterlock.crypto import CipherSuite, RandomSource

from .errors import InternalError, UsageError
from .group_context import GroupContext

# RFC 9420 §8.3: the HPKE exporter label of an external init.
EXTERNAL_INIT_LABEL = b"MLS 1.0 external init secret"


class _Secret:
    """A secret byte string of one kind: constant-time ``==``, redacted ``repr``."""

    __slots__ = ("_value",)

    def __init__(self, value: bytes) -> None:
        self._value = bytes(value)

    @property
    def value(self) -> bytes:
        """The raw bytes. Handle with care: never log them."""
        return self._value

    def __eq__(self, other: object) -> bool:
        # Same kind only: an InitSecret never equals a JoinerSecret with the same bytes.
        if type(other) is not type(self) or not isinstance(other, _Secret):
            return NotImplemented
        return bytes_eq(self._value, other._value)

    # Secrets are never dict keys or set members: hashing would not be constant-time.
    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"{type(self).__name__}(<{len(self._value)} bytes>)"


@fast_init  # a sender-data key for every message
@dataclass(frozen=True, slots=True)
class KeyAndNonce:
    """An AEAD key and nonce pair (welcome key, sender-data key, ...)."""

    key: bytes = field(repr=False)
    nonce: bytes = field(repr=False)


class InitSecret(_Secret):
    """init_secret: carried from one epoch into the next."""

    @classmethod
    def random(cls, suite: CipherSuite, rng: RandomSource) -> Self:
        """The init_secret of epoch 0: a fresh random value of KDF.Nh bytes (§11)."""
        return cls(rng.random_bytes(suite.n_h))

    @classmethod
    def external_init(
        cls, suite: CipherSuite, external_pub: bytes, rng: RandomSource
    ) -> tuple[bytes, Self]:
        """The joiner's side of §8.3: ``(kem_output, init_secret)`` for an ExternalInit.

        :raises InvalidKeyError: ``external_pub`` is not a valid HPKE public key.
        """
        kem_output, context = suite.hpke.setup_sender(external_pub, b"", rng)
        return kem_output, cls(context.export(EXTERNAL_INIT_LABEL, suite.n_h))


class CommitSecret(_Secret):
    """commit_secret: the path secret above the root, or zero for a path-less commit."""

    @classmethod
    def zero(cls, suite: CipherSuite) -> Self:
        """§8: "0", Nh zero bytes, for a Commit without an UpdatePath."""
        return cls(bytes(suite.n_h))


class PskSecret(_Secret):
    """psk_secret (§8.4); see :mod:`.psk` for how PSKs combine into it."""

    @classmethod
    def zero(cls, suite: CipherSuite) -> Self:
        """§8.4: psk_secret_[0], Nh zero bytes, used when no PSK is injected."""
        return cls(bytes(suite.n_h))


class JoinerSecret(_Secret):
    """joiner_secret: what a Welcome hands to new members (in GroupSecrets)."""

    @classmethod
    def derive(
        cls, suite: CipherSuite, init_secret: InitSecret, commit_secret: CommitSecret,
        group_context: GroupContext,
    ) -> Self:
        """ExpandWithLabel(Extract(init_secret, commit_secret), "joiner", GroupContext, Nh)."""
        _check_suite(suite, group_context)
        prk = suite.kdf_extract(init_secret.value, commit_secret.value)
        return cls(suite.expand_with_label(prk, "joiner", group_context.to_bytes(), suite.n_h))


class WelcomeSecret(_Secret):
    """welcome_secret: encrypts the GroupInfo inside a Welcome (§12.4.3.1)."""

    def key_and_nonce(self, suite: CipherSuite) -> KeyAndNonce:
        """welcome_key and welcome_nonce (§12.4.3.1).

        ExpandWithLabel(welcome_secret, "key", "", AEAD.Nk) and (·, "nonce", "", AEAD.Nn).
        """
        return KeyAndNonce(
            suite.expand_with_label(self.value, "key", b"", suite.n_k),
            suite.expand_with_label(self.value, "nonce", b"", suite.n_n),
        )


class EpochSecret(_Secret):
    """epoch_secret: the root of one epoch's derived secrets; consumed by them."""


class SenderDataSecret(_Secret):
    """sender_data_secret: keys the SenderData of PrivateMessages (§6.3.2)."""


class EncryptionSecret(_Secret):
    """encryption_secret: the root of the secret tree (§9)."""


class ExporterSecret(_Secret):
    """exporter_secret: the source of MLS-Exporter outputs (§8.5)."""

    def export(self, suite: CipherSuite, label: str | bytes, context: bytes, length: int) -> bytes:
        """MLS-Exporter(Label, Context, Length) =
        ExpandWithLabel(DeriveSecret(exporter_secret, Label), "exported", Hash(Context), Length).

        :raises ValueError: ``length`` is more than HKDF can produce (255 * Nh).
        """
        secret = suite.derive_secret(self.value, label)
        return suite.expand_with_label(secret, "exported", suite.hash(context), length)


class ExternalSecret(_Secret):
    """external_secret: seeds the group's external HPKE key pair (§8)."""

    def key_pair(self, suite: CipherSuite) -> tuple[bytes, bytes]:
        """``(external_priv, external_pub)`` = KEM.DeriveKeyPair(external_secret)."""
        return suite.derive_key_pair(self.value)

    def external_pub(self, suite: CipherSuite) -> bytes:
        """The public key published in the GroupInfo's external_pub extension."""
        return self.key_pair(suite)[1]

    def init_secret_from(self, suite: CipherSuite, kem_output: bytes) -> InitSecret:
        """The members' side of §8.3: the init_secret an ExternalInit's kem_output carries.

        :raises DecryptError: ``kem_output`` is not a valid encapsulation.
        """
        private_key, _ = self.key_pair(suite)
        context = suite.hpke.setup_receiver(kem_output, private_key, b"")
        return InitSecret(context.export(EXTERNAL_INIT_LABEL, suite.n_h))


class _TagKey(_Secret):
    """A MAC key: computes and checks (in constant time) HMAC tags."""

    def tag(self, suite: CipherSuite, data: bytes) -> bytes:
        return suite.mac(self.value, data)

    def verify_tag(self, suite: CipherSuite, data: bytes, tag: bytes) -> None:
        """Raises VerifyError when ``tag`` is not MAC(key, data)."""
        suite.verify_mac(self.value, data, tag)


class ConfirmationKey(_TagKey):
    """confirmation_key: confirmation_tag = MAC(confirmation_key, confirmed_transcript_hash)."""


class MembershipKey(_TagKey):
    """membership_key: membership_tag = MAC(membership_key, AuthenticatedContentTBM)."""


class ResumptionPsk(_Secret):
    """resumption_psk: this epoch's secret for later resumption PSKs (§8.6)."""


class EpochAuthenticator(_Secret):
    """epoch_authenticator: compared out of band to detect impersonation (§8.7)."""


@dataclass(frozen=True, slots=True)
class EpochSecrets:
    """The secrets derived from one epoch_secret (§8, Table 4), and the next init_secret."""

    sender_data_secret: SenderDataSecret
    encryption_secret: EncryptionSecret
    exporter_secret: ExporterSecret
    external_secret: ExternalSecret
    confirmation_key: ConfirmationKey
    membership_key: MembershipKey
    resumption_psk: ResumptionPsk
    epoch_authenticator: EpochAuthenticator
    init_secret: InitSecret

    @classmethod
    def derive(cls, suite: CipherSuite, epoch_secret: EpochSecret) -> Self:
        """DeriveSecret(epoch_secret, <label>) for each label of §8, Table 4."""

        def derive(label: str) -> bytes:
            return suite.derive_secret(epoch_secret.value, label)

        return cls(
            sender_data_secret=SenderDataSecret(derive("sender data")),
            encryption_secret=EncryptionSecret(derive("encryption")),
            exporter_secret=ExporterSecret(derive("exporter")),
            external_secret=ExternalSecret(derive("external")),
            confirmation_key=ConfirmationKey(derive("confirm")),
            membership_key=MembershipKey(derive("membership")),
            resumption_psk=ResumptionPsk(derive("resumption")),
            epoch_authenticator=EpochAuthenticator(derive("authentication")),
            init_secret=InitSecret(derive("init")),
        )


class _Stage(Enum):
    AWAITING_CONTEXT = "awaiting the group context"
    READY = "ready to derive the epoch secrets"
    CONSUMED = "consumed: the epoch secrets were already derived"


# The whole state machine: operation -> {stage it is allowed in: stage it leads to}.
_TRANSITIONS: dict[str, dict[_Stage, _Stage]] = {
    "welcome_secret": {_Stage.AWAITING_CONTEXT: _Stage.AWAITING_CONTEXT,
                       _Stage.READY: _Stage.READY},
    "add_context": {_Stage.AWAITING_CONTEXT: _Stage.READY},
    "epoch_secrets": {_Stage.READY: _Stage.CONSUMED},
}


class KeySchedule:
    """One epoch's run of the key schedule, from the joiner_secret on.

    Committer: ``KeySchedule.for_commit(...)`` (context already added). Joiner:
    ``KeySchedule(suite, joiner_secret, psk_secret)``, then :meth:`welcome_secret` to
    open the GroupInfo, then :meth:`add_context`, then :meth:`epoch_secrets`. Calls out
    of this order raise :class:`UsageError`.
    """

    __slots__ = ("_context", "_member_secret", "_stage", "_suite")

    def __init__(
        self, suite: CipherSuite, joiner_secret: JoinerSecret, psk_secret: PskSecret | None = None
    ) -> None:
        self._suite = suite
        psk = psk_secret if psk_secret is not None else PskSecret.zero(suite)
        # The unnamed intermediate of §8: Extract(salt=joiner_secret, ikm=psk_secret).
        self._member_secret: bytes | None = suite.kdf_extract(joiner_secret.value, psk.value)
        self._context: bytes | None = None
        self._stage = _Stage.AWAITING_CONTEXT

    @classmethod
    def for_commit(
        cls, suite: CipherSuite, init_secret: InitSecret, commit_secret: CommitSecret | None,
        psk_secret: PskSecret | None, group_context: GroupContext,
    ) -> tuple[Self, JoinerSecret]:
        """A member's schedule for the epoch ``group_context`` describes.

        ``commit_secret`` None means a commit without a path (zero, §8).
        :returns: the schedule, ready for :meth:`epoch_secrets`, and the joiner_secret
            to place in the Welcome's GroupSecrets.
        """
        commit = commit_secret if commit_secret is not None else CommitSecret.zero(suite)
        joiner = JoinerSecret.derive(suite, init_secret, commit, group_context)
        schedule = cls(suite, joiner, psk_secret)
        schedule.add_context(group_context)
        return schedule, joiner

    @property
    def stage(self) -> str:
        return self._stage.value

    def _advance(self, operation: str) -> None:
        allowed = _TRANSITIONS[operation]
        if self._stage not in allowed:
            raise UsageError(f"key schedule: cannot {operation} when {self._stage.value}")
        self._stage = allowed[self._stage]

    def welcome_secret(self) -> WelcomeSecret:
        """DeriveSecret(member_secret, "welcome"). Allowed until the epoch secrets exist."""
        self._advance("welcome_secret")
        member_secret = _present(self._member_secret)
        return WelcomeSecret(self._suite.derive_secret(member_secret, "welcome"))

    def add_context(self, group_context: GroupContext) -> None:
        """Bind the schedule to the new epoch's GroupContext (once)."""
        _check_suite(self._suite, group_context)
        self._advance("add_context")
        self._context = group_context.to_bytes()

    def epoch_secrets(self) -> EpochSecrets:
        """Derive epoch_secret and everything below it; the schedule is then consumed.

        :raises UsageError: no group context yet, or called a second time.
        """
        self._advance("epoch_secrets")
        member_secret, context = _present(self._member_secret), _present(self._context)
        epoch_secret = EpochSecret(
            self._suite.expand_with_label(member_secret, "epoch", context, self._suite.n_h)
        )
        # §9.2: the intermediate secret is consumed once the epoch secret exists.
        self._member_secret = None
        return EpochSecrets.derive(self._suite, epoch_secret)


def _present(value: bytes | None) -> bytes:
    # The stage table guarantees the value exists; if not, the table has a bug.
    if value is None:
        raise InternalError("key schedule state does not match its stage")
    return value


def _check_suite(suite: CipherSuite, group_context: GroupContext) -> None:
    if group_context.cipher_suite != suite.suite_id:
        raise UsageError(
            f"group context is for suite {group_context.cipher_suite}, not {suite.suite_id}"
        )


__all__ = [
    "EXTERNAL_INIT_LABEL",
    "CommitSecret",
    "ConfirmationKey",
    "EncryptionSecret",
    "EpochAuthenticator",
    "EpochSecret",
    "EpochSecrets",
    "ExporterSecret",
    "ExternalSecret",
    "InitSecret",
    "JoinerSecret",
    "KeyAndNonce",
    "KeySchedule",
    "MembershipKey",
    "PskSecret",
    "ResumptionPsk",
    "SenderDataSecret",
    "WelcomeSecret",
]
