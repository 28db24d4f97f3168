"""Plivo Audio Streaming. The protocol reference, "Audio Streaming Protocol Reference":
https://www.plivo.com/docs/voice-agents/audio-streaming/concepts/audio-streaming-reference
(its Markdown form, https://plivo.com/docs/voice-agents/audio-streaming/concepts/audio-streaming-reference.md, holds
the same examples). Plivo documents no ``stop`` event: the socket closes when the stream ends. Payloads are cut
short with ``...``; ids are sample UUIDs."""

PAGE = "https://www.plivo.com/docs/voice-agents/audio-streaming/concepts/audio-streaming-reference"
# The <Stream> XML reference: "extraHeaders (string) | Key-value pairs sent to the WebSocket service with the audio
# stream. Example: test1=12,test2=123 Max length: 512 bytes. Only characters [A-Z], [a-z], [0-9] allowed."
STREAM_XML_PAGE = "https://docs.plivo.com/docs/voice/xml/audiostream"
# The older acknowledgement name, from Plivo's support article:
PLAYED_PAGE = "https://support.plivo.com/hc/en-us/articles/32800564168345-How-do-I-know-if-the-buffered-audio-is-played"

# -- from Plivo (PAGE, "Input Events (Plivo to Your Server)") -------------------------------------------------------

START = """
{
  "event": "start",
  "sequenceNumber": 1,
  "start": {
    "callId": "12345678-1234-1234-1234-123456789abc",
    "streamId": "87654321-4321-4321-4321-cba987654321",
    "accountId": "MAXXXXXXXXXXXXXXXXXX",
    "tracks": ["inbound"],
    "mediaFormat": {
      "encoding": "audio/x-mulaw",
      "sampleRate": 8000
    }
  },
  "extra_headers": "userId=12345;sessionId=abc-xyz"
}
"""

MEDIA = """
{
  "event": "media",
  "sequenceNumber": 42,
  "streamId": "87654321-4321-4321-4321-cba987654321",
  "media": {
    "track": "inbound",
    "timestamp": "1705312200000",
    "chunk": 41,
    "payload": "//uQxAAAAAANIAAAAAExBTUUzLjEwMFVV..."
  },
  "extra_headers": "userId=12345;sessionId=abc-xyz"
}
"""

DTMF = """
{
  "event": "dtmf",
  "sequenceNumber": 50,
  "streamId": "87654321-4321-4321-4321-cba987654321",
  "dtmf": {
    "track": "inbound",
    "digit": "5",
    "timestamp": "1705312250000"
  },
  "extra_headers": "userId=12345;sessionId=abc-xyz"
}
"""

PLAYED_STREAM = """
{
  "event": "playedStream",
  "sequenceNumber": 75,
  "streamId": "87654321-4321-4321-4321-cba987654321",
  "name": "greeting-complete"
}
"""

CLEARED_AUDIO = """
{
  "event": "clearedAudio",
  "sequenceNumber": 80,
  "streamId": "87654321-4321-4321-4321-cba987654321"
}
"""

# PLAYED_PAGE, "Response":
PLAYED = """
{
  "event": "played",
  "streamId": "20170ada-f610-433b-8758-c02a2aab3662",
  "name": "customer greeting audio"
}
"""

# -- to Plivo (PAGE, "Output Events (Your Server to Plivo)") --------------------------------------------------------

PLAY_AUDIO = """
{
  "event": "playAudio",
  "media": {
    "contentType": "audio/x-mulaw",
    "sampleRate": 8000,
    "payload": "//uQxAAAAAANIAAAAAExBTUUzLjEwMFVV..."
  }
}
"""

CHECKPOINT = """
{
  "event": "checkpoint",
  "streamId": "87654321-4321-4321-4321-cba987654321",
  "name": "greeting-complete"
}
"""

CLEAR_AUDIO = """
{
  "event": "clearAudio",
  "streamId": "87654321-4321-4321-4321-cba987654321"
}
"""
