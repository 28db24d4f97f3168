"""SIP dialogs (RFC 3261 section 12): identity, state, CSeq ordering and building in-dialog requests."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from enum import StrEnum

from engine.telephony.sip.message import (
    Headers,
    SipRequest,
    SipResponse,
    parse_cseq,
    parse_name_addr,
)

BRANCH_MAGIC = "z9hG4bK"


def new_branch() -> str:
    return BRANCH_MAGIC + secrets.token_hex(8)


def new_tag() -> str:
    return secrets.token_hex(6)


class DialogState(StrEnum):
    EARLY = "early"
    CONFIRMED = "confirmed"
    TERMINATED = "terminated"


class DialogError(ValueError):
    pass


def _contact_uri(message: SipRequest | SipResponse) -> str | None:
    contacts = message.headers.get_all("Contact")
    if not contacts:
        return None
    return parse_name_addr(contacts[0]).uri


@dataclass
class Dialog:
    call_id: str
    local_tag: str
    remote_tag: str
    local_uri: str  # From (UAC) / To (UAS) without tag, as a name-addr
    remote_uri: str
    remote_target: str  # where in-dialog requests go (the peer's Contact)
    local_seq: int
    remote_seq: int | None
    route_set: list[str] = field(default_factory=list)
    state: DialogState = DialogState.EARLY
    local_hold: bool = False  # the peer put us on hold (sendonly/inactive)

    @property
    def id(self) -> tuple[str, str, str]:
        return (self.call_id, self.local_tag, self.remote_tag)

    @classmethod
    def as_uas(cls, invite: SipRequest, local_tag: str, *, confirmed: bool = False) -> Dialog:
        """The dialog an inbound INVITE creates once we answer it with a tag (RFC 3261 12.1.1)."""
        from_ = parse_name_addr(invite.headers.get("From") or "")
        to = parse_name_addr(invite.headers.get("To") or "")
        # An RFC 2543 caller sends no From tag: its dialog has an empty remote tag (RFC 3261 12.1.1).
        remote_tag = from_.tag or ""
        to.params.pop("tag", None)
        from_.params.pop("tag", None)
        seq, _ = parse_cseq(invite.headers.get("CSeq") or "")
        return cls(
            call_id=invite.headers.get("Call-ID") or "",
            local_tag=local_tag,
            remote_tag=remote_tag,
            local_uri=str(to),
            remote_uri=str(from_),
            remote_target=_contact_uri(invite) or from_.uri,
            local_seq=secrets.randbelow(10_000) + 1,
            remote_seq=seq,
            route_set=invite.headers.get_all("Record-Route"),
            state=DialogState.CONFIRMED if confirmed else DialogState.EARLY,
        )

    @classmethod
    def as_uac(cls, invite: SipRequest, response: SipResponse) -> Dialog:
        """The dialog a 1xx-with-tag or 2xx to our INVITE creates (RFC 3261 12.1.2): routes reversed."""
        from_ = parse_name_addr(invite.headers.get("From") or "")
        to = parse_name_addr(response.headers.get("To") or "")
        if not to.tag or not from_.tag:
            raise DialogError("response without a To tag")
        local_tag, remote_tag = from_.tag, to.tag
        to.params.pop("tag", None)
        from_.params.pop("tag", None)
        seq, _ = parse_cseq(invite.headers.get("CSeq") or "")
        return cls(
            call_id=invite.headers.get("Call-ID") or "",
            local_tag=local_tag,
            remote_tag=remote_tag,
            local_uri=str(from_),
            remote_uri=str(to),
            remote_target=_contact_uri(response) or invite.uri,
            local_seq=seq,
            remote_seq=None,
            route_set=list(reversed(response.headers.get_all("Record-Route"))),
            state=DialogState.CONFIRMED if 200 <= response.status < 300 else DialogState.EARLY,
        )

    def update_from_response(self, response: SipResponse) -> None:
        """A 2xx confirms an early dialog and may move the remote target (RFC 3261 12.2.1.2)."""
        if 200 <= response.status < 300:
            self.state = DialogState.CONFIRMED
            target = _contact_uri(response)
            if target:
                self.remote_target = target

    def check_remote_cseq(self, request: SipRequest) -> bool:
        """In-dialog requests must not go back in CSeq (RFC 3261 12.2.2); ACK and CANCEL reuse theirs."""
        seq, method = parse_cseq(request.headers.get("CSeq") or "")
        if method in ("ACK", "CANCEL"):
            return True
        if self.remote_seq is not None and seq < self.remote_seq:
            return False
        self.remote_seq = seq
        return True

    def new_request(
        self, method: str, *, via_host: str, via_port: int, transport: str, contact: str, cseq: int | None = None
    ) -> SipRequest:
        """An in-dialog request (RFC 3261 12.2.1.1); ACK passes the INVITE's CSeq number as ``cseq``."""
        if cseq is None:
            self.local_seq += 1
            cseq = self.local_seq
        headers = Headers()
        headers.add("Via", f"SIP/2.0/{transport.upper()} {via_host}:{via_port};branch={new_branch()};rport")
        headers.add("Max-Forwards", "70")
        headers.add("From", f"{self.local_uri};tag={self.local_tag}")
        headers.add("To", f"{self.remote_uri};tag={self.remote_tag}" if self.remote_tag else self.remote_uri)
        headers.add("Call-ID", self.call_id)
        headers.add("CSeq", f"{cseq} {method}")
        uri = self.remote_target
        routes = list(self.route_set)
        if routes and ";lr" not in routes[0]:
            # Strict router (RFC 3261 12.2.1.1): its URI becomes the Request-URI.
            uri = parse_name_addr(routes[0]).uri
            routes = [*routes[1:], f"<{self.remote_target}>"]
        for route in routes:
            headers.add("Route", route)
        headers.add("Contact", contact)
        return SipRequest(method, uri, headers)
