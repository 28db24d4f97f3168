"""SIP trunk endpoint: sans-I/O SIP (RFC 3261), SDP offer/answer, RTP/RFC 4733 and a thin asyncio layer.

Protocol cores (``message``, ``transaction``, ``dialog``, ``sdp``, ``auth``, ``rtp``, ``jitter``, ``media``, and
``endpoint`` with its ``events``, ``core``, ``uac``, ``uas`` and ``received``) are pure objects fed bytes and the
time. ``server``, ``transport`` and ``leg`` are the asyncio shell.
"""

from engine.telephony.sip.server import SipCallInfo, SipServer, place_call
from engine.telephony.sip.trunk import SipCallResult, SipTrunkConfig

__all__ = ["SipCallInfo", "SipCallResult", "SipServer", "SipTrunkConfig", "place_call"]
