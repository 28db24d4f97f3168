"""SIP transactions (RFC 3261 section 17, with RFC 6026's Accepted state), as pure state machines.

Each transaction is fed messages and the current time, and answers with outputs: bytes to (re)send to its
peer, responses to hand the transaction user, or a timeout. Retransmission timers run on the caller's clock:
``next_deadline()`` says when to call ``on_timer(now)`` next. Over a reliable transport (TCP) nothing is
retransmitted and the wait states end at once, as the RFC says.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from engine.telephony.sip.message import Headers, SipRequest, SipResponse, parse_cseq

T1 = 0.5
T2 = 4.0
T4 = 5.0


class TxState(StrEnum):
    CALLING = "calling"
    TRYING = "trying"
    PROCEEDING = "proceeding"
    COMPLETED = "completed"
    CONFIRMED = "confirmed"
    ACCEPTED = "accepted"
    TERMINATED = "terminated"


@dataclass(frozen=True)
class SendBytes:
    data: bytes


@dataclass(frozen=True)
class Deliver:
    response: SipResponse


@dataclass(frozen=True)
class TimedOut:
    """Client: no final response in 64*T1. Server INVITE: the ACK for our error response never came."""


TxOutput = SendBytes | Deliver | TimedOut


class _Timers:
    def __init__(self) -> None:
        self.deadlines: dict[str, float] = {}

    def start(self, name: str, at: float) -> None:
        self.deadlines[name] = at

    def stop(self, name: str) -> None:
        self.deadlines.pop(name, None)

    def due(self, now: float) -> list[str]:
        names = sorted((at, name) for name, at in self.deadlines.items() if at <= now)
        for _, name in names:
            del self.deadlines[name]
        return [name for _, name in names]

    def next(self) -> float | None:
        return min(self.deadlines.values(), default=None)


class Transaction:
    state: TxState

    def __init__(self, request: SipRequest, reliable: bool) -> None:
        self.request = request
        self.reliable = reliable
        self.timers = _Timers()

    @property
    def terminated(self) -> bool:
        return self.state is TxState.TERMINATED

    def next_deadline(self) -> float | None:
        return None if self.terminated else self.timers.next()

    def on_timer(self, now: float) -> list[TxOutput]:
        out: list[TxOutput] = []
        for name in self.timers.due(now):
            out.extend(self._fire(name, now))
        return out

    def _fire(self, name: str, now: float) -> list[TxOutput]:
        raise NotImplementedError

    def _terminate(self) -> None:
        self.state = TxState.TERMINATED
        self.timers.deadlines.clear()


# -- client side ----------------------------------------------------------------------------------------------
def build_ack_for_error(invite: SipRequest, response: SipResponse) -> SipRequest:
    """The ACK a client INVITE transaction sends for a 3xx-6xx (RFC 3261 17.1.1.3): same branch."""
    headers = Headers()
    vias = invite.headers.get_all("Via")
    if vias:
        headers.add("Via", vias[0])
    for route in invite.headers.get_all("Route"):
        headers.add("Route", route)
    headers.add("Max-Forwards", "70")
    headers.add("From", invite.headers.get("From") or "")
    headers.add("To", response.headers.get("To") or "")
    headers.add("Call-ID", invite.headers.get("Call-ID") or "")
    seq, _ = parse_cseq(invite.headers.get("CSeq") or "")
    headers.add("CSeq", f"{seq} ACK")
    return SipRequest("ACK", invite.uri, headers)


class ClientInviteTransaction(Transaction):
    def __init__(self, request: SipRequest, reliable: bool, now: float) -> None:
        super().__init__(request, reliable)
        self.state = TxState.CALLING
        self._interval = T1
        self._ack: bytes | None = None
        self.initial = [SendBytes(request.serialize())]
        if not reliable:
            self.timers.start("A", now + T1)
        self.timers.start("B", now + 64 * T1)

    def receive(self, response: SipResponse, now: float) -> list[TxOutput]:
        status = response.status
        if self.state in (TxState.CALLING, TxState.PROCEEDING):
            if status < 200:
                self.state = TxState.PROCEEDING
                self.timers.stop("A")
                return [Deliver(response)]
            if status < 300:
                self.state = TxState.ACCEPTED
                self.timers.stop("A")
                self.timers.stop("B")
                self.timers.start("M", now + 64 * T1)
                return [Deliver(response)]
            self.state = TxState.COMPLETED
            self.timers.stop("A")
            self.timers.stop("B")
            self._ack = build_ack_for_error(self.request, response).serialize()
            self.timers.start("D", now + (0 if self.reliable else 32.0))
            return [SendBytes(self._ack), Deliver(response)]
        if self.state is TxState.ACCEPTED and 200 <= status < 300:
            return [Deliver(response)]  # retransmitted 2xx: the TU re-sends its ACK
        if self.state is TxState.COMPLETED and status >= 300 and self._ack is not None:
            return [SendBytes(self._ack)]
        return []

    def _fire(self, name: str, now: float) -> list[TxOutput]:
        if name == "A" and self.state is TxState.CALLING:
            self._interval *= 2
            self.timers.start("A", now + self._interval)
            return [SendBytes(self.request.serialize())]
        if name == "B" and self.state is TxState.CALLING:
            # RFC 3261 only times out in Calling; a peer stuck in Proceeding is caught by the TU's ring timer.
            self._terminate()
            return [TimedOut()]
        if name in ("D", "M"):
            self._terminate()
        return []


class ClientNonInviteTransaction(Transaction):
    def __init__(self, request: SipRequest, reliable: bool, now: float) -> None:
        super().__init__(request, reliable)
        self.state = TxState.TRYING
        self._interval = T1
        self.initial = [SendBytes(request.serialize())]
        if not reliable:
            self.timers.start("E", now + T1)
        self.timers.start("F", now + 64 * T1)

    def receive(self, response: SipResponse, now: float) -> list[TxOutput]:
        if self.state not in (TxState.TRYING, TxState.PROCEEDING):
            return []
        if response.status < 200:
            self.state = TxState.PROCEEDING
            return [Deliver(response)]
        self.state = TxState.COMPLETED
        self.timers.stop("E")
        self.timers.stop("F")
        self.timers.start("K", now + (0 if self.reliable else T4))
        return [Deliver(response)]

    def _fire(self, name: str, now: float) -> list[TxOutput]:
        if name == "E" and self.state in (TxState.TRYING, TxState.PROCEEDING):
            self._interval = T2 if self.state is TxState.PROCEEDING else min(2 * self._interval, T2)
            self.timers.start("E", now + self._interval)
            return [SendBytes(self.request.serialize())]
        if name == "F" and self.state in (TxState.TRYING, TxState.PROCEEDING):
            self._terminate()
            return [TimedOut()]
        if name == "K":
            self._terminate()
        return []


# -- server side ----------------------------------------------------------------------------------------------
class ServerInviteTransaction(Transaction):
    def __init__(self, request: SipRequest, reliable: bool, now: float) -> None:
        super().__init__(request, reliable)
        self.state = TxState.PROCEEDING
        self._last: bytes | None = None
        self._interval = T1

    def respond(self, response: SipResponse, now: float) -> list[TxOutput]:
        if self.state is not TxState.PROCEEDING:
            return []
        data = response.serialize()
        self._last = data
        if response.status < 200:
            return [SendBytes(data)]
        if response.status < 300:
            # The TU retransmits its 2xx until the ACK (RFC 3261 13.3.1.4); we only absorb INVITE copies.
            self.state = TxState.ACCEPTED
            self.timers.start("L", now + 64 * T1)
            return [SendBytes(data)]
        self.state = TxState.COMPLETED
        if not self.reliable:
            self.timers.start("G", now + T1)
        self.timers.start("H", now + 64 * T1)
        return [SendBytes(data)]

    def receive_request(self, request: SipRequest, now: float) -> list[TxOutput]:
        if request.method == "ACK":
            if self.state is TxState.COMPLETED:
                self.state = TxState.CONFIRMED
                self.timers.stop("G")
                self.timers.stop("H")
                self.timers.start("I", now + (0 if self.reliable else T4))
            return []
        # A retransmitted INVITE: repeat our latest response.
        if self.state in (TxState.PROCEEDING, TxState.COMPLETED) and self._last is not None:
            return [SendBytes(self._last)]
        return []

    def _fire(self, name: str, now: float) -> list[TxOutput]:
        if name == "G" and self.state is TxState.COMPLETED and self._last is not None:
            self._interval = min(2 * self._interval, T2)
            self.timers.start("G", now + self._interval)
            return [SendBytes(self._last)]
        if name == "H" and self.state is TxState.COMPLETED:
            self._terminate()
            return [TimedOut()]
        if name in ("I", "L"):
            self._terminate()
        return []


class ServerNonInviteTransaction(Transaction):
    def __init__(self, request: SipRequest, reliable: bool, now: float) -> None:
        super().__init__(request, reliable)
        self.state = TxState.TRYING
        self._last: bytes | None = None

    def respond(self, response: SipResponse, now: float) -> list[TxOutput]:
        if self.state not in (TxState.TRYING, TxState.PROCEEDING):
            return []
        data = response.serialize()
        self._last = data
        if response.status < 200:
            self.state = TxState.PROCEEDING
        else:
            self.state = TxState.COMPLETED
            self.timers.start("J", now + (0 if self.reliable else 64 * T1))
        return [SendBytes(data)]

    def receive_request(self, request: SipRequest, now: float) -> list[TxOutput]:
        if self.state in (TxState.PROCEEDING, TxState.COMPLETED) and self._last is not None:
            return [SendBytes(self._last)]
        return []

    def _fire(self, name: str, now: float) -> list[TxOutput]:
        if name == "J":
            self._terminate()
        return []


ServerTransaction = ServerInviteTransaction | ServerNonInviteTransaction
ClientTransaction = ClientInviteTransaction | ClientNonInviteTransaction
