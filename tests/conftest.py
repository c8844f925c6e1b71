"""Suite-wide fixtures: the real Kafka broker and InfluxDB server the integration tests talk to.

Each server is resolved once per session, in this order:

1. endpoints from the environment (``FAIRWATCH_TEST_KAFKA_BOOTSTRAP``,
   ``FAIRWATCH_TEST_INFLUXDB_URL`` with ``..._TOKEN``, ``..._ORG``, ``..._BUCKET`` and optionally
   ``..._DATABASE``), as exported by ``deploy/local/localservers.py start``;
2. testcontainers, when a Docker engine answers (skip the probe with
   ``FAIRWATCH_TEST_SERVERS=local``);
3. the project's own local servers (``deploy/local/localservers.py``), started for the session
   in a temporary state directory and stopped at its end.

Tests that use these fixtures, and every test under a ``tests/**/integration/`` folder, are marked
``integration`` automatically. Under ``CI=true`` a skipped integration test fails the run.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import sys
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, replace
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import settings as hypothesis_settings

# pytester runs small pytest sessions in a temporary directory (tests of the CI rule below).
pytest_plugins = ["pytester"]

# Property tests draw fresh examples on a developer's machine (and remember failures there); in
# CI they draw the same examples every run, so that a run's verdict does not depend on chance.
hypothesis_settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")

ROOT = Path(__file__).resolve().parents[1]
SERVER_FIXTURES = frozenset(
    {"kafka_bootstrap", "influxdb", "influxdb_database", "local_servers_factory", "kafka_topic"}
)


def localservers() -> ModuleType:
    """``deploy/local/localservers.py`` (a script, not a package), imported once."""
    name = "fairwatch_localservers"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, ROOT / "deploy/local/localservers.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


@pytest.fixture(scope="session")
def localservers_module() -> ModuleType:
    """``deploy/local/localservers.py`` as a module (``KafkaServer``, ``InfluxDBServer``, ...)."""
    return localservers()


@dataclass(frozen=True)
class InfluxDBConnection:
    """Where the tests write and query: InfluxDB 2.x, or 1.8 through its 2.x compatibility API.

    On 1.8 the bucket is ``database/retention-policy``, the token ``user:password`` (any value
    while auth is off) and the org is ignored; on 2.x ``database`` is the bucket's name.
    """

    url: str
    token: str
    org: str
    bucket: str
    database: str

    def client(self, **kwargs: Any) -> Any:
        """An ``influxdb_client.InfluxDBClient`` for this server (close it, or use ``with``)."""
        from influxdb_client import InfluxDBClient

        return InfluxDBClient(
            url=self.url,
            token=self.token,
            org=self.org,
            timeout=kwargs.pop("timeout", 30_000),
            **kwargs,
        )


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def _influxdb_from_environment() -> InfluxDBConnection | None:
    url = os.environ.get("FAIRWATCH_TEST_INFLUXDB_URL")
    if not url:
        return None
    bucket = os.environ.get("FAIRWATCH_TEST_INFLUXDB_BUCKET", "fairwatch/autogen")
    return InfluxDBConnection(
        url=url.rstrip("/"),
        token=os.environ.get("FAIRWATCH_TEST_INFLUXDB_TOKEN", "fairwatch:fairwatch"),
        org=os.environ.get("FAIRWATCH_TEST_INFLUXDB_ORG", "fairwatch"),
        bucket=bucket,
        database=os.environ.get("FAIRWATCH_TEST_INFLUXDB_DATABASE", bucket.split("/")[0]),
    )


def _docker_answers() -> bool:
    if os.environ.get("FAIRWATCH_TEST_SERVERS", "auto") == "local":
        return False
    try:
        import docker

        client = docker.from_env(timeout=3)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:  # no SDK, no socket, engine down: all mean "no Docker"
        return False


class ServerPool:
    """Starts each kind of server at most once per session, on first use; stops all at the end."""

    def __init__(self, state_root: Path) -> None:
        self.state_root = state_root
        self.cleanup = ExitStack()
        self.docker = _docker_answers()
        self._kafka: str | None = None
        self._influxdb: InfluxDBConnection | None = None

    def kafka_bootstrap(self) -> str:
        if self._kafka is None:
            self._kafka = os.environ.get("FAIRWATCH_TEST_KAFKA_BOOTSTRAP") or self._start_kafka()
        return self._kafka

    def influxdb(self) -> InfluxDBConnection:
        if self._influxdb is None:
            self._influxdb = _influxdb_from_environment() or self._start_influxdb()
        return self._influxdb

    def _start_kafka(self) -> str:
        if self.docker:
            from testcontainers.kafka import KafkaContainer

            # testcontainers' KafkaContainer drives Confluent's image (Kafka 3.6) in KRaft mode.
            container = self.cleanup.enter_context(
                KafkaContainer("confluentinc/cp-kafka:7.6.0").with_kraft()
            )
            return str(container.get_bootstrap_server())
        server = localservers().KafkaServer(state_dir=self.state_root / "kafka")
        self.cleanup.callback(server.stop)
        server.start()
        return str(server.bootstrap)

    def _start_influxdb(self) -> InfluxDBConnection:
        if self.docker:
            from testcontainers.community.influxdb.version2 import InfluxDb2Container

            token = "fairwatch-test-token"
            container = self.cleanup.enter_context(
                InfluxDb2Container(
                    "influxdb:2.7",
                    init_mode="setup",
                    admin_token=token,
                    username="fairwatch",
                    password="fairwatch-password",
                    org_name="fairwatch",
                    bucket="fairwatch",
                )
            )
            return InfluxDBConnection(
                container.get_url(), token, "fairwatch", "fairwatch", "fairwatch"
            )
        server = localservers().InfluxDBServer(state_dir=self.state_root / "influxdb")
        self.cleanup.callback(server.stop)
        server.start()
        return InfluxDBConnection(
            server.url, server.token, server.org, server.bucket, server.database
        )


@pytest.fixture(scope="session")
def server_pool(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerPool]:
    pool = ServerPool(tmp_path_factory.mktemp("servers"))
    with pool.cleanup:
        yield pool


@pytest.fixture(scope="session")
def kafka_bootstrap(server_pool: ServerPool) -> str:
    """``"127.0.0.1:port"`` of a real Kafka broker shared by the session."""
    return server_pool.kafka_bootstrap()


@pytest.fixture(scope="session")
def influxdb(server_pool: ServerPool) -> InfluxDBConnection:
    """A real InfluxDB server shared by the session (its default database/bucket)."""
    return server_pool.influxdb()


def create_influxdb_database(connection: InfluxDBConnection, name: str) -> InfluxDBConnection:
    """Create an empty database (1.8) or bucket (2.x) called ``name``; returns its connection."""
    if not re.fullmatch(r"[A-Za-z0-9_\-]+", name):
        raise ValueError(f"database name {name!r}: use letters, digits, _ and - only")
    with urllib.request.urlopen(f"{connection.url}/ping", timeout=10) as response:
        version = response.headers.get("X-Influxdb-Version", "").lstrip("v")
    if not version.startswith(("2", "3")):  # 1.x: databases, created with InfluxQL
        body = urllib.parse.urlencode({"q": f'CREATE DATABASE "{name}"'}).encode()
        with urllib.request.urlopen(f"{connection.url}/query", data=body, timeout=30) as response:
            results = json.loads(response.read()).get("results", [{}])
        if any("error" in result for result in results):
            raise RuntimeError(f"CREATE DATABASE {name} failed: {results}")
        return replace(connection, bucket=f"{name}/autogen", database=name)
    with connection.client() as client:
        client.buckets_api().create_bucket(bucket_name=name, org=connection.org)
    return replace(connection, bucket=name, database=name)


def _test_slug(request: pytest.FixtureRequest, limit: int = 40) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", request.node.name).strip("-")[:limit].lower()


@pytest.fixture
def unique_name(request: pytest.FixtureRequest) -> Callable[[str], str]:
    """``unique_name("labels")`` → a name no other test (or run) uses: test name + random part."""
    slug = _test_slug(request)

    def make(prefix: str = "t") -> str:
        return f"{prefix}-{slug}-{uuid.uuid4().hex[:10]}"

    return make


@pytest.fixture
def unique_topic(unique_name: Callable[[str], str]) -> str:
    """A Kafka topic name unique to this test; the broker creates it on first use (1 partition)."""
    return unique_name("topic")


@pytest.fixture
def kafka_topic(
    kafka_bootstrap: str, unique_name: Callable[[str], str]
) -> Iterator[Callable[..., str]]:
    """``kafka_topic(partitions=3)`` → name of a new, empty topic created on the broker."""
    from kafka.admin import KafkaAdminClient, NewTopic

    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap, client_id="fairwatch-tests")

    def create(partitions: int = 1, prefix: str = "topic") -> str:
        name = unique_name(prefix)
        admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)])
        return name

    try:
        yield create
    finally:
        admin.close()


@pytest.fixture
def influxdb_database(
    influxdb: InfluxDBConnection, unique_name: Callable[[str], str]
) -> InfluxDBConnection:
    """A fresh, empty database (1.8) or bucket (2.x) for this test alone."""
    return create_influxdb_database(influxdb, unique_name("db").replace("-", "_"))


@pytest.fixture
def local_servers_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., Any]]:
    """Dedicated local servers a test may stop and restart (outage tests).

    ``local_servers_factory("kafka")`` returns a started ``KafkaServer`` (``.bootstrap``);
    ``local_servers_factory("influxdb")`` a started ``InfluxDBServer`` (``.url``, ``.token``,
    ``.org``, ``.bucket``, ``.database``). Both have ``.stop()`` and ``.start()``; a restart keeps
    the port and the data. Each call is a new instance nobody else uses; all are stopped when the
    test ends. These are always the local servers, whatever the session's servers are.
    """
    module = localservers()
    kinds = {"kafka": module.KafkaServer, "influxdb": module.InfluxDBServer}
    started: list[Any] = []

    def make(kind: str) -> Any:
        if kind not in kinds:
            raise ValueError(f"kind must be one of {sorted(kinds)}, not {kind!r}")
        server = kinds[kind](state_dir=tmp_path_factory.mktemp(f"dedicated-{kind}"))
        started.append(server)
        server.start()
        return server

    try:
        yield make
    finally:
        for server in reversed(started):
            server.stop()


# ---------------------------------------------------------------------------------------------
# Markers and the CI rule.


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark tests that need a server as ``integration`` so ``-m "not integration"`` skips them."""
    for item in items:
        needs_server = SERVER_FIXTURES.intersection(getattr(item, "fixturenames", ()))
        in_integration_folder = "integration" in Path(item.nodeid.split("::")[0]).parts
        # (the marker, not ``"integration" in item.keywords``: the keywords hold the names of the
        # parent nodes too, so inside an ``integration/`` folder that test is always true)
        marked = item.get_closest_marker("integration") is not None
        if (needs_server or in_integration_folder) and not marked:
            item.add_marker(pytest.mark.integration)


# Integration tests (or integration modules) skipped in this run, with the reason.
_skipped_integration: list[str] = []


def pytest_configure(config: pytest.Config) -> None:
    _skipped_integration.clear()


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped and "integration" in report.keywords and not hasattr(report, "wasxfail"):
        _skipped_integration.append(f"{report.nodeid}: {_skip_reason(report)}")


def pytest_collectreport(report: pytest.CollectReport) -> None:
    if report.skipped and "integration" in Path(report.nodeid.split("::")[0]).parts:
        _skipped_integration.append(f"{report.nodeid}: {_skip_reason(report)}")


def _skip_reason(report: pytest.TestReport | pytest.CollectReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2])
    return str(longrepr)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Under CI a green run must have talked to the servers: skipped integration tests fail it."""
    if not _truthy(os.environ.get("CI")):
        return
    if _skipped_integration and exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    if _skipped_integration and _truthy(os.environ.get("CI")):
        terminalreporter.section(
            "integration tests skipped under CI (this fails the run)", red=True
        )
        for line in _skipped_integration:
            terminalreporter.line(line)
