"""A Group's whole state to bytes and back (our own format, for the client's encrypted
store). It holds every secret the group has: never log it, always encrypt it at rest.

::

    uint8 format = 2; uint16 cipher_suite; uint8 lifecycle; Config;
    opaque signer<V>; opaque private_tree<V>; Epoch current; Epoch past<V>;
    ProposalCache cache; KeyPair own_update_keys<V>;
    struct { opaque group_id<V>; uint64 epoch; opaque psk<V>; } resumption<V>;
    struct { opaque id<V>; opaque secret<V>; } external_psks<V>;
    optional<Pending> pending;
    optional<ReInit> reinit;          (format 2; format 1 ends before it)
"""

from __future__ import annotations

from letterlock.codec import DecodeError, Reader, Writer, decode
from letterlock.crypto import RandomSource, cipher_suite

from ..proposals import ReInit
from ..secret_tree import RatchetConfig
from ..tree_validation import CredentialValidator
from ..treekem import PrivateTree
from ._epoch import EpochState, pull_epoch, push_epoch
from .events import CommitApplied
from .group import Group, GroupConfig, Pending, WireFormatPolicy
from .proposals import ProposalCache
from .state import GroupState

FORMAT = 2
_FORMATS = (1, FORMAT)
_STATES = list(GroupState)


def dump_group(group: Group) -> bytes:
    g = group
    w = Writer()
    w.push_uint8(FORMAT)
    w.push_uint16(g.suite.suite_id)
    w.push_uint8(_STATES.index(g._lifecycle))
    c = g._config
    w.push_uint16(c.wire_format_policy.value)
    w.push_uint32(c.max_past_epochs)
    w.push_uint32(c.resumption_psk_epochs)
    w.push_uint32(c.ratchet.out_of_order_tolerance)
    w.push_uint32(c.ratchet.max_forward_distance)
    w.push_bool(c.ratchet_tree_in_welcome)
    w.push_opaque(g._signer.raw)
    w.push_opaque(g._private.to_bytes())
    push_epoch(w, g._state)
    w.push_vector(g._past, push_epoch)
    g._cache.push(w)
    w.push_vector(sorted(g._own_update_keys.items()), _push_pair)
    w.push_vector(list(g._resumption.items()), _push_resumption)
    w.push_vector(sorted(g._external_psks.items()), _push_pair)
    w.push_optional(g._pending, _push_pending)
    w.push_optional(g._reinit, lambda w2, v: v.push(w2))
    return w.data


def load_group(data: bytes, *, credential_validator: CredentialValidator,
               rng: RandomSource) -> Group:
    return decode(data, lambda r: _pull_group(r, credential_validator, rng))


def _pull_group(r: Reader, validator: CredentialValidator, rng: RandomSource) -> Group:
    fmt = r.pull_uint8()
    if fmt not in _FORMATS:
        raise DecodeError("unknown group state format", r.position)
    suite = cipher_suite(r.pull_uint16())
    lifecycle = r.pull_uint8()
    if lifecycle >= len(_STATES):
        raise DecodeError(f"lifecycle {lifecycle}", r.position)
    policy = WireFormatPolicy(r.pull_uint16())
    max_past, resumption_epochs = r.pull_uint32(), r.pull_uint32()
    ratchet = RatchetConfig(r.pull_uint32(), r.pull_uint32())
    config = GroupConfig(policy, max_past, resumption_epochs, ratchet, r.pull_bool())
    signer = r.pull_opaque()
    private = PrivateTree.from_bytes(r.pull_opaque())
    state = pull_epoch(suite, r)
    group = Group(state, private, signer, credential_validator=validator, rng=rng,
                  config=config)
    group._lifecycle = _STATES[lifecycle]
    group._past = r.pull_vector(lambda r2: pull_epoch(suite, r2))
    group._cache = ProposalCache.pull(r)
    group._own_update_keys = dict(r.pull_vector(_pull_pair))
    group._resumption = {(gid, epoch): psk for gid, epoch, psk
                         in r.pull_vector(_pull_resumption)}
    group._external_psks = dict(r.pull_vector(_pull_pair))
    group._pending = r.pull_optional(lambda r2: _pull_pending(suite_id=suite.suite_id, r=r2))
    if fmt >= 2:
        group._reinit = r.pull_optional(ReInit.pull)
    if (group._lifecycle is GroupState.REINIT) != (group._reinit is not None):
        raise DecodeError("a REINIT group holds exactly its ReInit", r.position)
    return group


def _push_pair(w: Writer, item: tuple[bytes, bytes]) -> None:
    w.push_opaque(item[0])
    w.push_opaque(item[1])


def _pull_pair(r: Reader) -> tuple[bytes, bytes]:
    return r.pull_opaque(), r.pull_opaque()


def _push_resumption(w: Writer, item: tuple[tuple[bytes, int], bytes]) -> None:
    (group_id, epoch), psk = item
    w.push_opaque(group_id)
    w.push_uint64(epoch)
    w.push_opaque(psk)


def _pull_resumption(r: Reader) -> tuple[bytes, int, bytes]:
    return r.pull_opaque(), r.pull_uint64(), r.pull_opaque()


def _push_u32s(w: Writer, values: tuple[int, ...]) -> None:
    w.push_vector(values, lambda w2, v: w2.push_uint32(v))


def _push_pending(w: Writer, p: Pending) -> None:
    w.push_opaque(p.message)
    w.push_optional(p.welcome, lambda w2, v: w2.push_opaque(v))
    w.push_opaque(p.group_info)
    e = p.event
    w.push_uint64(e.epoch)
    w.push_uint32(e.committer)
    for values in (e.added, e.removed, e.updated):
        _push_u32s(w, values)
    w.push_bool(e.external)
    w.push_uint32(e.psks)
    w.push_bool(e.extensions_changed)
    w.push_optional(e.reinit, lambda w2, v: v.push(w2))
    push_epoch(w, p.state)
    w.push_opaque(p.private.to_bytes())


def _pull_pending(*, suite_id: int, r: Reader) -> Pending:
    message = r.pull_opaque()
    welcome = r.pull_optional(lambda r2: r2.pull_opaque())
    group_info = r.pull_opaque()
    epoch, committer = r.pull_uint64(), r.pull_uint32()
    added, removed, updated = (tuple(r.pull_vector(lambda r2: r2.pull_uint32()))
                               for _ in range(3))
    event = CommitApplied(epoch, committer, added, removed, updated, r.pull_bool(),
                          r.pull_uint32(), r.pull_bool(), r.pull_optional(ReInit.pull))
    state: EpochState = pull_epoch(cipher_suite(suite_id), r)
    private = PrivateTree.from_bytes(r.pull_opaque())
    return Pending(state, private, message, welcome, group_info, event)


__all__ = ["dump_group", "load_group"]
