"""The daemon's HTTP endpoint: ``/healthz``, ``/readyz`` and Prometheus ``/metrics``.

- ``/healthz`` answers 200 while the process serves HTTP and every liveness check passes
  (Kubernetes liveness probe, Docker HEALTHCHECK).
- ``/readyz`` runs the readiness checks (e.g. ``consumer_assigned``, ``sink_reachable``) and answers
  200 when all pass, 503 otherwise, with a JSON body naming each check's result.
- ``/metrics`` is the Prometheus text format built by prometheus-client from the
  :class:`~monitor.types.CounterSource` objects given (the same samples, under the same names, as
  the ``fairwatch_pipeline`` measurement; declared as :class:`monitor.counters.Metric`), plus
  ``fairwatch_build_info`` and the process collector (memory, CPU, open files).
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CollectorRegistry, ProcessCollector, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.core import Metric as Family
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.samples import Sample

from monitor import __version__
from monitor.counters import Metric
from monitor.types import CounterSample, CounterSource

logger = logging.getLogger(__name__)

Check = Callable[[], bool]
BUILD_INFO = Metric("fairwatch_build_info", "gauge", "fairwatch version", ("version",))
_VALID_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
_VALID_LABEL = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")


def _family_name(sample: CounterSample) -> str | None:
    """The family a sample belongs to: a counter's name without ``_total``, a gauge's name; None
    for a name Prometheus rejects or one that breaks the convention (monitor.counters)."""
    if not _VALID_NAME.match(sample.name):
        return None
    if sample.kind == "gauge":
        return None if sample.name.endswith("_total") else sample.name
    return sample.name.removesuffix("_total") if sample.name.endswith("_total") else None


class CounterCollector:
    """A prometheus-client collector over :class:`CounterSource` objects, read at scrape time.

    Samples of one name form one family (counter or gauge, from the first sample's ``kind``) and
    are exported under their own name; label sets may differ between samples of a family, and a
    repeated name and label set keeps the last value (Prometheus rejects duplicate series). A
    source that raises, or a sample whose name or labels are not valid in Prometheus (a counter
    without ``_total``, a gauge with it), is logged and skipped, so one broken source never hides
    the others.
    """

    def __init__(self, sources: Iterable[CounterSource] = ()) -> None:
        self._sources: list[CounterSource] = list(sources)
        self._lock = threading.Lock()

    def add(self, source: CounterSource) -> None:
        with self._lock:
            self._sources.append(source)

    def collect(self) -> Iterator[Family]:
        with self._lock:
            sources = list(self._sources)
        families: dict[str, Family] = {}
        values: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
        for source in sources:
            try:
                samples: Sequence[CounterSample] = source.samples()
            except Exception:
                logger.exception("metrics_source_failed source=%s", type(source).__name__)
                continue
            for sample in samples:
                name = _family_name(sample)
                labels = {str(k): str(v) for k, v in sample.labels.items()}
                if name is None or not all(map(_VALID_LABEL.match, labels)):
                    logger.warning(
                        "metrics_sample_skipped name=%r kind=%s labels=%r",
                        sample.name,
                        sample.kind,
                        sorted(labels),
                    )
                    continue
                family = families.get(name)
                if family is None:
                    help_text = sample.help or sample.name.replace("_", " ")
                    family = (
                        GaugeMetricFamily(name, help_text)
                        if sample.kind == "gauge"
                        else CounterMetricFamily(name, help_text)
                    )
                    families[name] = family
                    values[name] = {}
                values[name][tuple(sorted(labels.items()))] = float(sample.value)
        info = GaugeMetricFamily(BUILD_INFO.name, BUILD_INFO.help, labels=list(BUILD_INFO.labels))
        info.add_metric([__version__], 1.0)
        yield info
        for name, family in families.items():
            suffix = "_total" if family.type == "counter" else ""
            family.samples.extend(
                Sample(name + suffix, dict(labels), value) for labels, value in values[name].items()
            )
            yield family


class HealthServer:
    """Serves ``/healthz``, ``/readyz`` and ``/metrics`` from a background thread.

    Args:
        host: address to bind (``0.0.0.0`` in a container so probes reach it).
        port: TCP port; 0 picks a free one (see :attr:`port` after :meth:`start`).
        sources: counter sources exported on ``/metrics`` (more with :meth:`add_source`).
        readiness: name -> check; ``/readyz`` is 200 only when every check returns true
            (more with :meth:`add_readiness`). A check that raises counts as failed.
        liveness: name -> check for ``/healthz`` (default none: alive while serving).
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 8080,
        sources: Iterable[CounterSource] = (),
        readiness: Mapping[str, Check] | None = None,
        liveness: Mapping[str, Check] | None = None,
    ) -> None:
        self.host = host
        self._requested_port = port
        self.collector = CounterCollector(sources)
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(self.collector)
        ProcessCollector(registry=self.registry)
        self._readiness: dict[str, Check] = dict(readiness or {})
        self._liveness: dict[str, Check] = dict(liveness or {})
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def add_source(self, source: CounterSource) -> None:
        self.collector.add(source)

    def add_readiness(self, name: str, check: Check) -> None:
        self._readiness[name] = check

    def add_liveness(self, name: str, check: Check) -> None:
        self._liveness[name] = check

    @property
    def port(self) -> int:
        """The bound port (the chosen one when constructed with port 0)."""
        if self._server is None:
            return self._requested_port
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> HealthServer:
        """Bind and serve in a daemon thread; returns self."""
        if self._server is not None:
            return self
        handler = _make_handler(self)
        self._server = ThreadingHTTPServer((self.host, self._requested_port), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="health-server", daemon=True
        )
        self._thread.start()
        logger.info("health_server_started host=%s port=%d", self.host, self.port)
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> HealthServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def run_checks(self, checks: Mapping[str, Check]) -> dict[str, bool]:
        results = {}
        for name, check in checks.items():
            try:
                results[name] = bool(check())
            except Exception:
                logger.exception("health_check_failed check=%s", name)
                results[name] = False
        return results

    def readiness(self) -> dict[str, bool]:
        return self.run_checks(self._readiness)

    def liveness(self) -> dict[str, bool]:
        return self.run_checks(self._liveness)

    def metrics(self) -> bytes:
        return bytes(generate_latest(self.registry))


def _make_handler(server: HealthServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/healthz":
                self._checks(server.liveness(), "alive")
            elif path == "/readyz":
                self._checks(server.readiness(), "ready")
            elif path == "/metrics":
                self._send(HTTPStatus.OK, server.metrics(), CONTENT_TYPE_LATEST)
            else:
                self._send(HTTPStatus.NOT_FOUND, b"not found: try /healthz, /readyz, /metrics\n")

        def _checks(self, results: dict[str, bool], word: str) -> None:
            ok = all(results.values())
            body: dict[str, Any] = {"status": word if ok else f"not {word}", "checks": results}
            status = HTTPStatus.OK if ok else HTTPStatus.SERVICE_UNAVAILABLE
            self._send(status, json.dumps(body).encode() + b"\n", "application/json")

        def _send(self, status: HTTPStatus, body: bytes, content_type: str = "text/plain") -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            logger.debug("health_request " + format, *args)

    return Handler
