"""A local HTTP server standing in for a carrier's REST API: it records every request and answers what the test
queued (the carriers' clouds cannot be reached from here)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# status, JSON body, and optionally extra headers (Retry-After)
Response = tuple[int, Any] | tuple[int, Any, dict[str, str]]


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class FakeCarrier:
    requests: list[Recorded] = field(default_factory=list)
    responses: list[Response] = field(default_factory=list)
    # When set, answers every request instead of ``responses`` (a carrier whose answers depend on the request).
    responder: Callable[[Recorded], Response] | None = None
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> FakeCarrier:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                recorded = Recorded(self.command, self.path, dict(self.headers.items()), body)
                fake.requests.append(recorded)
                if fake.responder is not None:
                    answer = fake.responder(recorded)
                else:
                    answer = fake.responses.pop(0) if fake.responses else (200, {})
                status, payload = answer[0], answer[1]
                extra: dict[str, str] = answer[2] if len(answer) == 3 else {}  # type: ignore[misc]
                data = json.dumps(payload).encode()
                self.send_response(status)
                for name, value in extra.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_DELETE = _handle

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
