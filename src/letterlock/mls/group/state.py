"""The group's lifecycle as one declared table (the h11 way).

::

    OPERATIONAL --commit--> PENDING_COMMIT --merge/discard--> OPERATIONAL
    OPERATIONAL/PENDING_COMMIT --removed--> INACTIVE   (a commit removed us)
    OPERATIONAL --a ReInit commit applied--> REINIT    (§11.2: only the reinit remains)

In PENDING_COMMIT the epoch has not changed yet: application messages and proposals
still flow, but another member's commit can only be processed after
:meth:`Group.discard_pending_commit` (the delivery service picked the other commit,
§14: at most one commit per epoch). INACTIVE allows reads only.

REINIT is terminal for this group: once a commit covering a ReInit is applied, the
group carries no more proposals, commits or application data (§11.2); it stays
readable, still decrypts late messages of earlier epochs, and its last epoch's
resumption PSK starts the new group (:meth:`Group.reinit`, or joining with it).
"""

from __future__ import annotations

from enum import Enum

from .errors import GroupInactiveError, InvalidStateError


class GroupState(Enum):
    OPERATIONAL = "operational"
    PENDING_COMMIT = "pending commit"
    INACTIVE = "inactive"
    REINIT = "awaiting reinit"

    # Members are singletons compared by identity; hashing by identity agrees with that
    # and keeps the table lookup every message makes in C (Enum's __hash__ is Python).
    __hash__ = object.__hash__


class Op(Enum):
    """Operations that depend on the state."""

    PROPOSE = "propose"
    COMMIT = "commit"
    MERGE = "merge a pending commit"
    DISCARD = "discard a pending commit"
    PROCESS = "process a message"
    PROCESS_COMMIT = "process another member's commit"
    ENCRYPT = "encrypt"
    REMOVED = "be removed"
    READ = "read state"
    REINIT_COMMITTED = "apply a ReInit commit"
    REINIT = "start the reinitialised group"
    BRANCH = "branch a new group"

    __hash__ = object.__hash__  # as GroupState's


_O, _P, _I = GroupState.OPERATIONAL, GroupState.PENDING_COMMIT, GroupState.INACTIVE
_R = GroupState.REINIT

# The whole lifecycle: (state, operation) -> state after it. Anything else is refused.
TRANSITIONS: dict[tuple[GroupState, Op], GroupState] = {
    (_O, Op.PROPOSE): _O,
    (_O, Op.COMMIT): _P,
    (_O, Op.PROCESS): _O,
    (_O, Op.PROCESS_COMMIT): _O,
    (_O, Op.ENCRYPT): _O,
    (_O, Op.REMOVED): _I,
    (_O, Op.READ): _O,
    (_O, Op.REINIT_COMMITTED): _R,
    (_O, Op.BRANCH): _O,
    (_P, Op.PROPOSE): _P,
    (_P, Op.MERGE): _O,
    (_P, Op.DISCARD): _O,
    (_P, Op.PROCESS): _P,
    (_P, Op.ENCRYPT): _P,
    (_P, Op.READ): _P,
    (_P, Op.BRANCH): _P,
    (_I, Op.READ): _I,
    # §11.2: after a ReInit commit, only reading, late messages and the reinit itself.
    (_R, Op.READ): _R,
    (_R, Op.PROCESS): _R,
    (_R, Op.REINIT): _R,
}


def next_state(state: GroupState, op: Op) -> GroupState:
    """The state after ``op``; raises a specific InvalidStateError when not allowed."""
    try:
        return TRANSITIONS[state, op]
    except KeyError:
        if state is GroupState.INACTIVE:
            raise GroupInactiveError(f"cannot {op.value}: the group is inactive") from None
        raise InvalidStateError(f"cannot {op.value} in state {state.value}") from None


__all__ = ["TRANSITIONS", "GroupState", "Op", "next_state"]
