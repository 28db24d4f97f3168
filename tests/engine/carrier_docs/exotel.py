"""Exotel AgentStream, "Working with the Stream and Voicebot Applet" (the bidirectional Voicebot applet):
https://developer.exotel.com/docs/agentstream/stream-voicebot-applet
The stored copy of that page in the search corpus holds only its opening (applet parameters, audio format, chunk
sizes); the messages below are from the same page's published source, section "WebSocket Message Protocol".
Exotel's placeholders are in angle brackets (``<stream_sid>``, ``<call_sid>``, ``<base64_encoded_audio>``)."""

PAGE = "https://developer.exotel.com/docs/agentstream/stream-voicebot-applet"

# -- from Exotel ----------------------------------------------------------------------------------------------------

# "Connected: Sent when the WebSocket connection is established."
CONNECTED = """
{
  "event": "connected"
}
"""

# "Start: Contains stream metadata, call context, and any custom parameters."
START = """
{
  "event": "start",
  "sequence_number": 1,
  "stream_sid": "<stream_sid>",
  "start": {
    "stream_sid": "<stream_sid>",
    "call_sid": "<call_sid>",
    "account_sid": "<account_sid>",
    "from": "+919876543210",
    "to": "+911234567890",
    "custom_parameters": {
      "key1": "value1",
      "key2": "value2"
    },
    "media_format": {
      "encoding": "raw",
      "sample_rate": "8000",
      "bit_rate": "128"
    }
  }
}
"""

# "Media: Audio data packets from the caller."
MEDIA = """
{
  "event": "media",
  "sequence_number": 3,
  "stream_sid": "<stream_sid>",
  "media": {
    "chunk": 2,
    "timestamp": "10",
    "payload": "<base64_encoded_audio>"
  }
}
"""

# "DTMF (Bidirectional only): Key press events from the caller."
DTMF = """
{
  "event": "dtmf",
  "sequence_number": 1,
  "stream_sid": "<stream_sid>",
  "dtmf": {
    "duration": "200",
    "digit": "5"
  }
}
"""

# "Stop: Sent when the stream ends." (reason: "stopped" when the applet ended, "callended" when the caller hung up)
STOP = """
{
  "event": "stop",
  "sequence_number": 10,
  "stream_sid": "<stream_sid>",
  "stop": {
    "call_sid": "<call_sid>",
    "account_sid": "<account_sid>",
    "reason": "stopped"
  }
}
"""

# "Mark: Notification that a previously sent audio chunk has finished playing."
MARK = """
{
  "event": "mark",
  "sequence_number": 15,
  "stream_sid": "<stream_sid>",
  "mark": {
    "name": "<label>"
  }
}
"""

# -- to Exotel ------------------------------------------------------------------------------------------------------

# "Media: Send audio back to the caller (same format as incoming)."
SEND_MEDIA = """
{
  "event": "media",
  "stream_sid": "<stream_sid>",
  "media": {
    "payload": "<base64_encoded_audio>"
  }
}
"""

# "Mark: Request a notification when your audio finishes playing."
SEND_MARK = """
{
  "event": "mark",
  "stream_sid": "<stream_sid>",
  "mark": {
    "name": "my-label"
  }
}
"""

# "Clear: Remove all queued (unplayed) audio from the buffer."
SEND_CLEAR = """
{
  "event": "clear",
  "stream_sid": "<stream_sid>"
}
"""
