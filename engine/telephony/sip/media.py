"""One call's RTP stream, sans-I/O: datagrams and 20 ms ticks in, datagrams and PCM frames out.

``RtpSession`` owns the codec, the outbound sequence/timestamp/SSRC, the inbound jitter buffer, DTMF
detection and the remote address. Symmetric RTP: the remote address from SDP is only a first guess; once
packets arrive we send to wherever they come from, which is what gets audio through a NAT.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from engine.audio.g711 import alaw_decode, alaw_encode, ulaw_decode, ulaw_encode
from engine.telephony.sip.jitter import JitterBuffer, conceal
from engine.telephony.sip.rtp import DtmfReceiver, RtpError, RtpSender, parse_rtp
from engine.telephony.sip.sdp import PCMA, Negotiated

SAMPLE_RATE = 8000
FRAME_SAMPLES = 160
FRAME_BYTES = FRAME_SAMPLES * 2  # PCM16

Addr = tuple[str, int]
_CODECS: dict[str, tuple[Callable[[bytes], bytes], Callable[[bytes], bytes]]] = {
    "PCMU": (ulaw_encode, ulaw_decode),
    "PCMA": (alaw_encode, alaw_decode),
}
_SILENCE_PCM = b"\x00" * FRAME_BYTES


@dataclass
class MediaStats:
    packets_in: int = 0
    packets_out: int = 0
    malformed: int = 0
    foreign: int = 0  # packets from an unexpected source once latched
    dtmf: int = 0


@dataclass
class Tick:
    """What one 20 ms tick produced."""

    packet: bytes | None = None  # send this to ``addr``
    addr: Addr | None = None
    pcm: bytes | None = None  # hand this inbound frame to the pipeline
    marks: list[str] = field(default_factory=list)  # marks whose audio has now been sent


class RtpSession:
    def __init__(self) -> None:
        self.stats = MediaStats()
        self.remote: Addr | None = None
        self.latched = False
        # Set for an inbound call whose media must stay with the signalling peer: packets from any other host
        # neither latch the stream nor reach the pipeline (else the first sender to guess the port takes the call).
        self.source_host: str | None = None
        self.codec = "PCMU"
        self.dtmf_pt: int | None = None
        self.send_enabled = True  # False while the peer holds us (sendonly/inactive)
        self.started = False  # deliver inbound frames only once answered (early media is not the lead)
        self._encode, self._decode = _CODECS["PCMU"]
        self._sender = RtpSender(0)
        self._jitter = JitterBuffer()
        self._dtmf = DtmfReceiver()
        self._remote_ssrc: int | None = None
        self._out: deque[bytes | str] = deque()  # PCM frames, or a mark name
        self._partial = b""
        self._last_pcm: bytes | None = None
        self._lost_in_row = 0
        self._silence_packet: bytes | None = None
        self.audio_pt = 0
        self._in_talkspurt = False
        self._held_ticks = 0

    # -- signalling-side configuration -------------------------------------------------------------------------
    def configure(self, negotiated: Negotiated) -> None:
        self.codec = negotiated.codec_name
        self._encode, self._decode = _CODECS.get(self.codec, _CODECS["PCMU"])
        self.audio_pt = negotiated.codec_pt
        self._sender.payload_type = negotiated.codec_pt
        self._silence_packet = None
        self.dtmf_pt = negotiated.dtmf_pt
        self.send_enabled = not negotiated.on_hold and negotiated.remote_direction != "recvonly"
        if negotiated.on_hold:
            return
        new_remote = (negotiated.remote_host, negotiated.remote_port)
        if not self.latched or (self.remote is not None and new_remote[0] != self.remote[0]):
            # A re-INVITE naming a new address moves the stream; otherwise keep the latched source.
            self.remote = new_remote
            self.latched = False

    # -- outbound ---------------------------------------------------------------------------------------------
    def enqueue(self, pcm: bytes) -> None:
        """Queue PCM16 for sending; any length, cut into 20 ms frames here."""
        data = self._partial + pcm
        whole = len(data) - len(data) % FRAME_BYTES
        for i in range(0, whole, FRAME_BYTES):
            self._out.append(data[i : i + FRAME_BYTES])
        self._partial = data[whole:]

    def mark(self, name: str) -> None:
        if self._partial:
            self._out.append(self._partial + b"\x00" * (FRAME_BYTES - len(self._partial)))
            self._partial = b""
        self._out.append(name)

    def clear(self) -> list[str]:
        """Drop queued audio (barge-in); the marks it held count as played so nobody waits for them."""
        marks = [item for item in self._out if isinstance(item, str)]
        self._out.clear()
        self._in_talkspurt = False
        self._partial = b""
        return marks

    @property
    def queued_frames(self) -> int:
        return sum(1 for item in self._out if not isinstance(item, str))

    # -- inbound ------------------------------------------------------------------------------------------------
    def receive(self, data: bytes, addr: Addr, now: float) -> str | None:
        """Feed one datagram; returns a DTMF digit when one starts. Malformed packets are counted and dropped."""
        try:
            packet = parse_rtp(data)
        except RtpError:
            self.stats.malformed += 1
            return None
        if self.source_host is not None and addr[0] != self.source_host:
            self.stats.foreign += 1
            return None
        if self._remote_ssrc is not None and packet.ssrc != self._remote_ssrc and self.latched and addr != self.remote:
            self.stats.foreign += 1
            return None
        if not self.latched:
            self.remote = addr
            self.latched = True
        self._remote_ssrc = packet.ssrc
        self.stats.packets_in += 1
        if self.dtmf_pt is not None and packet.payload_type == self.dtmf_pt:
            try:
                digit = self._dtmf.feed(packet)
            except RtpError:
                self.stats.malformed += 1
                return None
            if digit is not None:
                self.stats.dtmf += 1
            return digit
        if packet.payload_type != self.audio_pt or not packet.payload:
            return None  # comfort noise or a codec we did not negotiate
        self._jitter.push(packet, now)
        return None

    # -- the 20 ms clock ------------------------------------------------------------------------------------------
    def tick(self, now: float) -> Tick:
        result = Tick()
        # Marks at the head of the queue were reached: their audio has gone out.
        while self._out and isinstance(self._out[0], str):
            result.marks.append(self._out.popleft())  # type: ignore[arg-type]
        if self.remote is not None and self.send_enabled:
            if self._talkspurt_may_start():
                frame = self._out.popleft()
                assert isinstance(frame, bytes)
                payload = self._encode(frame)
            else:
                # Keep the stream continuous with silence: peers' jitter buffers and NATs both like it.
                if self._silence_packet is None:
                    self._silence_packet = self._encode(_SILENCE_PCM)
                payload = self._silence_packet
            result.packet = self._sender.next_packet(payload)
            result.addr = self.remote
            self.stats.packets_out += 1
        else:
            if self._out and not isinstance(self._out[0], str):
                self._out.popleft()  # on hold: audio still advances in time, unheard
            self._sender.skip()
        while self._out and isinstance(self._out[0], str):
            result.marks.append(self._out.popleft())  # type: ignore[arg-type]
        if self.started:
            payload_in = self._jitter.pop()
            if payload_in is not None:
                pcm = self._decode(payload_in)
                self._last_pcm = pcm
                self._lost_in_row = 0
            else:
                self._lost_in_row += 1
                pcm = conceal(self._last_pcm, self._lost_in_row, FRAME_BYTES)
            result.pcm = pcm
        else:
            self._jitter.pop()  # keep early media from piling up
        return result

    def _talkspurt_may_start(self) -> bool:
        """Whether to send queued audio now. A paced caller's frames land at random phase against our tick;
        holding the first frame of a talkspurt for one tick gives 20 ms of slack, so a frame arriving a little
        late does not punch a silent hole into the middle of a sentence."""
        has_audio = bool(self._out) and not isinstance(self._out[0], str)
        if not has_audio:
            self._in_talkspurt = False
            self._held_ticks = 0
            return False
        if self._in_talkspurt:
            return True
        if self.queued_frames >= 2 or self._held_ticks >= 1:
            self._in_talkspurt = True
            self._held_ticks = 0
            return True
        self._held_ticks += 1
        return False

    @property
    def jitter(self) -> JitterBuffer:
        return self._jitter


__all__ = ["FRAME_BYTES", "PCMA", "SAMPLE_RATE", "MediaStats", "RtpSession", "Tick"]
