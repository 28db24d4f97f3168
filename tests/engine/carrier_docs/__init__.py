"""The carriers' published media-stream examples, copied from their documentation pages (each constant names its
page). The carriers' clouds cannot be reached from the tests: these messages are what conformance is checked
against. Only whitespace at line ends was dropped; everything else is as published."""
