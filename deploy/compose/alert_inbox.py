"""A webhook receiver for the docker-compose stack: keeps fairwatch's alert notifications in
memory and shows them at http://localhost:9000/ (JSON at /alerts). Standard library only."""

from __future__ import annotations

import html
import json
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

RECEIVED: list[dict[str, object]] = []
LOCK = threading.Lock()
KEEP = 500


class Inbox(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        try:
            payload: object = json.loads(body)
        except ValueError:
            payload = body.decode("utf-8", "replace")
        with LOCK:
            RECEIVED.append(
                {
                    "received_at": datetime.now(UTC).isoformat(),
                    "path": self.path,
                    "payload": payload,
                }
            )
            del RECEIVED[:-KEEP]
        print(f"alert_received path={self.path} bytes={length}", flush=True)
        self._send(200, b'{"ok": true}\n', "application/json")

    def do_GET(self) -> None:
        with LOCK:
            items = list(reversed(RECEIVED))
        if self.path.startswith("/alerts"):
            self._send(200, json.dumps(items, indent=2).encode(), "application/json")
            return
        rows = "".join(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td><pre>{}</pre></td></tr>".format(
                html.escape(str(item["received_at"])),
                html.escape(str(_get(item, "status"))),
                html.escape(
                    f"{_get(item, 'model_id')} {_get(item, 'attribute')} "
                    f"{_get(item, 'metric')} = {_get(item, 'value')}"
                ),
                html.escape(json.dumps(item["payload"], indent=2)[:4000]),
            )
            for item in items
        )
        page = (
            "<!doctype html><meta charset=utf-8><meta http-equiv=refresh content=10>"
            "<title>fairwatch alert inbox</title><h1>fairwatch alert inbox</h1>"
            f"<p>{len(items)} notification(s), newest first.</p>"
            "<table border=1 cellpadding=4><tr><th>received</th><th>status</th>"
            f"<th>alert</th><th>payload</th></tr>{rows}</table>"
        )
        self._send(200, page.encode(), "text/html; charset=utf-8")

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def _get(item: dict[str, object], key: str) -> object:
    payload = item.get("payload")
    return payload.get(key, "") if isinstance(payload, dict) else ""


def serve(host: str = "0.0.0.0", port: int = 9000) -> ThreadingHTTPServer:
    """The inbox server, bound but not yet serving (call ``serve_forever``)."""
    return ThreadingHTTPServer((host, port), Inbox)


if __name__ == "__main__":
    import os

    serve(
        os.environ.get("ALERT_INBOX_HOST", "0.0.0.0"),
        int(os.environ.get("ALERT_INBOX_PORT", "9000")),
    ).serve_forever()
