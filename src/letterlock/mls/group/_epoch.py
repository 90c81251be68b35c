"""One epoch's state: what every member agrees on, and this member's epoch secrets.

:class:`EpochState` is replaced whole at each commit (stage, then merge): a commit
being processed builds the next EpochState on a copied tree and a fresh key schedule,
and the group swaps it in only once every check passed.

The secrets are kept as their own types (:mod:`letterlock.mls.key_schedule`); the
encryption_secret itself is not kept: it is consumed into the secret tree at once
(§9.2). The storage form (:func:`push_epoch` / :func:`pull_epoch`) is private to this
library and holds secrets: the client stores it encrypted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from letterlock.codec import Reader, Writer
from letterlock.crypto import CipherSuite

from ..group_context import GroupContext
from ..key_schedule import (
    ConfirmationKey,
    EpochAuthenticator,
    EpochSecrets,
    ExporterSecret,
    ExternalSecret,
    InitSecret,
    MembershipKey,
    ResumptionPsk,
    SenderDataSecret,
)
from ..leaf_node import LeafNode
from ..ratchet_tree import PublicTree
from ..secret_tree import RatchetConfig, SecretTree
from ..tree_math import LeafIndex


class EpochView(Protocol):
    """The public part of an epoch: what proposal and framing checks need."""

    @property
    def suite(self) -> CipherSuite: ...
    @property
    def context(self) -> GroupContext: ...
    @property
    def tree(self) -> PublicTree: ...
    @property
    def epoch(self) -> int: ...
    @property
    def interim_transcript_hash(self) -> bytes: ...
    def member(self, leaf: int) -> LeafNode | None: ...


@dataclass(slots=True, eq=False)
class PublicEpoch:
    """An epoch seen without secrets: a joiner before it joins, or a PublicGroup."""

    suite: CipherSuite
    context: GroupContext
    tree: PublicTree
    interim_transcript_hash: bytes

    @property
    def epoch(self) -> int:
        return self.context.epoch

    def member(self, leaf: int) -> LeafNode | None:
        if not 0 <= leaf < self.tree.n_leaves:
            return None
        return self.tree.leaf(LeafIndex(leaf))


@dataclass(slots=True, eq=False)
class EpochState:
    """The state of one epoch (§8.1 GroupContext, §7 tree, §8 secrets, §9 secret tree)."""

    suite: CipherSuite
    context: GroupContext
    tree: PublicTree
    interim_transcript_hash: bytes
    secret_tree: SecretTree = field(repr=False)
    sender_data_secret: SenderDataSecret = field(repr=False)
    exporter_secret: ExporterSecret = field(repr=False)
    external_secret: ExternalSecret = field(repr=False)
    confirmation_key: ConfirmationKey = field(repr=False)
    membership_key: MembershipKey = field(repr=False)
    resumption_psk: ResumptionPsk = field(repr=False)
    epoch_authenticator: EpochAuthenticator = field(repr=False)
    init_secret: InitSecret = field(repr=False)

    @classmethod
    def create(cls, suite: CipherSuite, context: GroupContext, tree: PublicTree,
               interim_transcript_hash: bytes, secrets: EpochSecrets,
               ratchet_config: RatchetConfig) -> EpochState:
        """The epoch whose secrets the key schedule just derived; the encryption
        secret goes into a new secret tree over the tree's width (§9)."""
        return cls(
            suite=suite, context=context, tree=tree,
            interim_transcript_hash=interim_transcript_hash,
            secret_tree=SecretTree(suite, secrets.encryption_secret, tree.n_leaves,
                                   ratchet_config),
            sender_data_secret=secrets.sender_data_secret,
            exporter_secret=secrets.exporter_secret,
            external_secret=secrets.external_secret,
            confirmation_key=secrets.confirmation_key,
            membership_key=secrets.membership_key,
            resumption_psk=secrets.resumption_psk,
            epoch_authenticator=secrets.epoch_authenticator,
            init_secret=secrets.init_secret,
        )

    @property
    def epoch(self) -> int:
        return self.context.epoch

    def member(self, leaf: int) -> LeafNode | None:
        """The leaf node of a member, or None for a blank or out-of-range leaf."""
        if not 0 <= leaf < self.tree.n_leaves:
            return None
        return self.tree.leaf(LeafIndex(leaf))


def push_epoch(w: Writer, state: EpochState) -> None:
    """Write an epoch for local storage (secrets included)."""
    w.push_opaque(state.context.to_bytes())
    w.push_opaque(state.tree.to_bytes())
    w.push_opaque(state.interim_transcript_hash)
    for secret in (state.sender_data_secret, state.exporter_secret, state.external_secret,
                   state.confirmation_key, state.membership_key, state.resumption_psk,
                   state.epoch_authenticator, state.init_secret):
        w.push_opaque(secret.value)
    state.secret_tree.push_state(w)


def pull_epoch(suite: CipherSuite, r: Reader) -> EpochState:
    """Read what :func:`push_epoch` wrote. :raises DecodeError: malformed state."""
    context = GroupContext.from_bytes(r.pull_opaque())
    tree = PublicTree.from_bytes(suite, r.pull_opaque())
    interim = r.pull_opaque()
    values = [r.pull_opaque() for _ in range(8)]
    secret_tree = SecretTree.pull_state(suite, r)
    return EpochState(
        suite=suite, context=context, tree=tree, interim_transcript_hash=interim,
        secret_tree=secret_tree,
        sender_data_secret=SenderDataSecret(values[0]),
        exporter_secret=ExporterSecret(values[1]),
        external_secret=ExternalSecret(values[2]),
        confirmation_key=ConfirmationKey(values[3]),
        membership_key=MembershipKey(values[4]),
        resumption_psk=ResumptionPsk(values[5]),
        epoch_authenticator=EpochAuthenticator(values[6]),
        init_secret=InitSecret(values[7]),
    )


__all__ = ["EpochState", "EpochView", "PublicEpoch", "pull_epoch", "push_epoch"]
