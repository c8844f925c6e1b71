"""The pure parts of deploy/local/localservers.py: ports, configuration files, environment."""

from __future__ import annotations

import base64
import configparser
import importlib.util
import shlex
import socket
import subprocess
import sys
import tomllib
from pathlib import Path
from types import ModuleType

import pytest

from tests.paths import ROOT


def load_localservers() -> ModuleType:
    """deploy/local/localservers.py is a script; import it under the name conftest.py uses."""
    name = "fairwatch_localservers"
    if name not in sys.modules:
        path = ROOT / "deploy/local/localservers.py"
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        sys.modules[name] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(sys.modules[name])
    return sys.modules[name]


servers = load_localservers()


def test_free_ports_are_distinct_bindable_and_avoid_excluded_ones() -> None:
    first, second = servers.free_ports(2)
    assert first != second
    ports = servers.free_ports(5, exclude=frozenset({first, second}))
    assert len(set(ports)) == 5 and not {first, second} & set(ports)
    for port in ports:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", port))


def test_a_port_in_use_is_not_free() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        assert not servers.port_is_free(port)
    assert servers.port_is_free(port)


def test_kafka_properties_bind_loopback_and_make_internal_topics_single_replica(
    tmp_path: Path,
) -> None:
    text = servers.render_kafka_properties(tmp_path / "data", 19092, 19093)
    parser = configparser.ConfigParser(delimiters=("=",))
    parser.read_string("[server]\n" + text)
    properties = dict(parser["server"])
    assert properties["listeners"] == ("PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093")
    assert properties["advertised.listeners"] == "PLAINTEXT://127.0.0.1:19092"
    assert properties["controller.quorum.bootstrap.servers"] == "127.0.0.1:19093"
    assert properties["log.dirs"] == str(tmp_path / "data")
    for key in (
        "offsets.topic.replication.factor",
        "transaction.state.log.replication.factor",
        "transaction.state.log.min.isr",
        "default.replication.factor",
    ):
        assert properties[key] == "1", key
    assert properties["group.initial.rebalance.delay.ms"] == "0"


def test_influxdb_config_is_valid_toml_on_loopback_with_flux_and_no_reporting(
    tmp_path: Path,
) -> None:
    config = tomllib.loads(servers.render_influxdb_config(tmp_path, 18086, 18088))
    assert config["reporting-disabled"] is True
    assert config["bind-address"] == "127.0.0.1:18088"
    assert config["http"]["bind-address"] == "127.0.0.1:18086"
    assert config["http"]["flux-enabled"] is True
    assert config["http"]["auth-enabled"] is False
    assert config["meta"]["dir"] == str(tmp_path / "meta")
    assert config["data"]["dir"] == str(tmp_path / "data")
    assert config["data"]["wal-dir"] == str(tmp_path / "wal")


def test_cluster_ids_are_kafka_uuids() -> None:
    ids = {servers.kafka_cluster_id() for _ in range(200)}
    assert len(ids) == 200
    for cluster_id in ids:
        assert len(base64.urlsafe_b64decode(cluster_id + "==")) == 16
        assert not cluster_id.startswith("-")


def test_env_lines_survive_a_shell_round_trip() -> None:
    environment = {
        "FAIRWATCH_TEST_KAFKA_BOOTSTRAP": "127.0.0.1:9092",
        "FAIRWATCH_TEST_INFLUXDB_TOKEN": "user:pa ss'word",
    }
    script = servers.env_lines(environment) + "".join(
        f'printf "%s\\n" "${key}"\n' for key in environment
    )
    output = subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=True)
    assert output.stdout.splitlines() == list(environment.values())
    assert shlex.split(servers.env_lines({"A": "b"})) == ["export", "A=b"]


def test_kafka_version_comes_from_the_pom() -> None:
    version = servers.kafka_version()
    assert version.startswith("4.")
    assert f"kafka-{version}" in str(servers.cache_dir() / f"kafka-{version}")


def test_state_dir_without_pid_file_is_stopped_and_stop_is_idempotent(tmp_path: Path) -> None:
    group = servers.LocalServers.create(tmp_path)
    assert [server.is_running() for server in group.servers] == [False, False]
    group.stop()
    assert servers.status(group) == 3


def test_a_pid_file_naming_someone_elses_process_is_not_trusted(tmp_path: Path) -> None:
    kafka = servers.KafkaServer(state_dir=tmp_path)
    kafka.home.mkdir(parents=True)
    kafka.pid_path.write_text("1\n")  # pid 1 is alive but is not this instance's broker
    assert kafka.pid() is None


def test_a_port_taken_by_another_process_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        taken = sock.getsockname()[1]
        influxdb = servers.InfluxDBServer(state_dir=tmp_path, port=taken)
        influxdb.home.mkdir(parents=True)
        with pytest.raises(servers.ServerError, match=f"port {taken} .* is in use"):
            influxdb.choose_ports()
