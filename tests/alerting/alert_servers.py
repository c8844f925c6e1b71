"""Real HTTP servers on 127.0.0.1 for receiver tests: each records every request and answers
from a script (a callable deciding status, headers, body and an optional delay)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return orjson.loads(self.body)


@dataclass
class Reply:
    status: int = 200
    body: Any = b"ok"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


Responder = Callable[[Request, int], Reply]  # (request, index of this request) -> reply


class RecordingServer:
    """A threaded HTTP server; ``requests`` holds every request received, in order."""

    def __init__(self, responder: Responder, port: int = 0) -> None:
        self.responder = responder
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                request = Request("POST", self.path, dict(self.headers.items()), body)
                with outer._lock:
                    index = len(outer.requests)
                    outer.requests.append(request)
                reply = outer.responder(request, index)
                if reply.delay:
                    time.sleep(reply.delay)
                payload = reply.body
                if not isinstance(payload, bytes):
                    payload = orjson.dumps(payload)
                try:
                    self.send_response(reply.status)
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout tests)

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def always(reply: Reply) -> Responder:
    return lambda request, index: reply


def sequence(*replies: Reply) -> Responder:
    """Answer the i-th request with ``replies[i]`` (the last one repeats)."""
    return lambda request, index: replies[min(index, len(replies) - 1)]


def slack_api(token: str) -> Responder:
    """A Slack Web API: ``chat.postMessage`` with a bearer token, answering a fresh ``ts``."""

    def respond(request: Request, index: int) -> Reply:
        if request.headers.get("Authorization") != f"Bearer {token}":
            return Reply(200, {"ok": False, "error": "invalid_auth"})
        if request.path != "/api/chat.postMessage":
            return Reply(404, {"ok": False, "error": "unknown_method"})
        body = request.json()
        return Reply(200, {"ok": True, "channel": body["channel"], "ts": f"1700000000.{index:06d}"})

    return respond
