"""Fixtures of the alerting tests: HTTP servers on 127.0.0.1 started and stopped per test."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import pytest

from tests.alerting.alert_servers import RecordingServer, Responder


@pytest.fixture
def http_server() -> Iterator[Callable[..., RecordingServer]]:
    """Factory: ``http_server(responder, port=0)`` starts a server, stopped after the test."""
    servers: list[RecordingServer] = []

    def start(responder: Responder, port: int = 0) -> RecordingServer:
        server = RecordingServer(responder, port)
        servers.append(server)
        return server

    yield start
    for server in servers:
        with contextlib.suppress(OSError):  # a test may have stopped it already
            server.stop()
