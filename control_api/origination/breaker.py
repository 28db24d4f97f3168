"""A circuit breaker for one carrier, as a state machine without I/O: the caller passes the clock and reports
each outcome, the breaker answers whether a dial may be placed.

closed     dials go through; ``threshold`` transient failures in a row -> open
open       no dials until ``cool_down_s`` has passed since it opened -> half_open (on the next ``allow``)
half_open  exactly one trial dial; its success -> closed, its failure -> open again (a new cool-down)

Only transient failures (5xx, 429, timeouts, an unreachable carrier) count: a 4xx about one lead's request says
nothing about the carrier's health. A success in the closed state resets the count.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class State(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass
class Breaker:
    threshold: int
    cool_down_s: float
    state: State = State.CLOSED
    failures: int = 0  # transient failures in a row, while closed
    opened_at: float = 0.0
    trial_out: bool = False  # half_open: the one trial dial is in flight

    def __post_init__(self) -> None:
        if self.threshold < 1 or self.cool_down_s < 0:
            raise ValueError("a breaker needs threshold >= 1 and cool_down_s >= 0")

    def allow(self, now: float) -> bool:
        """May a dial be placed now? In half_open, True once: the caller must then report its outcome."""
        if self.state is State.OPEN and now - self.opened_at >= self.cool_down_s:
            self.state, self.trial_out = State.HALF_OPEN, False
        if self.state is State.CLOSED:
            return True
        if self.state is State.HALF_OPEN and not self.trial_out:
            self.trial_out = True
            return True
        return False

    def permits(self, now: float) -> int | None:
        """How many dials may start now without asking ``allow`` each time: None for any number, else 0 or 1.
        It changes nothing but the open -> half_open move that time makes."""
        if self.state is State.OPEN and now - self.opened_at >= self.cool_down_s:
            self.state, self.trial_out = State.HALF_OPEN, False
        if self.state is State.CLOSED:
            return None
        return 1 if self.state is State.HALF_OPEN and not self.trial_out else 0

    def retry_in(self, now: float) -> float:
        """Seconds until the breaker lets a dial through again (0 when it would now)."""
        if self.state is State.OPEN:
            return max(0.0, self.cool_down_s - (now - self.opened_at))
        return 0.0

    def success(self, now: float) -> None:
        self.failures, self.trial_out = 0, False
        self.state = State.CLOSED

    def failure(self, now: float) -> None:
        """A transient failure of a dial that ``allow`` let through."""
        if self.state is State.HALF_OPEN:
            self._open(now)
        elif self.state is State.CLOSED:
            self.failures += 1
            if self.failures >= self.threshold:
                self._open(now)
        # OPEN: a dial let through before it opened failed late; the cool-down already runs.

    def neutral(self) -> None:
        """A dial let through ended without telling anything of the carrier's health (a 4xx, our own error):
        in half_open the trial slot is free again."""
        self.trial_out = False

    def _open(self, now: float) -> None:
        self.state, self.opened_at, self.failures, self.trial_out = State.OPEN, now, 0, False
