"""Twilio Media Streams, "Media Streams - WebSocket Messages":
https://www.twilio.com/docs/voice/media-streams/websocket-messages
(the page's Markdown form, https://www.twilio.com/docs/voice/media-streams/websocket-messages.md, holds the same
examples). Twilio's placeholders: ``AC``/``MZ``/``CA`` followed by X's for the account, stream and call SIDs, and
payloads cut short with ``...``."""

PAGE = "https://www.twilio.com/docs/voice/media-streams/websocket-messages"

# -- from Twilio ----------------------------------------------------------------------------------------------------

# "An example connected message is shown below."
CONNECTED = """
{
 "event": "connected",
 "protocol": "Call",
 "version": "1.0.0"
}
"""

# "An example start message is shown below."
START = """
{
  "event": "start",
  "sequenceNumber": "1",
  "start": {
    "accountSid": "ACXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
    "streamSid": "MZXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
    "callSid": "CAXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
    "tracks": [ "inbound" ],
    "mediaFormat": {
        "encoding": "audio/x-mulaw",
        "sampleRate": 8000,
        "channels": 1 },
    "customParameters": {
     "FirstName": "Jane",
     "LastName": "Doe",
     "RemoteParty": "Bob"
   }
  },
  "streamSid": "MZXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"
}
"""

# "An example outbound media message is shown below. The payload value is abbreviated."
MEDIA_OUTBOUND_TRACK = """
{
 "event": "media",
 "sequenceNumber": "3",
 "media": {
   "track": "outbound",
   "chunk": "1",
   "timestamp": "5",
   "payload": "no+JhoaJjpz..."
 } ,
 "streamSid": "MZXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"
}
"""

# "An example inbound media message is shown below. The payload value is abbreviated."
MEDIA_INBOUND_TRACK = """
{
 "event": "media",
 "sequenceNumber": "4",
 "media": {
   "track": "inbound",
   "chunk": "2",
   "timestamp": "5",
   "payload": "no+JhoaJjpzS..."
 },
"streamSid": "MZXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"
}
"""

# "An example stop message is shown below."
STOP = """
{
 "event": "stop",
 "sequenceNumber": "5",
 "stop": {
    "accountSid": "ACXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
    "callSid": "CAXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"
  },
  "streamSid": "MZXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"
}
"""

# "An example dtmf message is shown below."
DTMF = """
{
  "event": "dtmf",
  "streamSid":"MZXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
  "sequenceNumber":"5",
  "dtmf": {
      "track":"inbound_track",
      "digit": "1"
  }
}
"""

# "An example mark message is shown below." (Twilio echoing our mark once the audio before it has played)
MARK = """
{
 "event": "mark",
 "sequenceNumber": "4",
 "streamSid": "MZXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
 "mark": {
   "name": "my label"
 }
}
"""

# -- to Twilio ------------------------------------------------------------------------------------------------------

# "Below is an example media message that your WebSocket server sends back to Twilio."
SEND_MEDIA = """
{
  "event": "media",
  "streamSid": "MZXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
  "media": {
    "payload": "a3242sa..."
  }
}
"""

# "Below is an example mark message that your WebSocket server sends to Twilio."
SEND_MARK = """
{
 "event": "mark",
 "streamSid": "MZXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
 "mark": {
   "name": "my label"
 }
}
"""

# "Below is an example clear message that your WebSocket server sends to Twilio."
SEND_CLEAR = """
{
 "event": "clear",
 "streamSid": "MZXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"
}
"""
