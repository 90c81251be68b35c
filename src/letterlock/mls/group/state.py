"""The group's lifecycle as one declared table (the h11 way).

::

    OPERATIONAL --commit--> PENDING_COMMIT --merge/discard--> OPERATIONAL
    OPERATIONAL/PENDING_COMMIT --removed--> INACTIVE   (a commit removed us)

In PENDING_COMMIT the epoch has not changed yet: application messages and proposals
still flow, but another member's commit can only be processed after
:meth:`Group.discard_pending_commit` (the delivery service picked the other commit,
§14: at most one commit per epoch). INACTIVE allows reads only.
"""

from __future__ import annotations

from enum import Enum

from .errors import GroupInactiveError, InvalidStateError


class GroupState(Enum):
    OPERATIONAL = "operational"
    PENDING_COMMIT = "pending commit"
    INACTIVE = "inactive"


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


_O, _P, _I = GroupState.OPERATIONAL, GroupState.PENDING_COMMIT, GroupState.INACTIVE

# The whole lifecycle: (state, operation) -> state after it. Anything else is refused.
TRANSITIONS: dict[tuple[GroupState, Op], GroupState] = {
    (_O, Op.PROPOSE): _O,
    (_O, Op.COMMIT): _P,
    (_O, Op.PROCESS): _O,
    (_O, Op.PROCESS_COMMIT): _O,
    (_O, Op.ENCRYPT): _O,
    (_O, Op.REMOVED): _I,
    (_O, Op.READ): _O,
    (_P, Op.PROPOSE): _P,
    (_P, Op.MERGE): _O,
    (_P, Op.DISCARD): _O,
    (_P, Op.PROCESS): _P,
    (_P, Op.ENCRYPT): _P,
    (_P, Op.READ): _P,
    (_I, Op.READ): _I,
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
