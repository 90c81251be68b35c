"""The plain values around a Group: its local policy, roster entries, commit results."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from ..constants import WireFormat
from ..credentials import Credential
from ..secret_tree import RatchetConfig
from ..treekem import PrivateTree
from ._epoch import EpochState
from .events import CommitApplied


class WireFormatPolicy(Enum):
    """How our proposals and commits travel: PublicMessage (a delivery service can
    follow the group with a :class:`PublicGroup`) or PrivateMessage (§6.3)."""

    PUBLIC = WireFormat.PUBLIC_MESSAGE
    PRIVATE = WireFormat.PRIVATE_MESSAGE


@dataclass(frozen=True, slots=True)
class GroupConfig:
    """Local policy; not part of the protocol state other members see.

    ``max_past_epochs``: how many earlier epochs keep their secret trees, so that late
    application messages still decrypt (§15.3 trades this against forward secrecy;
    default 0). ``resumption_psk_epochs``: how many epochs' resumption PSKs are kept.
    """

    wire_format_policy: WireFormatPolicy = WireFormatPolicy.PUBLIC
    max_past_epochs: int = 0
    resumption_psk_epochs: int = 16
    ratchet: RatchetConfig = field(default_factory=RatchetConfig)
    ratchet_tree_in_welcome: bool = True


@dataclass(frozen=True, slots=True)
class Member:
    """One roster entry: leaf index, credential and signature key."""

    leaf: int
    credential: Credential
    signature_key: bytes


@dataclass(frozen=True, slots=True)
class CommitResult:
    """What :meth:`Group.commit` produced: send ``commit_message`` to the group and,
    once it is accepted, ``welcome`` to the added members. ``group_info`` describes
    the new epoch (for external joins)."""

    commit_message: bytes
    welcome: bytes | None
    group_info: bytes


@dataclass(slots=True)
class Pending:
    """Our commit awaiting the delivery service: the epoch it leads to, and its bytes."""

    state: EpochState = field(repr=False)
    private: PrivateTree = field(repr=False)
    message: bytes
    welcome: bytes | None
    group_info: bytes
    event: CommitApplied


__all__ = ["CommitResult", "GroupConfig", "Member", "Pending", "WireFormatPolicy"]
