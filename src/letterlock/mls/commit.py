"""Commits (RFC 9420 §12.4): the proposals an epoch change applies, and an update path.

Wire forms only; applying a Commit is the group's business.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Self

from letterlock.codec import Reader, Struct, Writer

from ._wire import pull_tag, require
from .constants import ProposalOrRefType
from .proposals import Proposal
from .tree_nodes import UpdatePath


@dataclass(frozen=True, slots=True)
class ProposalOrRef(Struct):
    """A proposal sent inline, or a reference to one sent earlier (§12.4)::

        struct {
            ProposalOrRefType type;
            select (ProposalOrRef.type) {
                case proposal:  Proposal proposal;
                case reference: ProposalRef reference;
            };
        } ProposalOrRef;

    Exactly one of ``proposal`` and ``reference`` (``opaque ProposalRef<V>``, §5.2) is
    set (UsageError otherwise); :attr:`type` follows from which one.
    """

    proposal: Proposal | None = None
    reference: bytes | None = None

    def __post_init__(self) -> None:
        require((self.proposal is None) != (self.reference is None),
                "a ProposalOrRef holds exactly one of proposal and reference")

    @property
    def type(self) -> ProposalOrRefType:
        if self.proposal is not None:
            return ProposalOrRefType.PROPOSAL
        return ProposalOrRefType.REFERENCE

    def push(self, w: Writer) -> None:
        w.push_uint8(self.type)
        if self.proposal is not None:
            self.proposal.push(w)
        elif self.reference is not None:
            w.push_opaque(self.reference)

    @classmethod
    def pull(cls, r: Reader) -> Self:
        if pull_tag(r, ProposalOrRefType, "ProposalOrRef type", width=1) \
                == ProposalOrRefType.PROPOSAL:
            return cls(proposal=Proposal.pull(r))
        return cls(reference=r.pull_opaque())


@dataclass(frozen=True, slots=True)
class Commit(Struct):
    """A Commit (§12.4)::

        struct {
            ProposalOrRef proposals<V>;
            optional<UpdatePath> path;
        } Commit;
    """

    proposals: tuple[ProposalOrRef, ...] = ()
    path: UpdatePath | None = None

    def push(self, w: Writer) -> None:
        w.push_vector(self.proposals, lambda w2, p: p.push(w2))
        w.push_optional(self.path, lambda w2, p: p.push(w2))

    @classmethod
    def pull(cls, r: Reader) -> Self:
        return cls(tuple(r.pull_vector(ProposalOrRef.pull)), r.pull_optional(UpdatePath.pull))
