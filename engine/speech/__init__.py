"""Speech models as shared services: speech-to-text and text-to-speech, run off the event loop."""
