"""The call simulator: a lead that calls the engine through the real carrier WebSocket path (``closerr simulate``)."""
