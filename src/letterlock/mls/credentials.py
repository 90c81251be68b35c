"""Credentials (RFC 9420 §5.3): who a leaf claims to be.

The credential types form an extensible IANA registry (§17.5), and §5.3 lets a group
use types this library does not know. Their content has no layout in RFC 9420, so we
follow the convention OpenMLS and mls-rs use for unknown credentials: the content is a
single ``opaque content<V>``. A ``basic`` credential has exactly that shape already,
and an ``x509`` one (a ``Certificate certificates<V>`` vector) is one length-prefixed
block too, so every credential in the wild round-trips byte-exact. Only ``x509``
contents are parsed further, strictly.

Whether a credential is acceptable is the Authentication Service's decision (§5.3.1)
and lives above this module.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Self

from letterlock.codec import Reader, Struct, Writer

from ._wire import known_or_int, require
from .constants import CredentialType


@dataclass(frozen=True, slots=True)
class Certificate(Struct):
    """One DER certificate of an X.509 chain (§5.3)::

        struct {
            opaque cert_data<V>;
        } Certificate;
    """

    cert_data: bytes

    def push(self, w: Writer) -> None:
        w.push_opaque(self.cert_data)

    @classmethod
    def pull(cls, r: Reader) -> Self:
        return cls(r.pull_opaque())


@dataclass(frozen=True, slots=True)
class Credential(Struct):
    """A credential (§5.3)::

        struct {
            CredentialType credential_type;
            select (Credential.credential_type) {
                case basic:
                    opaque identity<V>;
                case x509:
                    Certificate certificates<V>;
            };
        } Credential;

    One field carries the content, chosen by ``credential_type``: ``identity`` for
    ``basic``, ``certificates`` for ``x509``, and ``content`` (the opaque body, see the
    module docstring) for any other type. The fields of the other cases stay empty; the
    constructor raises :class:`~letterlock.mls.errors.UsageError` otherwise. Prefer the
    :meth:`basic`, :meth:`x509` and :meth:`other` constructors.
    """

    credential_type: int
    identity: bytes = b""
    certificates: tuple[Certificate, ...] = ()
    content: bytes = b""

    def __post_init__(self) -> None:
        kind = self.credential_type
        require(kind == CredentialType.BASIC or not self.identity,
                "identity is only for basic credentials")
        require(kind == CredentialType.X509 or not self.certificates,
                "certificates are only for x509 credentials")
        require(kind not in (CredentialType.BASIC, CredentialType.X509) or not self.content,
                "content is only for credential types other than basic and x509")

    @classmethod
    def basic(cls, identity: bytes) -> Self:
        """A basic credential: an identity the application interprets (§5.3)."""
        return cls(CredentialType.BASIC, identity=identity)

    @classmethod
    def x509(cls, chain: Sequence[bytes]) -> Self:
        """An X.509 credential from DER certificates, the leaf's own first (§5.3)."""
        return cls(CredentialType.X509, certificates=tuple(Certificate(c) for c in chain))

    @classmethod
    def other(cls, credential_type: int, content: bytes) -> Self:
        """A credential of a type RFC 9420 does not define, with its opaque content."""
        return cls(credential_type, content=content)

    def push(self, w: Writer) -> None:
        w.push_uint16(self.credential_type)
        if self.credential_type == CredentialType.BASIC:
            w.push_opaque(self.identity)
        elif self.credential_type == CredentialType.X509:
            w.push_vector(self.certificates, lambda w2, c: c.push(w2))
        else:
            w.push_opaque(self.content)

    @classmethod
    def pull(cls, r: Reader) -> Self:
        kind = known_or_int(CredentialType, r.pull_uint16())
        if kind == CredentialType.BASIC:
            return cls(kind, identity=r.pull_opaque())
        if kind == CredentialType.X509:
            return cls(kind, certificates=tuple(r.pull_vector(Certificate.pull)))
        return cls(kind, content=r.pull_opaque())
