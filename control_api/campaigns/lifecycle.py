"""The campaign state machine: draft -> scheduled -> running <-> paused -> completed / cancelled.

Clients drive it with actions (start, pause, resume, cancel); the dispatcher moves scheduled campaigns to running
and finished ones to completed through ``transition`` with the target state.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final


class State(StrEnum):
    DRAFT = "draft"
    SCHEDULED = "scheduled"
    RUNNING = "running"
    PAUSED = "paused"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


TRANSITIONS: Final[dict[State, frozenset[State]]] = {
    State.DRAFT: frozenset({State.SCHEDULED, State.CANCELLED}),
    State.SCHEDULED: frozenset({State.RUNNING, State.CANCELLED}),
    State.RUNNING: frozenset({State.PAUSED, State.COMPLETED, State.CANCELLED}),
    State.PAUSED: frozenset({State.RUNNING, State.CANCELLED}),
    State.COMPLETED: frozenset(),
    State.CANCELLED: frozenset(),
}

# Client actions and the state each leads to.
ACTIONS: Final[dict[str, State]] = {
    "start": State.SCHEDULED,
    "pause": State.PAUSED,
    "resume": State.RUNNING,
    "cancel": State.CANCELLED,
}
# Which states an action may start from (resume only from paused, start only from draft).
ACTION_FROM: Final[dict[str, frozenset[State]]] = {
    "start": frozenset({State.DRAFT}),
    "pause": frozenset({State.RUNNING}),
    "resume": frozenset({State.PAUSED}),
    "cancel": frozenset({State.DRAFT, State.SCHEDULED, State.RUNNING, State.PAUSED}),
}

TERMINAL: Final = frozenset({State.COMPLETED, State.CANCELLED})


def can(current: State, target: State) -> bool:
    return target in TRANSITIONS[current]


def allowed_actions(current: State) -> list[str]:
    return [a for a, sources in ACTION_FROM.items() if current in sources]


def allowed_transitions(current: State) -> list[str]:
    return sorted(str(s) for s in TRANSITIONS[current])
