"""SDP (RFC 4566) for one audio stream, and offer/answer (RFC 3264) limited to what the engine speaks:
PCMU (0) and PCMA (8) at 8 kHz plus telephone-event (RFC 4733). Pure functions, no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field

PCMU = 0
PCMA = 8
# Static payload types we can decode, in our order of preference.
SUPPORTED_CODECS: dict[int, str] = {PCMU: "PCMU", PCMA: "PCMA"}
DEFAULT_DTMF_PT = 101
DIRECTIONS = ("sendrecv", "sendonly", "recvonly", "inactive")


class SdpError(ValueError):
    """Unparseable SDP (answered 400) ..."""


class NoCommonCodec(SdpError):
    """... or SDP that offers nothing we can speak (answered 488)."""


@dataclass
class MediaDescription:
    media: str
    port: int
    proto: str
    formats: list[int]
    rtpmap: dict[int, str] = field(default_factory=dict)  # pt -> "PCMU/8000"
    fmtp: dict[int, str] = field(default_factory=dict)
    direction: str | None = None
    connection: str | None = None
    ptime: int | None = None


@dataclass
class SessionDescription:
    origin_session: str
    origin_version: int
    connection: str | None
    media: list[MediaDescription]
    direction: str = "sendrecv"

    def audio(self) -> MediaDescription | None:
        return next((m for m in self.media if m.media == "audio" and m.port != 0), None)

    def audio_address(self) -> tuple[str, int] | None:
        audio = self.audio()
        if audio is None:
            return None
        host = audio.connection or self.connection
        if host is None:
            return None
        return host, audio.port

    def audio_direction(self) -> str:
        audio = self.audio()
        if audio is not None and audio.direction:
            return audio.direction
        return self.direction


def _connection_address(value: str) -> str:
    parts = value.split()
    if len(parts) != 3 or parts[0] != "IN" or parts[1] not in ("IP4", "IP6"):
        raise SdpError("malformed c= line")
    return parts[2].split("/")[0]


def _origin(value: str) -> tuple[str, int]:
    parts = value.split()
    if len(parts) != 6 or not parts[2].isdigit():
        raise SdpError("malformed o= line")
    return parts[1], int(parts[2]) % (2**63)


def _media(value: str) -> MediaDescription:
    parts = value.split()
    if len(parts) < 4 or not parts[1].split("/")[0].isdigit():
        raise SdpError("malformed m= line")
    port = int(parts[1].split("/")[0])
    if port > 65535:
        raise SdpError("m= port out of range")
    try:
        formats = [int(f) for f in parts[3:]]
    except ValueError:
        formats = []  # non-RTP media (e.g. application) have token formats
    return MediaDescription(parts[0], port, parts[2], formats)


def _apply_attribute(session: SessionDescription, current: MediaDescription | None, value: str) -> None:
    """An a= line: a direction applies to the session or the media above it; the rest only to a media."""
    name, _, attr = value.partition(":")
    if name in DIRECTIONS:
        if current is None:
            session.direction = name
        else:
            current.direction = name
    elif current is None:
        return
    elif name in ("rtpmap", "fmtp"):
        pt_text, _, rest = attr.partition(" ")
        if not pt_text.isdigit():
            raise SdpError(f"malformed a={name}")
        target = current.rtpmap if name == "rtpmap" else current.fmtp
        target[int(pt_text)] = rest.strip()
    elif name == "ptime" and attr.strip().isdigit():
        current.ptime = int(attr.strip())


def _apply_line(session: SessionDescription, kind: str, value: str) -> None:
    """One line after v=: c= and a= lines belong to the last m= line, or to the session before the first."""
    current = session.media[-1] if session.media else None
    if kind == "o":
        session.origin_session, session.origin_version = _origin(value)
    elif kind == "c":
        address = _connection_address(value)
        if current is None:
            session.connection = address
        else:
            current.connection = address
    elif kind == "m":
        session.media.append(_media(value))
    elif kind == "a":
        _apply_attribute(session, current, value)


def parse_sdp(data: bytes) -> SessionDescription:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SdpError("SDP is not UTF-8") from exc
    session = SessionDescription(origin_session="0", origin_version=0, connection=None, media=[])
    seen_version = False
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        if len(line) < 2 or line[1] != "=":
            raise SdpError(f"malformed SDP line starting {line[:1]!r}")
        if line[0] == "v":
            seen_version = True
        else:
            _apply_line(session, line[0], line[2:])
    if not seen_version:
        raise SdpError("SDP without v= line")
    return session


def _encoding(media: MediaDescription, pt: int) -> str | None:
    mapped = media.rtpmap.get(pt)
    if mapped:
        parts = mapped.split("/")
        rate = parts[1] if len(parts) > 1 else "8000"
        return f"{parts[0].upper()}/{rate}"
    if pt in SUPPORTED_CODECS:
        return f"{SUPPORTED_CODECS[pt]}/8000"
    return None


@dataclass(frozen=True)
class Negotiated:
    """The outcome of offer/answer: what we send and expect on the RTP stream."""

    remote_host: str
    remote_port: int
    codec_pt: int
    codec_name: str
    dtmf_pt: int | None
    remote_direction: str  # the far end's direction; "sendonly"/"inactive" means we are on hold

    @property
    def on_hold(self) -> bool:
        return self.remote_direction in ("sendonly", "inactive") or self.remote_host in ("0.0.0.0", "::")


def negotiate(offer: SessionDescription) -> Negotiated:
    """Pick the first offered codec we support (the offerer's preference order wins, RFC 3264 6.1)."""
    audio = offer.audio()
    if audio is None:
        raise NoCommonCodec("no active audio stream in the offer")
    if audio.proto.upper() not in ("RTP/AVP", "RTP/AVPF"):
        raise NoCommonCodec(f"unsupported media protocol {audio.proto}")
    codec: tuple[int, str] | None = None
    dtmf: int | None = None
    for pt in audio.formats:
        encoding = _encoding(audio, pt)
        if encoding is None:
            continue
        name, _, rate = encoding.partition("/")
        if codec is None and name in ("PCMU", "PCMA") and rate == "8000":
            codec = (pt, name)
        elif dtmf is None and name == "TELEPHONE-EVENT" and rate == "8000":
            dtmf = pt
    if codec is None:
        raise NoCommonCodec("no PCMU or PCMA at 8000 Hz offered")
    address = offer.audio_address()
    if address is None:
        raise SdpError("no connection address for the audio stream")
    return Negotiated(address[0], address[1], codec[0], codec[1], dtmf, offer.audio_direction())


def answer_direction(remote_direction: str) -> str:
    return {"sendonly": "recvonly", "recvonly": "sendonly", "inactive": "inactive"}.get(remote_direction, "sendrecv")


def build_sdp(
    *,
    host: str,
    port: int,
    session_id: int,
    version: int = 1,
    codecs: list[tuple[int, str]] | None = None,
    dtmf_pt: int | None = DEFAULT_DTMF_PT,
    direction: str = "sendrecv",
) -> bytes:
    """An SDP body for one audio stream. ``codecs`` defaults to offering both PCMU and PCMA."""
    codecs = codecs if codecs is not None else [(PCMU, "PCMU"), (PCMA, "PCMA")]
    family = "IP6" if ":" in host else "IP4"
    pts = [pt for pt, _ in codecs] + ([dtmf_pt] if dtmf_pt is not None else [])
    lines = [
        "v=0",
        f"o=closerr {session_id} {version} IN {family} {host}",
        "s=closerr",
        f"c=IN {family} {host}",
        "t=0 0",
        f"m=audio {port} RTP/AVP {' '.join(str(pt) for pt in pts)}",
    ]
    for pt, name in codecs:
        lines.append(f"a=rtpmap:{pt} {name}/8000")
    if dtmf_pt is not None:
        lines.append(f"a=rtpmap:{dtmf_pt} telephone-event/8000")
        lines.append(f"a=fmtp:{dtmf_pt} 0-16")
    lines.append("a=ptime:20")
    lines.append(f"a={direction}")
    return ("\r\n".join(lines) + "\r\n").encode()


def build_answer(negotiated: Negotiated, *, host: str, port: int, session_id: int, version: int = 1) -> bytes:
    """The answer: the chosen codec (with the offerer's payload numbers) and DTMF if offered."""
    return build_sdp(
        host=host,
        port=port,
        session_id=session_id,
        version=version,
        codecs=[(negotiated.codec_pt, negotiated.codec_name)],
        dtmf_pt=negotiated.dtmf_pt,
        direction=answer_direction(negotiated.remote_direction),
    )
