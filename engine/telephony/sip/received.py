"""Reading a request that arrived: where it really came from, whether it can be answered, who it names."""

from __future__ import annotations

from engine.telephony.sip.events import Addr
from engine.telephony.sip.message import SipParseError, SipRequest, parse_name_addr, parse_uri, parse_via


def stamp_via(request: SipRequest, addr: Addr) -> None:
    """Record where the request really came from in its top Via (RFC 3261 18.2.1 ``received``, RFC 3581
    ``rport``), so every response, and any proxy on the way back, routes to the NAT's public side."""
    vias = request.headers.get_all("Via")
    via = parse_via(vias[0])
    params = dict(via.params)
    if via.host != addr[0]:
        params["received"] = addr[0]
    if "rport" in params:
        params["rport"] = str(addr[1])
        params["received"] = addr[0]
    if params == via.params:
        return
    port = f":{via.port}" if via.port else ""
    host = f"[{via.host}]" if ":" in via.host else via.host
    rendered = "".join(f";{k}" if v is None else f";{k}={v}" for k, v in params.items())
    request.headers.remove("Via")
    for value in [f"SIP/2.0/{via.transport} {host}{port}{rendered}", *vias[1:]]:
        request.headers.add("Via", value)


def answerable(request: SipRequest, *, any_version: bool = False) -> bool:
    """Whether a response can be routed and matched: the headers make_response copies must be sane. The CSeq is
    copied as it came (a number out of range is what the 400 is about); ``any_version`` takes a top Via in
    another SIP version, for the 505 that refuses it."""
    vias = request.headers.get_all("Via")
    if not vias or not all(request.headers.get(h) for h in ("From", "To", "Call-ID", "CSeq")):
        return False
    try:
        parse_via(vias[0], any_version=any_version)
        parse_name_addr(request.headers.get("From", ""))
        parse_name_addr(request.headers.get("To", ""))
    except SipParseError:
        return False
    return True


def accepts_sdp(request: SipRequest) -> bool:
    """Whether the request's Accept (if any) takes application/sdp, the body our answers carry."""
    ranges = request.headers.get_all("Accept")
    if not ranges:
        return True
    types = {r.split(";")[0].strip().lower() for r in ranges}
    return bool(types & {"application/sdp", "application/*", "*/*"})


def user_of(header: str | None) -> str:
    """The user part of a From/To header's URI ("" where there is none)."""
    if not header:
        return ""
    try:
        return parse_uri(parse_name_addr(header).uri).user
    except SipParseError:
        return ""


def uri_user(uri: str) -> str:
    try:
        return parse_uri(uri).user
    except SipParseError:
        return ""


def dtmf_relay_digit(request: SipRequest) -> str | None:
    """The digit of an INFO with an application/dtmf-relay body, if it carries a valid one."""
    ctype = (request.headers.get("Content-Type") or "").split(";")[0].strip().lower()
    if ctype != "application/dtmf-relay":
        return None
    for line in request.body.decode("utf-8", "replace").splitlines():
        key, _, value = line.partition("=")
        if key.strip().lower() == "signal":
            digit = value.strip().upper()
            if len(digit) == 1 and digit in "0123456789*#ABCD":
                return digit
    return None


def refer_notify_status(request: SipRequest) -> tuple[int, bool] | None:
    """(status code of the ``message/sipfrag`` body, whether the subscription is terminated) of a NOTIFY for a
    ``refer`` subscription (RFC 3515 2.4.4-2.4.5); None for any other NOTIFY or an unreadable body."""
    event = (request.headers.get("Event") or request.headers.get("o") or "").split(";")[0].strip().lower()
    if event != "refer":
        return None
    ctype = (request.headers.get("Content-Type") or "").split(";")[0].strip().lower()
    if ctype != "message/sipfrag":
        return None
    first = request.body.decode("utf-8", "replace").lstrip().split("\r\n", 1)[0].split("\n", 1)[0]
    parts = first.split(" ", 2)
    if len(parts) < 2 or not parts[0].upper().startswith("SIP/") or not (parts[1].isdigit() and len(parts[1]) == 3):
        return None
    state = (request.headers.get("Subscription-State") or "").split(";")[0].strip().lower()
    return int(parts[1]), state == "terminated"
