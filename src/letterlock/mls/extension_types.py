"""Typed extensions (RFC 9420 §13, §17.3) and capability negotiation (§7.2, §7.3, §11.1).

An :class:`~letterlock.mls.extensions.Extension` carries its body as opaque bytes. This
module gives each body RFC 9420 defines its own struct, plus last_resort from
draft-ietf-mls-extensions, and converts both ways::

    application_id         0x0001  ApplicationId          §5.3.3  LeafNode
    ratchet_tree           0x0002  RatchetTree            §12.4.3.3  GroupInfo
    required_capabilities  0x0003  RequiredCapabilities   §11.1   GroupContext
    external_pub           0x0004  ExternalPub            §12.4.3.2  GroupInfo
    external_senders       0x0005  ExternalSenders        §12.1.8.1  GroupContext
    last_resort            0x000A  LastResort             draft-ietf-mls-extensions  KeyPackage

:func:`to_extension` wraps a body; :func:`parse_extension` / :func:`get_extension` decode
one (DecodeError for malformed bytes, since the body came from the peer).

Negotiation: a client lists in ``Capabilities`` the non-default proposal and extension
types it supports and all its credential types (§7.2). The ``check_*`` functions enforce
the §7.3 and §11.1 rules a leaf must meet before it joins or stays in a group and raise
:class:`UnsupportedCapabilityError` naming the rule; the ``supports_*`` predicates answer
the underlying questions.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Self, TypeAlias, TypeVar

from letterlock.codec import Reader, Struct, Writer

from ._wire import pull_uint16s, push_uint16s
from .constants import ExtensionType, ProposalType
from .credentials import Credential
from .errors import InvalidMessageError, UsageError
from .extensions import Extension, find_extension
from .leaf_node import Capabilities, LeafNode
from .tree_nodes import RatchetTree

# §7.2: "The following proposal and extension types are considered 'default' and MUST
# NOT be listed" -- every client implements them. Credential types have no defaults.
DEFAULT_PROPOSAL_TYPES: frozenset[int] = frozenset({
    ProposalType.ADD, ProposalType.UPDATE, ProposalType.REMOVE, ProposalType.PSK,
    ProposalType.REINIT, ProposalType.EXTERNAL_INIT, ProposalType.GROUP_CONTEXT_EXTENSIONS,
})
DEFAULT_EXTENSION_TYPES: frozenset[int] = frozenset({
    ExtensionType.APPLICATION_ID, ExtensionType.RATCHET_TREE,
    ExtensionType.REQUIRED_CAPABILITIES, ExtensionType.EXTERNAL_PUB,
    ExtensionType.EXTERNAL_SENDERS,
})


# ---- the bodies -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ApplicationId(Struct):
    """``struct { opaque application_id<V>; } ApplicationId;`` (§5.3.3)

    An application-chosen identifier of the client, in a LeafNode.
    """

    application_id: bytes

    def push(self, w: Writer) -> None:
        w.push_opaque(self.application_id)

    @classmethod
    def pull(cls, r: Reader) -> Self:
        return cls(r.pull_opaque())


@dataclass(frozen=True, slots=True)
class RequiredCapabilities(Struct):
    """What every member must support (§11.1)::

        struct {
            ExtensionType extension_types<V>;
            ProposalType proposal_types<V>;
            CredentialType credential_types<V>;
        } RequiredCapabilities;

    Code points are kept as ints: they may name types this library does not know.
    """

    extension_types: tuple[int, ...] = ()
    proposal_types: tuple[int, ...] = ()
    credential_types: tuple[int, ...] = ()

    def push(self, w: Writer) -> None:
        push_uint16s(w, self.extension_types)
        push_uint16s(w, self.proposal_types)
        push_uint16s(w, self.credential_types)

    @classmethod
    def pull(cls, r: Reader) -> Self:
        return cls(pull_uint16s(r), pull_uint16s(r), pull_uint16s(r))


@dataclass(frozen=True, slots=True)
class ExternalPub(Struct):
    """``struct { HPKEPublicKey external_pub; } ExternalPub;`` (§12.4.3.2)

    The group's external HPKE key, in a GroupInfo, for external commits (§8.3).
    """

    external_pub: bytes

    def push(self, w: Writer) -> None:
        w.push_opaque(self.external_pub)

    @classmethod
    def pull(cls, r: Reader) -> Self:
        return cls(r.pull_opaque())


@dataclass(frozen=True, slots=True)
class ExternalSender(Struct):
    """One party allowed to send proposals from outside the group (§12.1.8.1)::

        struct {
          SignaturePublicKey signature_key;
          Credential credential;
        } ExternalSender;
    """

    signature_key: bytes
    credential: Credential

    def push(self, w: Writer) -> None:
        w.push_opaque(self.signature_key)
        self.credential.push(w)

    @classmethod
    def pull(cls, r: Reader) -> Self:
        return cls(r.pull_opaque(), Credential.pull(r))


@dataclass(frozen=True, slots=True)
class ExternalSenders(Struct):
    """``ExternalSender external_senders<V>;`` (§12.1.8.1), in the GroupContext.

    An external sender's ``sender_index`` (§6) indexes :attr:`senders`.
    """

    senders: tuple[ExternalSender, ...] = ()

    def push(self, w: Writer) -> None:
        w.push_vector(self.senders, lambda w2, s: s.push(w2))

    @classmethod
    def pull(cls, r: Reader) -> Self:
        return cls(tuple(r.pull_vector(ExternalSender.pull)))


@dataclass(frozen=True, slots=True)
class LastResort(Struct):
    """The last_resort KeyPackage extension (draft-ietf-mls-extensions): no body.

    It marks a KeyPackage the server may hand out more than once when the one-time ones
    run out; its extension_data is empty, so any byte in it is a DecodeError.
    """

    def push(self, w: Writer) -> None:
        pass

    @classmethod
    def pull(cls, r: Reader) -> Self:
        return cls()


ExtensionBody: TypeAlias = (
    ApplicationId | RatchetTree | RequiredCapabilities | ExternalPub | ExternalSenders
    | LastResort
)
B = TypeVar("B", ApplicationId, RatchetTree, RequiredCapabilities, ExternalPub,
            ExternalSenders, LastResort)

# The registry: which struct is the body of which extension type.
_BODY_TYPES: dict[ExtensionType, type[ExtensionBody]] = {
    ExtensionType.APPLICATION_ID: ApplicationId,
    ExtensionType.RATCHET_TREE: RatchetTree,
    ExtensionType.REQUIRED_CAPABILITIES: RequiredCapabilities,
    ExtensionType.EXTERNAL_PUB: ExternalPub,
    ExtensionType.EXTERNAL_SENDERS: ExternalSenders,
    ExtensionType.LAST_RESORT: LastResort,
}
_EXTENSION_TYPES: dict[type[ExtensionBody], ExtensionType] = {
    body: ext_type for ext_type, body in _BODY_TYPES.items()
}


def extension_type_of(body_type: type[ExtensionBody]) -> ExtensionType:
    """The extension type whose body ``body_type`` is."""
    try:
        return _EXTENSION_TYPES[body_type]
    except KeyError:
        raise UsageError(f"{body_type.__name__} is not an extension body") from None


def to_extension(body: ExtensionBody) -> Extension:
    """The Extension carrying ``body`` under its own type."""
    return Extension(extension_type_of(type(body)), body.to_bytes())


def parse_extension(extension: Extension) -> ExtensionBody | None:
    """The typed body of ``extension``, or None for a type this module does not know.

    :raises DecodeError: the body is not the canonical encoding of its type's struct.
    """
    try:
        body_type = _BODY_TYPES[ExtensionType(extension.extension_type)]
    except (KeyError, ValueError):
        return None
    return body_type.from_bytes(extension.extension_data)


def get_extension(extensions: Sequence[Extension], body_type: type[B]) -> B | None:
    """The body of the extension of ``body_type``'s type in ``extensions``, or None.

    :raises DecodeError: that extension's body is malformed.
    """
    extension = find_extension(extensions, extension_type_of(body_type))
    return None if extension is None else body_type.from_bytes(extension.extension_data)


# ---- capability negotiation -----------------------------------------------------------


class UnsupportedCapabilityError(InvalidMessageError):
    """A leaf lacks a capability the group relies on, or uses one it does not list."""


def supports_extension(capabilities: Capabilities, extension_type: int) -> bool:
    """Whether the client implements ``extension_type``: a default one, or listed (§7.2)."""
    return extension_type in DEFAULT_EXTENSION_TYPES or extension_type in capabilities.extensions


def supports_proposal(capabilities: Capabilities, proposal_type: int) -> bool:
    """Whether the client implements ``proposal_type``: a default one, or listed (§7.2)."""
    return proposal_type in DEFAULT_PROPOSAL_TYPES or proposal_type in capabilities.proposals


def supports_credential(capabilities: Capabilities, credential_type: int) -> bool:
    """Whether the client accepts ``credential_type``; there are no defaults (§7.2, §11.1)."""
    return credential_type in capabilities.credentials


def _missing(what: str, values: Iterable[int], rule: str) -> None:
    listed = ", ".join(f"0x{v:04x}" for v in values)
    if listed:
        raise UnsupportedCapabilityError(f"capabilities do not support {what} {listed}", rule)


def check_required_capabilities(
    capabilities: Capabilities, required: RequiredCapabilities
) -> None:
    """§7.3 / §11.1: the required extensions, proposals and credential types MUST be
    supported (default types count as supported, §11.1).

    :raises UnsupportedCapabilityError: naming the first kind of missing capability.
    """
    rule = "RFC 9420 §11.1"
    _missing("extension types",
             [t for t in required.extension_types if not supports_extension(capabilities, t)],
             rule)
    _missing("proposal types",
             [t for t in required.proposal_types if not supports_proposal(capabilities, t)],
             rule)
    _missing("credential types",
             [t for t in required.credential_types if not supports_credential(capabilities, t)],
             rule)


def check_group_extensions_supported(
    capabilities: Capabilities, group_extensions: Sequence[Extension]
) -> None:
    """A member must implement every extension in the GroupContext (§11.1, §12.1.7,
    §13.4), and the group's required_capabilities (§7.3).

    :raises UnsupportedCapabilityError: a non-default extension type is not listed, or
        a required capability is missing.
    :raises DecodeError: the required_capabilities body is malformed.
    """
    _missing("GroupContext extension types",
             [e.extension_type for e in group_extensions
              if not supports_extension(capabilities, e.extension_type)],
             "RFC 9420 §13.4")
    required = get_extension(group_extensions, RequiredCapabilities)
    if required is not None:
        check_required_capabilities(capabilities, required)


def check_leaf_lists_what_it_uses(leaf: LeafNode) -> None:
    """§7.2, §7.3: a leaf's own non-default extensions and its credential type MUST be
    listed in its capabilities.

    :raises UnsupportedCapabilityError: something used is not listed.
    """
    _missing("their own extension types",
             [e.extension_type for e in leaf.extensions
              if not supports_extension(leaf.capabilities, e.extension_type)],
             "RFC 9420 §7.3")
    if not supports_credential(leaf.capabilities, leaf.credential.credential_type):
        _missing("their own credential type", [leaf.credential.credential_type],
                 "RFC 9420 §7.2")


def check_credential_compatibility(leaf: LeafNode, members: Iterable[LeafNode]) -> None:
    """§7.3: every member supports ``leaf``'s credential type, and ``leaf`` supports the
    credential types every member uses.

    :param members: the leaves of the group's other members.
    :raises UnsupportedCapabilityError: either direction fails.
    """
    rule = "RFC 9420 §7.3"
    own = leaf.credential.credential_type
    for member in members:
        if not supports_credential(member.capabilities, own):
            _missing("the new leaf's credential type (a member)", [own], rule)
        theirs = member.credential.credential_type
        if not supports_credential(leaf.capabilities, theirs):
            _missing("a credential type in use", [theirs], rule)


def check_leaf_capabilities(
    leaf: LeafNode, group_extensions: Sequence[Extension], members: Iterable[LeafNode] = ()
) -> None:
    """All §7.3 capability checks of a leaf against its group, in one call.

    :param group_extensions: the GroupContext's extensions.
    :param members: the leaves of the other members (for credential compatibility).
    :raises UnsupportedCapabilityError: the first rule broken.
    :raises DecodeError: the required_capabilities body is malformed.
    """
    check_leaf_lists_what_it_uses(leaf)
    check_group_extensions_supported(leaf.capabilities, group_extensions)
    check_credential_compatibility(leaf, members)


__all__ = [
    "DEFAULT_EXTENSION_TYPES",
    "DEFAULT_PROPOSAL_TYPES",
    "ApplicationId",
    "ExtensionBody",
    "ExternalPub",
    "ExternalSender",
    "ExternalSenders",
    "LastResort",
    "RatchetTree",
    "RequiredCapabilities",
    "UnsupportedCapabilityError",
    "check_credential_compatibility",
    "check_group_extensions_supported",
    "check_leaf_capabilities",
    "check_leaf_lists_what_it_uses",
    "check_required_capabilities",
    "extension_type_of",
    "get_extension",
    "parse_extension",
    "supports_credential",
    "supports_extension",
    "supports_proposal",
    "to_extension",
]
