"""A carrier's answering-machine verdict on its way to the call it concerns.

The carrier's callback reaches the control API while the call runs in the engine: the route hands the verdict to
the call's inbox, and the call's detector reads it from there. Either may come first (a carrier can decide before
the media stream has started), so the inbox keeps the verdict until someone listens.
"""

from __future__ import annotations

from collections.abc import Callable

Listener = Callable[[str, bool], None]


class AnsweredByInbox:
    def __init__(self) -> None:
        self._verdict: tuple[str, bool] | None = None
        self._listener: Listener | None = None

    def deliver(self, answered_by: str, message_end: bool) -> None:
        """``answered_by``: "human" or "machine" (anything else is dropped); ``message_end``: the carrier waited
        for the greeting's end."""
        if answered_by not in ("human", "machine"):
            return
        self._verdict = (answered_by, message_end)
        if self._listener is not None:
            self._listener(answered_by, message_end)

    def listen(self, listener: Listener) -> None:
        self._listener = listener
        if self._verdict is not None:
            listener(*self._verdict)
