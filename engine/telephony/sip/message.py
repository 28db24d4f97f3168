"""SIP messages (RFC 3261 section 7): parsing from bytes and serialising back, with no I/O.

``parse_message`` takes one whole message (a UDP datagram); ``StreamParser`` frames messages out of a TCP byte
stream by Content-Length. Both raise ``SipParseError`` for anything malformed, carrying whatever was parsed so
far so the caller can still answer 400 when the headers needed for a response are there.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import overload

SIP_VERSION = "SIP/2.0"
MAX_MESSAGE_BYTES = 65_535  # one UDP datagram; a TCP peer sending more is broken or hostile
MAX_HEADERS = 200

# RFC 3261 7.3.3 compact forms.
COMPACT_FORMS = {
    "i": "Call-ID",
    "m": "Contact",
    "e": "Content-Encoding",
    "l": "Content-Length",
    "c": "Content-Type",
    "f": "From",
    "s": "Subject",
    "k": "Supported",
    "t": "To",
    "v": "Via",
}
_CANONICAL = {
    name.lower(): name
    for name in (
        "Via",
        "From",
        "To",
        "Call-ID",
        "CSeq",
        "Contact",
        "Max-Forwards",
        "Content-Type",
        "Content-Length",
        "User-Agent",
        "Allow",
        "Accept",
        "Supported",
        "Route",
        "Record-Route",
        "WWW-Authenticate",
        "Proxy-Authenticate",
        "Authorization",
        "Proxy-Authorization",
        "Server",
        "Subject",
        "Content-Encoding",
        "Retry-After",
        "Reason",
        "Require",
        "Unsupported",
    )
}
_TOKEN = re.compile(r"^[A-Za-z0-9\-.!%*_+`'~]+$")
# RFC 3261 25.1: a Request-URI is an absolute URI, with no whitespace, quotes or angle brackets in it.
_REQUEST_URI = re.compile(r'^[A-Za-z][A-Za-z0-9+\-.]*:[^\s<>"]+$')
_SIP_VERSION = re.compile(r"^SIP/\d+\.\d+$", re.IGNORECASE)
# Headers that may appear once only (RFC 3261 7.3.1 and 20): a second one makes the message ambiguous.
_SINGLE_HEADERS = ("To", "From", "Call-ID", "CSeq", "Max-Forwards", "Content-Length", "Content-Type")
# Headers holding name-addrs whose quoted display names must close (RFC 3261 25.1 quoted-string).
_NAME_ADDR_HEADERS = ("To", "From", "Contact")
# Headers whose values may be combined with commas (RFC 3261 7.3.1); others are never split.
_LIST_HEADERS = {"via", "route", "record-route", "contact", "allow", "supported", "accept", "require"}


class SipParseError(ValueError):
    """The bytes are not a well-formed SIP message. ``partial`` is what parsed, for the reply: ``status`` is 400,
    or 505 for a request in a SIP version other than 2.0 (RFC 3261 8.2.2)."""

    def __init__(self, message: str, partial: SipRequest | None = None, *, status: int = 400) -> None:
        super().__init__(message)
        self.partial = partial
        self.status = status


def canonical_name(name: str) -> str:
    lowered = name.lower()
    if lowered in COMPACT_FORMS:
        return COMPACT_FORMS[lowered]
    return _CANONICAL.get(lowered, name)


class Headers:
    """Ordered, case-insensitive, multi-valued header list. Names are stored in canonical (long) form."""

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        self._items: list[tuple[str, str]] = [(canonical_name(n), v) for n, v in items]

    @overload
    def get(self, name: str) -> str | None: ...
    @overload
    def get(self, name: str, default: str) -> str: ...
    def get(self, name: str, default: str | None = None) -> str | None:
        key = canonical_name(name).lower()
        for n, v in self._items:
            if n.lower() == key:
                return v
        return default

    def get_all(self, name: str) -> list[str]:
        """Every value of ``name``, with comma-joined list headers split into separate values."""
        key = canonical_name(name).lower()
        values: list[str] = []
        for n, v in self._items:
            if n.lower() == key:
                values.extend(split_list(v) if key in _LIST_HEADERS else [v])
        return values

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def set(self, name: str, value: str) -> None:
        """Replace every value of ``name`` with one value, kept where the first one was."""
        name = canonical_name(name)
        key = name.lower()
        out: list[tuple[str, str]] = []
        placed = False
        for n, v in self._items:
            if n.lower() == key:
                if not placed:
                    out.append((name, value))
                    placed = True
            else:
                out.append((n, v))
        if not placed:
            out.append((name, value))
        self._items = out

    def add(self, name: str, value: str) -> None:
        self._items.append((canonical_name(name), value))

    def prepend(self, name: str, value: str) -> None:
        self._items.insert(0, (canonical_name(name), value))

    def remove(self, name: str) -> None:
        key = canonical_name(name).lower()
        self._items = [(n, v) for n, v in self._items if n.lower() != key]

    def items(self) -> list[tuple[str, str]]:
        return list(self._items)

    def copy(self) -> Headers:
        return Headers(self._items)

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self._items)

    def __repr__(self) -> str:
        return f"Headers({self._items!r})"


def split_list(value: str) -> list[str]:
    """Split a comma-separated header value, respecting quotes and <...> (a URI may hold commas)."""
    parts: list[str] = []
    depth_angle = 0
    in_quote = False
    current: list[str] = []
    escaped = False
    for ch in value:
        if escaped:
            current.append(ch)
            escaped = False
            continue
        if ch == "\\" and in_quote:
            escaped = True
            current.append(ch)
            continue
        if ch == '"':
            in_quote = not in_quote
        elif not in_quote and ch == "<":
            depth_angle += 1
        elif not in_quote and ch == ">":
            depth_angle = max(0, depth_angle - 1)
        elif ch == "," and not in_quote and depth_angle == 0:
            part = "".join(current).strip()
            if part:
                parts.append(part)
            current = []
            continue
        current.append(ch)
    part = "".join(current).strip()
    if part:
        parts.append(part)
    return parts


@dataclass
class SipRequest:
    method: str
    uri: str
    headers: Headers = field(default_factory=Headers)
    body: bytes = b""

    def serialize(self) -> bytes:
        return _serialize(f"{self.method} {self.uri} {SIP_VERSION}", self.headers, self.body)


@dataclass
class SipResponse:
    status: int
    reason: str
    headers: Headers = field(default_factory=Headers)
    body: bytes = b""

    def serialize(self) -> bytes:
        return _serialize(f"{SIP_VERSION} {self.status} {self.reason}", self.headers, self.body)


SipMessage = SipRequest | SipResponse


def _serialize(start: str, headers: Headers, body: bytes) -> bytes:
    lines = [start]
    for name, value in headers:
        if name.lower() == "content-length":
            continue
        lines.append(f"{name}: {value}")
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + body


def _split_head(data: bytes) -> tuple[bytes, bytes]:
    for sep in (b"\r\n\r\n", b"\n\n"):
        idx = data.find(sep)
        if idx >= 0:
            return data[:idx], data[idx + len(sep) :]
    raise SipParseError("no blank line after the headers")


def _parse_header_lines(head: str) -> tuple[str, list[tuple[str, str]]]:
    raw_lines = head.replace("\r\n", "\n").split("\n")
    # The start line is kept as it came: its single spaces are syntax (RFC 3261 7.1, 7.2).
    start = raw_lines[0]
    headers: list[tuple[str, str]] = []
    for line in raw_lines[1:]:
        if not line:
            continue
        if line[0] in " \t":
            # Folded continuation of the previous header (RFC 3261 7.3.1).
            if not headers:
                raise SipParseError("header continuation before any header")
            name, value = headers[-1]
            headers[-1] = (name, f"{value} {line.strip()}")
            continue
        name, sep, value = line.partition(":")
        name = name.strip()
        if not sep or not name or not _TOKEN.match(name):
            raise SipParseError(
                f"malformed header line (name {name[:30]!r})"
                if _TOKEN.match(name[:30] or "-")
                else "malformed header line"
            )
        headers.append((name, value.strip()))
        if len(headers) > MAX_HEADERS:
            raise SipParseError("too many headers")
    return start, headers


def parse_message(data: bytes) -> SipMessage:
    """Parse one complete SIP message (one datagram). Raises ``SipParseError``."""
    if len(data) > MAX_MESSAGE_BYTES:
        raise SipParseError("message too large")
    data = data.lstrip(b"\r\n")  # keep-alive CRLFs (RFC 5626) may precede a message
    head_bytes, body = _split_head(data)
    try:
        head = head_bytes.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SipParseError("headers are not UTF-8") from exc
    start, items = _parse_header_lines(head)
    headers = Headers(items)
    message = _parse_start_line(start, headers)
    _check_header_counts(message)
    length_text = headers.get("Content-Length")
    if length_text is not None:
        try:
            length = int(length_text)
        except ValueError as exc:
            raise SipParseError("Content-Length is not a number", _partial(message)) from exc
        if length < 0 or length > len(body):
            raise SipParseError("Content-Length larger than the body", _partial(message))
        body = body[:length]
    message.body = body
    _check_required(message)
    return message


def _partial(message: SipMessage) -> SipRequest | None:
    return message if isinstance(message, SipRequest) else None


def _parse_start_line(start: str, headers: Headers) -> SipMessage:
    if start.startswith(f"{SIP_VERSION} "):
        # Status-Line: the reason phrase may be empty (RFC 3261 25.1 allows zero characters).
        parts = start.split(" ", 2)
        code = parts[1]
        if not (len(code) == 3 and code.isdigit()):
            raise SipParseError("malformed status code")
        status = int(code)
        if not 100 <= status <= 699:
            raise SipParseError("status code out of range")
        return SipResponse(status, parts[2] if len(parts) == 3 else "", headers)
    # Request-Line: exactly Method SP Request-URI SP SIP-Version; the method is case-sensitive (RFC 3261 7.1).
    parts = start.split(" ")
    method = parts[0]
    partial = SipRequest(method, "", headers) if _TOKEN.match(method) else None
    if len(parts) != 3 or partial is None:
        raise SipParseError("malformed request line", partial)
    uri, version = parts[1], parts[2]
    if version != SIP_VERSION:
        if _SIP_VERSION.match(version):
            raise SipParseError("unsupported SIP version", partial, status=505)
        raise SipParseError("malformed request line", partial)
    if not _REQUEST_URI.match(uri):
        raise SipParseError("malformed Request-URI", partial)
    return SipRequest(method, uri, headers)


def _check_header_counts(message: SipMessage) -> None:
    """Single-value headers appear once; name-addrs close their quotes; every Via parses (RFC 3261 7.3.1)."""
    partial = _partial(message)
    for name in _SINGLE_HEADERS:
        if len(message.headers.get_all(name)) > 1:
            raise SipParseError(f"more than one {name} header", partial)
    for name in _NAME_ADDR_HEADERS:
        for value in message.headers.get_all(name):
            if not _quotes_balanced(value):
                raise SipParseError(f"unbalanced quotes in {name}", partial)
    for value in message.headers.get_all("Via"):
        try:
            parse_via(value)
        except SipParseError as exc:
            raise SipParseError(str(exc), partial) from exc


def _quotes_balanced(value: str) -> bool:
    in_quote = False
    escaped = False
    for ch in value:
        if escaped:
            escaped = False
        elif in_quote and ch == "\\":
            escaped = True
        elif ch == '"':
            in_quote = not in_quote
    return not in_quote


def _check_required(message: SipMessage) -> None:
    """The headers every message needs (RFC 3261 8.1.1) and that a response can be built from."""
    partial = _partial(message)
    for name in ("Via", "From", "To", "Call-ID", "CSeq"):
        if message.headers.get(name) is None:
            raise SipParseError(f"missing {name} header", partial)
    try:
        seq, method = parse_cseq(message.headers.get("CSeq") or "")
    except SipParseError as exc:
        raise SipParseError(str(exc), partial) from exc
    if isinstance(message, SipRequest) and method != message.method:
        raise SipParseError("CSeq method does not match the request method", partial)
    del seq


def parse_cseq(value: str) -> tuple[int, str]:
    parts = value.split()
    if len(parts) != 2 or not parts[0].isdigit() or len(parts[0]) > 10:
        raise SipParseError("malformed CSeq")
    seq = int(parts[0])
    if seq >= 2**31:
        raise SipParseError("CSeq number out of range")
    return seq, parts[1]


class StreamParser:
    """Frames SIP messages out of a TCP byte stream (RFC 3261 18.3: Content-Length is mandatory on streams)."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[SipMessage | SipParseError]:
        """Return every complete message now in the buffer; malformed ones come back as the error.

        A message ends at the blank line after its headers plus Content-Length bytes, wherever among the headers
        (long or compact form) the Content-Length stands.
        """
        self._buffer.extend(data)
        out: list[SipMessage | SipParseError] = []
        while True:
            # Keep-alive CRLFs between messages.
            while self._buffer[:2] == b"\r\n":
                del self._buffer[:2]
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self._buffer) > MAX_MESSAGE_BYTES:
                    self._buffer.clear()
                    out.append(SipParseError("header section too large"))
                break
            head = bytes(self._buffer[:end])
            lengths = set(_STREAM_LENGTH.findall(head))
            if len(lengths) != 1:
                del self._buffer[: end + 4]
                out.append(
                    SipParseError(
                        "Content-Length is required on a stream"
                        if not lengths
                        else "conflicting Content-Length headers"
                    )
                )
                continue
            total = end + 4 + int(lengths.pop())
            if total > MAX_MESSAGE_BYTES:
                self._buffer.clear()
                out.append(SipParseError("message too large"))
                break
            if len(self._buffer) < total:
                break
            raw = bytes(self._buffer[:total])
            del self._buffer[:total]
            try:
                out.append(parse_message(raw))
            except SipParseError as exc:
                out.append(exc)
        return out


# Content-Length in long or compact form, on any header line of the head (each line ends in CRLF or the head's end).
_STREAM_LENGTH = re.compile(rb"(?im)^(?:content-length|l)[ \t]*:[ \t]*(\d{1,7})[ \t]*\r?$")


# -- header value helpers ------------------------------------------------------------------------------------
@dataclass
class NameAddr:
    """``"Display" <sip:user@host>;tag=x`` (From, To, Contact, Route)."""

    uri: str
    display: str = ""
    params: dict[str, str | None] = field(default_factory=dict)

    @property
    def tag(self) -> str | None:
        return self.params.get("tag")

    def __str__(self) -> str:
        display = f'"{self.display}" ' if self.display else ""
        params = "".join(f";{k}" if v is None else f";{k}={v}" for k, v in self.params.items())
        return f"{display}<{self.uri}>{params}"


def parse_params(text: str) -> dict[str, str | None]:
    params: dict[str, str | None] = {}
    for part in text.split(";"):
        part = part.strip()
        if not part:
            continue
        key, sep, value = part.partition("=")
        params[key.strip().lower()] = value.strip().strip('"') if sep else None
    return params


def parse_name_addr(value: str) -> NameAddr:
    value = value.strip()
    if "<" in value:
        lt = value.index("<")
        gt = value.find(">", lt)
        if gt < 0:
            raise SipParseError("unterminated <uri>")
        display = value[:lt].strip().strip('"')
        uri = value[lt + 1 : gt].strip()
        params = parse_params(value[gt + 1 :])
    else:
        # addr-spec without <>: parameters after the URI belong to the header (RFC 3261 20.10).
        uri, _, rest = value.partition(";")
        display = ""
        params = parse_params(rest)
        uri = uri.strip()
    if not uri:
        raise SipParseError("empty URI")
    return NameAddr(uri, display, params)


@dataclass
class Via:
    transport: str
    host: str
    port: int | None
    params: dict[str, str | None]

    @property
    def branch(self) -> str | None:
        return self.params.get("branch")


# sent-protocol allows linear whitespace around each "/" (RFC 3261 25.1 SLASH = SWS "/" SWS).
_VIA = re.compile(r"^\s*SIP\s*/\s*(\d+\.\d+)\s*/\s*([A-Za-z0-9\-.!%*_+`'~]+)\s+(\S.*)$", re.IGNORECASE | re.DOTALL)


def parse_via(value: str, *, any_version: bool = False) -> Via:
    match = _VIA.match(value)
    if match is None or not (any_version or match.group(1) == "2.0"):
        raise SipParseError("malformed Via protocol")
    sent_by, _, params = match.group(3).partition(";")
    host, port = split_host_port(sent_by.strip())
    return Via(match.group(2).upper(), host, port, parse_params(params))


def split_host_port(text: str) -> tuple[str, int | None]:
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise SipParseError("malformed IPv6 host")
        host, rest = text[1:end], text[end + 1 :]
        port_text = rest[1:] if rest.startswith(":") else ""
    else:
        host, _, port_text = text.partition(":")
    if not host:
        raise SipParseError("empty host")
    if port_text:
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise SipParseError("malformed port")
        return host, int(port_text)
    return host, None


@dataclass
class SipUri:
    scheme: str
    user: str
    host: str
    port: int | None
    params: dict[str, str | None]

    def __str__(self) -> str:
        user = f"{self.user}@" if self.user else ""
        port = f":{self.port}" if self.port else ""
        params = "".join(f";{k}" if v is None else f";{k}={v}" for k, v in self.params.items())
        return f"{self.scheme}:{user}{self.host}{port}{params}"


def parse_uri(uri: str) -> SipUri:
    scheme, sep, rest = uri.partition(":")
    if not sep or scheme.lower() not in ("sip", "sips", "tel"):
        raise SipParseError("unsupported URI scheme")
    rest = rest.split("?", 1)[0]
    main, _, params = rest.partition(";")
    if scheme.lower() == "tel":
        return SipUri("tel", main, "", None, parse_params(params))
    user, at, hostport = main.rpartition("@")
    if not at:
        user, hostport = "", main
    host, port = split_host_port(hostport)
    return SipUri(scheme.lower(), user, host, port, parse_params(params))


REASONS = {
    100: "Trying",
    180: "Ringing",
    183: "Session Progress",
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    406: "Not Acceptable",
    407: "Proxy Authentication Required",
    408: "Request Timeout",
    415: "Unsupported Media Type",
    416: "Unsupported URI Scheme",
    420: "Bad Extension",
    480: "Temporarily Unavailable",
    481: "Call/Transaction Does Not Exist",
    482: "Loop Detected",
    483: "Too Many Hops",
    486: "Busy Here",
    487: "Request Terminated",
    488: "Not Acceptable Here",
    491: "Request Pending",
    500: "Server Internal Error",
    501: "Not Implemented",
    503: "Service Unavailable",
    505: "Version Not Supported",
    603: "Decline",
}


def make_response(
    request: SipRequest, status: int, reason: str | None = None, *, to_tag: str | None = None
) -> SipResponse:
    """A response copying Via, From, To, Call-ID and CSeq from the request (RFC 3261 8.2.6.2)."""
    headers = Headers()
    for via in request.headers.get_all("Via"):
        headers.add("Via", via)
    headers.add("From", request.headers.get("From") or "")
    to = request.headers.get("To") or ""
    if to_tag and status > 100 and ";tag=" not in to.replace(" ", "").lower():
        to = f"{to};tag={to_tag}"
    headers.add("To", to)
    headers.add("Call-ID", request.headers.get("Call-ID") or "")
    headers.add("CSeq", request.headers.get("CSeq") or "")
    return SipResponse(status, reason or REASONS.get(status, "Unknown"), headers)
