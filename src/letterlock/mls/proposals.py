"""Proposals (RFC 9420 §12.1) and the PreSharedKeyID they and Welcomes carry (§8.4).

Each proposal body is its own struct, encoded without its type (that is how the
official vectors give them); :class:`Proposal` adds the ``proposal_type`` tag.

Proposal types are an extensible registry (§12.1, §17.4): a group may use types this
library does not implement, and a Commit may carry them by value. Their body has no
layout in RFC 9420, so an unknown type decodes to :class:`CustomProposal` whose body
is one ``opaque data<V>`` (the convention of OpenMLS and mls-rs). Whether a custom
type is acceptable (§12.2: every member must list it in its capabilities) is decided
by the group, not by the codec.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Self, TypeAlias

from letterlock.codec import Reader, Struct, Writer

from ._wire import known_or_int, pull_tag, require
from .constants import (
    CipherSuiteId,
    ProposalType,
    ProtocolVersion,
    PSKType,
    ResumptionPSKUsage,
)
from .extensions import Extension, pull_extensions, push_extensions
from .key_package import KeyPackage
from .leaf_node import LeafNode


@dataclass(frozen=True, slots=True, kw_only=True)
class PreSharedKeyID(Struct):
    """Names a pre-shared key to inject into the key schedule (§8.4)::

        struct {
            PSKType psktype;
            select (PreSharedKeyID.psktype) {
                case external:
                    opaque psk_id<V>;
                case resumption:
                    ResumptionPSKUsage usage;
                    opaque psk_group_id<V>;
                    uint64 psk_epoch;
            };
            opaque psk_nonce<V>;
        } PreSharedKeyID;

    ``psk_id`` is set exactly for external PSKs; ``usage``, ``psk_group_id`` and
    ``psk_epoch`` exactly for resumption PSKs (UsageError otherwise). Prefer the
    :meth:`external` and :meth:`resumption` constructors.
    """

    psktype: PSKType
    psk_nonce: bytes
    psk_id: bytes | None = None
    usage: ResumptionPSKUsage | None = None
    psk_group_id: bytes | None = None
    psk_epoch: int | None = None

    def __post_init__(self) -> None:
        external = self.psktype == PSKType.EXTERNAL
        require((self.psk_id is not None) == external, "psk_id is set exactly for external PSKs")
        resumption = (self.usage, self.psk_group_id, self.psk_epoch)
        require(all(v is not None for v in resumption) if not external
                else all(v is None for v in resumption),
                "usage, psk_group_id and psk_epoch are set exactly for resumption PSKs")

    @classmethod
    def external(cls, psk_id: bytes, psk_nonce: bytes) -> Self:
        return cls(psktype=PSKType.EXTERNAL, psk_id=psk_id, psk_nonce=psk_nonce)

    @classmethod
    def resumption(cls, usage: ResumptionPSKUsage, psk_group_id: bytes, psk_epoch: int,
                   psk_nonce: bytes) -> Self:
        return cls(psktype=PSKType.RESUMPTION, usage=usage, psk_group_id=psk_group_id,
                   psk_epoch=psk_epoch, psk_nonce=psk_nonce)

    def push(self, w: Writer) -> None:
        w.push_uint8(self.psktype)
        if self.psk_id is not None:
            w.push_opaque(self.psk_id)
        if self.usage is not None and self.psk_group_id is not None \
                and self.psk_epoch is not None:
            w.push_uint8(self.usage)
            w.push_opaque(self.psk_group_id)
            w.push_uint64(self.psk_epoch)
        w.push_opaque(self.psk_nonce)

    @classmethod
    def pull(cls, r: Reader) -> Self:
        if pull_tag(r, PSKType, "psktype", width=1) == PSKType.EXTERNAL:
            return cls.external(r.pull_opaque(), r.pull_opaque())
        usage = pull_tag(r, ResumptionPSKUsage, "resumption usage", width=1)
        return cls.resumption(usage, r.pull_opaque(), r.pull_uint64(), r.pull_opaque())


@dataclass(frozen=True, slots=True)
class Add(Struct):
    """``struct { KeyPackage key_package; } Add;`` (§12.1.1)"""

    proposal_type: ClassVar[int] = ProposalType.ADD
    key_package: KeyPackage

    def push(self, w: Writer) -> None:
        self.key_package.push(w)

    @classmethod
    def pull(cls, r: Reader) -> Self:
        return cls(KeyPackage.pull(r))


@dataclass(frozen=True, slots=True)
class Update(Struct):
    """``struct { LeafNode leaf_node; } Update;`` (§12.1.2)"""

    proposal_type: ClassVar[int] = ProposalType.UPDATE
    leaf_node: LeafNode

    def push(self, w: Writer) -> None:
        self.leaf_node.push(w)

    @classmethod
    def pull(cls, r: Reader) -> Self:
        return cls(LeafNode.pull(r))


@dataclass(frozen=True, slots=True)
class Remove(Struct):
    """``struct { uint32 removed; } Remove;`` (§12.1.3): the leaf index to remove."""

    proposal_type: ClassVar[int] = ProposalType.REMOVE
    removed: int

    def push(self, w: Writer) -> None:
        w.push_uint32(self.removed)

    @classmethod
    def pull(cls, r: Reader) -> Self:
        return cls(r.pull_uint32())


@dataclass(frozen=True, slots=True)
class PreSharedKey(Struct):
    """``struct { PreSharedKeyID psk; } PreSharedKey;`` (§12.1.4)"""

    proposal_type: ClassVar[int] = ProposalType.PSK
    psk: PreSharedKeyID

    def push(self, w: Writer) -> None:
        self.psk.push(w)

    @classmethod
    def pull(cls, r: Reader) -> Self:
        return cls(PreSharedKeyID.pull(r))


@dataclass(frozen=True, slots=True)
class ReInit(Struct):
    """Reinitialise the group with new parameters (§12.1.5)::

        struct {
            opaque group_id<V>;
            ProtocolVersion version;
            CipherSuite cipher_suite;
            Extension extensions<V>;
        } ReInit;
    """

    proposal_type: ClassVar[int] = ProposalType.REINIT
    group_id: bytes
    version: int
    cipher_suite: int
    extensions: tuple[Extension, ...] = ()

    def push(self, w: Writer) -> None:
        w.push_opaque(self.group_id)
        w.push_uint16(self.version)
        w.push_uint16(self.cipher_suite)
        push_extensions(w, self.extensions)

    @classmethod
    def pull(cls, r: Reader) -> Self:
        return cls(r.pull_opaque(), known_or_int(ProtocolVersion, r.pull_uint16()),
                   known_or_int(CipherSuiteId, r.pull_uint16()), pull_extensions(r))


@dataclass(frozen=True, slots=True)
class ExternalInit(Struct):
    """``struct { opaque kem_output<V>; } ExternalInit;`` (§12.1.6)"""

    proposal_type: ClassVar[int] = ProposalType.EXTERNAL_INIT
    kem_output: bytes

    def push(self, w: Writer) -> None:
        w.push_opaque(self.kem_output)

    @classmethod
    def pull(cls, r: Reader) -> Self:
        return cls(r.pull_opaque())


@dataclass(frozen=True, slots=True)
class GroupContextExtensions(Struct):
    """``struct { Extension extensions<V>; } GroupContextExtensions;`` (§12.1.7)"""

    proposal_type: ClassVar[int] = ProposalType.GROUP_CONTEXT_EXTENSIONS
    extensions: tuple[Extension, ...] = ()

    def push(self, w: Writer) -> None:
        push_extensions(w, self.extensions)

    @classmethod
    def pull(cls, r: Reader) -> Self:
        return cls(pull_extensions(r))


@dataclass(frozen=True, slots=True)
class CustomProposal:
    """A proposal of a type RFC 9420 does not define: ``opaque data<V>`` after the type.

    ``proposal_type`` must not be one of the types above (their bodies have their own
    classes), else UsageError. It is not a standalone Struct: without its type the body
    could not be told apart, so it only travels inside :class:`Proposal`.
    """

    proposal_type: int
    data: bytes

    def __post_init__(self) -> None:
        require(self.proposal_type not in tuple(ProposalType),
                f"proposal type {self.proposal_type} has its own class")

    def push(self, w: Writer) -> None:
        w.push_opaque(self.data)


ProposalBody: TypeAlias = (Add | Update | Remove | PreSharedKey | ReInit | ExternalInit
                           | GroupContextExtensions | CustomProposal)


@dataclass(frozen=True, slots=True)
class Proposal(Struct):
    """A proposal with its type (§12.1)::

        struct {
            ProposalType proposal_type;
            select (Proposal.proposal_type) {
                case add:                      Add;
                case update:                   Update;
                case remove:                   Remove;
                case psk:                      PreSharedKey;
                case reinit:                   ReInit;
                case external_init:            ExternalInit;
                case group_context_extensions: GroupContextExtensions;
            };
        } Proposal;

    The tag follows from the type of ``body``.
    """

    body: ProposalBody

    @property
    def proposal_type(self) -> int:
        return self.body.proposal_type

    def push(self, w: Writer) -> None:
        w.push_uint16(self.body.proposal_type)
        self.body.push(w)

    @classmethod
    def pull(cls, r: Reader) -> Self:
        kind = r.pull_uint16()
        body: ProposalBody
        match kind:
            case ProposalType.ADD:
                body = Add.pull(r)
            case ProposalType.UPDATE:
                body = Update.pull(r)
            case ProposalType.REMOVE:
                body = Remove.pull(r)
            case ProposalType.PSK:
                body = PreSharedKey.pull(r)
            case ProposalType.REINIT:
                body = ReInit.pull(r)
            case ProposalType.EXTERNAL_INIT:
                body = ExternalInit.pull(r)
            case ProposalType.GROUP_CONTEXT_EXTENSIONS:
                body = GroupContextExtensions.pull(r)
            case _:
                body = CustomProposal(kind, r.pull_opaque())
        return cls(body)
