"""Closerr: the application shell (settings, command line) around the engine and the control API."""
