"""Resumption across groups: reinitialisation (RFC 9420 §11.2) and branching (§11.3).

Both start a new group whose first commit (epoch 0 -> 1) injects a resumption PSK of
the old group, so that the new group's secrets depend on the old group's (§8.6)::

    old group:  ... -> epoch n (a ReInit commit, or any epoch for a branch)
                          | resumption_psk(n), usage reinit / branch
    new group:  epoch 0 -> epoch 1, Welcome names PreSharedKeyID(resumption, usage,
                          psk_group_id = old group_id, psk_epoch = n)

The PSK is not proposed (§12.1.4: a PreSharedKey proposal of usage reinit or branch
is invalid); it rides in the Welcome's GroupSecrets only. A joiner resolves it from
its own state of the old group and then checks the rules below, which
:func:`letterlock.mls.welcome_processing.open_welcome` cannot check without that
state (it already enforces "at most one reinit/branch PSK" and "epoch 1").
"""

from __future__ import annotations

from collections.abc import Sequence

from letterlock.crypto import CipherSuite, RandomSource

from ..constants import PSKType, ResumptionPSKUsage
from ..credentials import Credential
from ..group_context import GroupContext
from ..proposals import PreSharedKeyID, ReInit
from ..psk import Psk
from ..ratchet_tree import PublicTree
from ._epoch import EpochState
from .errors import ResumptionMismatchError

R_REINIT = "RFC 9420 §11.2"
R_BRANCH = "RFC 9420 §11.3"


def resumption_psk(old: EpochState, usage: ResumptionPSKUsage, new_suite: CipherSuite,
                   rng: RandomSource) -> Psk:
    """The resumption PSK of ``old``'s epoch for a new group's first commit (§8.6).

    The nonce is KDF.Nh of the *new* suite: the PSK enters the new group's key
    schedule, whose receivers check the nonce length against their suite (§8.4).
    """
    psk_id = PreSharedKeyID.resumption(usage, old.context.group_id, old.epoch,
                                       rng.random_bytes(new_suite.n_h))
    return Psk(psk_id, old.resumption_psk.value)


def is_resumption_of(psk_id: PreSharedKeyID, group_id: bytes) -> bool:
    """Whether ``psk_id`` is a reinit/branch resumption PSK of the group ``group_id``."""
    return (psk_id.psktype == PSKType.RESUMPTION and psk_id.psk_group_id == group_id
            and psk_id.usage in (ResumptionPSKUsage.REINIT, ResumptionPSKUsage.BRANCH))


def check_resumed_welcome(
    psks: Sequence[PreSharedKeyID], new: GroupContext, new_tree: PublicTree, *,
    old: GroupContext, old_credentials: Sequence[Credential], reinit: ReInit | None,
) -> ResumptionPSKUsage:
    """Check a Welcome that claims to resume the group ``old`` (§11.2 / §11.3).

    :param psks: the PSKs the Welcome's GroupSecrets named (all already resolved).
    :param reinit: the ReInit the old group committed, if it did.
    :returns: the usage (reinit or branch).
    :raises ResumptionMismatchError: the rule broken.
    """
    # §12.4.3.1 allows at most one reinit/branch PSK (open_welcome enforced it); the
    # caller said this Welcome resumes ``old``, so it must be there, and be old's.
    linking = [p for p in psks if p.psktype == PSKType.RESUMPTION
               and p.usage in (ResumptionPSKUsage.REINIT, ResumptionPSKUsage.BRANCH)]
    if len(linking) != 1 or not is_resumption_of(linking[0], old.group_id):
        raise ResumptionMismatchError("the Welcome carries no reinit/branch PSK of the old "
                                      "group", R_REINIT)
    [psk] = linking
    # §11.2, §11.3: "The epoch in the Welcome message MUST be 1."
    if new.epoch != 1:
        raise ResumptionMismatchError(f"the new group starts at epoch {new.epoch}, not 1",
                                      R_REINIT)
    if psk.usage == ResumptionPSKUsage.REINIT:
        _check_reinit(psk, new, old, reinit)
    else:
        _check_branch(new, new_tree, old, old_credentials)
    assert psk.usage is not None
    return psk.usage


def _check_reinit(psk: PreSharedKeyID, new: GroupContext, old: GroupContext,
                  reinit: ReInit | None) -> None:
    if reinit is None:
        raise ResumptionMismatchError("a reinit PSK, but the old group committed no ReInit",
                                      R_REINIT)
    # §11.2: "the epoch field indicates the epoch after the Commit covering the ReInit"
    # -- the old group's last epoch, where it stays.
    if psk.psk_epoch != old.epoch:
        raise ResumptionMismatchError(
            f"the reinit PSK is of epoch {psk.psk_epoch}, not {old.epoch}, the epoch "
            "after the ReInit commit", R_REINIT)
    # §11.2: "The version, cipher_suite, group_id, and extensions fields of the
    # GroupContext object in the Welcome message MUST be the same as the corresponding
    # fields in the ReInit proposal."
    for name, got, want in (("group_id", new.group_id, reinit.group_id),
                            ("version", new.version, reinit.version),
                            ("cipher_suite", new.cipher_suite, reinit.cipher_suite),
                            ("extensions", new.extensions, reinit.extensions)):
        if got != want:
            raise ResumptionMismatchError(f"the new group's {name} is not the ReInit's",
                                          R_REINIT)


def _check_branch(new: GroupContext, new_tree: PublicTree, old: GroupContext,
                  old_credentials: Sequence[Credential]) -> None:
    # §11.3: "The version and cipher_suite values in the Welcome message MUST be the
    # same as those used by the old group."
    if (new.version, new.cipher_suite) != (old.version, old.cipher_suite):
        raise ResumptionMismatchError("a branch keeps the old group's version and suite",
                                      R_BRANCH)
    # §11.3: "Each LeafNode in a new subgroup MUST match some LeafNode in the original
    # group" -- matching here means the same credential (our Authentication Service's
    # notion of the same identity).
    for _, leaf in new_tree.leaves():
        if leaf.credential not in old_credentials:
            raise ResumptionMismatchError("a member of the branch is not in the old group",
                                          R_BRANCH)


__all__ = ["check_resumed_welcome", "is_resumption_of", "resumption_psk"]
