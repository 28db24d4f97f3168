"""Which database failures pass by themselves (the server restarting, a connection cut, the disk full): a unit of
work that failed with one of these rolled back whole and may be run again; any other failure is a bug to report.

The answer is a short reason, bounded for a metric label and free of anything the statement carried.
"""

from __future__ import annotations

import errno

from sqlalchemy import exc as sa_exc

DISK_FULL = "disk_full"
UNAVAILABLE = "db_unavailable"
RESOURCES = "db_resources"

# PostgreSQL SQLSTATEs: class 08 is a lost connection; 57P01-57P03 an administrator or crash shutdown, or a server
# still starting; class 53 the server out of a resource (53100: disk full).
_UNAVAILABLE_STATES = ("57P01", "57P02", "57P03")


def _chain(error: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in seen:
        seen.append(current)
        orig = getattr(current, "orig", None)
        current = orig if isinstance(orig, BaseException) else current.__cause__ or current.__context__
    return seen


def transient_reason(error: BaseException) -> str | None:
    """``disk_full``, ``db_unavailable`` or ``db_resources`` when ``error`` passes by itself; None otherwise."""
    if isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated:
        return UNAVAILABLE
    for cause in _chain(error):
        state = getattr(cause, "sqlstate", None)
        if isinstance(state, str):
            if state == "53100":
                return DISK_FULL
            if state.startswith("53"):
                return RESOURCES
            if state.startswith("08") or state in _UNAVAILABLE_STATES:
                return UNAVAILABLE
            return None  # the server answered with a real error: not one that passes
        if getattr(cause, "sqlite_errorname", None) == "SQLITE_FULL":
            return DISK_FULL
        if isinstance(cause, ConnectionError | TimeoutError):
            return UNAVAILABLE
        if isinstance(cause, OSError):
            return DISK_FULL if cause.errno == errno.ENOSPC else UNAVAILABLE
        if type(cause).__module__.startswith("asyncpg") and (
            "Connection" in type(cause).__name__ or type(cause).__name__ == "InternalClientError"
        ):
            # The server went away mid-statement; the client's protocol state of that connection is then broken
            # too ("cannot switch to state ..."), and the pool replaces the connection.
            return UNAVAILABLE
    if isinstance(error, sa_exc.InterfaceError):
        return UNAVAILABLE
    return None
