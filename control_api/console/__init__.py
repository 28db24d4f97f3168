"""The web console for clients: server-rendered pages at /console on the control API's process.

``ConsolePlugin`` is the one thing ``create_app`` registers; it adds the template engine, the static files and the
console router (session cookie, CSRF) without touching the /v1 API's authentication.
"""

from control_api.console.plugin import ConsolePlugin

__all__ = ["ConsolePlugin"]
