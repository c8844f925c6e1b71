"""docker-compose.yml, validated without a Docker engine: services, images and builds, ports,
volumes that point into the repository, the mounted fairwatch config, and the alert inbox."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.deploy.dashboard_queries import ROOT

COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]


def _env(service: str) -> dict[str, str]:
    environment = SERVICES[service].get("environment", {})
    if isinstance(environment, list):
        return dict(item.split("=", 1) for item in environment)
    return {key: str(value) for key, value in environment.items()}


def test_the_stack_has_every_service_with_an_image_or_a_build() -> None:
    assert set(SERVICES) >= {"kafka", "influxdb", "grafana", "fairwatch", "demo"}
    assert SERVICES["kafka"]["image"].startswith("apache/kafka:")
    assert SERVICES["influxdb"]["image"].startswith("influxdb:2.7")
    assert SERVICES["grafana"]["image"].startswith("grafana/grafana:")
    for name, service in SERVICES.items():
        assert "image" in service or "build" in service, name
        build = service.get("build")
        if build:
            assert (ROOT / build["context"]).is_dir(), name
            assert (ROOT / build["context"] / build["dockerfile"]).is_file(), name


def test_kafka_runs_kraft_and_topics_are_co_partitioned() -> None:
    env = _env("kafka")
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert "CONTROLLER" in env["KAFKA_CONTROLLER_LISTENER_NAMES"]
    assert "PLAINTEXT://kafka:9092" in env["KAFKA_ADVERTISED_LISTENERS"]
    script = SERVICES["kafka-init"]["command"][0]
    assert "predictions labels" in script and "--partitions 3" in script


def test_influxdb_is_initialised_and_grafana_gets_the_same_credentials() -> None:
    influx = _env("influxdb")
    assert influx["DOCKER_INFLUXDB_INIT_MODE"] == "setup"
    for key in ("USERNAME", "PASSWORD", "ORG", "BUCKET", "ADMIN_TOKEN"):
        assert influx[f"DOCKER_INFLUXDB_INIT_{key}"], key
    grafana, fairwatch = _env("grafana"), _env("fairwatch")
    for env in (grafana, fairwatch):
        assert env["INFLUXDB_TOKEN"] == influx["DOCKER_INFLUXDB_INIT_ADMIN_TOKEN"]
        assert env["INFLUXDB_ORG"] == influx["DOCKER_INFLUXDB_INIT_ORG"]
        assert env["INFLUXDB_BUCKET"] == influx["DOCKER_INFLUXDB_INIT_BUCKET"]
        assert env["INFLUXDB_URL"] == "http://influxdb:8086"


def test_published_ports_are_distinct_and_documented() -> None:
    published = {}
    for name, service in SERVICES.items():
        for port in service.get("ports", []):
            host, container = str(port).split(":")[-2:]
            assert host not in published, f"{name} and {published.get(host)} both publish {host}"
            published[host] = name
            assert container.isdigit()
    assert published == {
        "29092": "kafka",
        "8086": "influxdb",
        "3000": "grafana",
        "8080": "fairwatch",
        "9000": "alert-inbox",
        "8081": "flink-jobmanager",
    }
    header = (ROOT / "docker-compose.yml").read_text().split("\nname:")[0]
    for host in ("3000", "9000", "8080", "8086", "8081"):
        assert f"http://localhost:{host}" in header


def test_bind_mounts_point_at_existing_repository_paths() -> None:
    named = set(COMPOSE.get("volumes", {}))
    mounts = 0
    for name, service in SERVICES.items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (ROOT / source).exists(), f"{name}: {source} does not exist"
                mounts += 1
            else:
                assert source in named, f"{name}: volume {source} is not declared"
    assert mounts >= 4
    grafana = SERVICES["grafana"]["volumes"]
    assert "./dashboards/provisioning:/etc/grafana/provisioning:ro" in grafana
    provider = yaml.safe_load(
        (ROOT / "dashboards/provisioning/dashboards/fairwatch.yaml").read_text()
    )
    path = provider["providers"][0]["options"]["path"]
    assert f"./dashboards/json:{path}:ro" in grafana
    home = _env("grafana")["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert (ROOT / "dashboards/json" / Path(home).name).is_file()


def test_grafana_datasource_matches_the_dashboards() -> None:
    datasource = yaml.safe_load(
        (ROOT / "dashboards/provisioning/datasources/influxdb.yaml").read_text()
    )["datasources"][0]
    assert datasource["type"] == "influxdb" and datasource["jsonData"]["version"] == "Flux"
    for variable in ("INFLUXDB_URL", "INFLUXDB_ORG", "INFLUXDB_BUCKET", "INFLUXDB_TOKEN"):
        assert variable in _env("grafana")
    for path in (ROOT / "dashboards/json").glob("*.json"):
        uids = {
            found["uid"]
            for found in _datasources(json.loads(path.read_text()))
            if found.get("type") == "influxdb"
        }
        assert uids == {datasource["uid"]}, path.name


def _datasources(node: Any) -> list[dict[str, Any]]:
    """Every ``datasource`` object in a dashboard, wherever it is nested."""
    found = []
    if isinstance(node, dict):
        if isinstance(node.get("datasource"), dict):
            found.append(node["datasource"])
        for value in node.values():
            found.extend(_datasources(value))
    elif isinstance(node, list):
        for value in node:
            found.extend(_datasources(value))
    return found


def test_fairwatch_and_demo_services() -> None:
    fairwatch = SERVICES["fairwatch"]
    assert fairwatch["command"][:2] == ["run", "--config"]
    assert fairwatch["depends_on"]["kafka-init"]["condition"] == "service_completed_successfully"
    demo = SERVICES["demo"]["command"]
    assert demo[:3] == ["demo", "--kafka", "kafka:9092"]
    assert SERVICES["demo"]["image"] == fairwatch["image"]


def _mounted_config() -> tuple[Path, str]:
    for volume in SERVICES["fairwatch"]["volumes"]:
        source, target = volume.split(":")[:2]
        if target == SERVICES["fairwatch"]["command"][2]:
            return ROOT / source, target
    raise AssertionError("the fairwatch service mounts no config at its --config path")


def test_the_mounted_config_passes_check_config() -> None:
    path, _ = _mounted_config()
    env = {**os.environ, **_env("fairwatch")}
    result = subprocess.run(
        [sys.executable, "-m", "fairwatch.cli", "check-config", str(path)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    assert "ok" in result.stdout and "influxdb http://influxdb:8086" in result.stdout


def test_the_demo_parser_accepts_the_compose_command() -> None:
    from fairwatch.cli import build_parser

    args = build_parser().parse_args(SERVICES["demo"]["command"])
    assert args.kafka == "kafka:9092"


def test_the_alert_inbox_keeps_and_shows_notifications() -> None:
    sys.path.insert(0, str(ROOT / "deploy/compose"))
    try:
        import alert_inbox
    finally:
        sys.path.remove(str(ROOT / "deploy/compose"))
    server = alert_inbox.serve("127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        payload = {
            "status": "firing",
            "model_id": "adult-income",
            "attribute": "sex",
            "metric": "demographic_parity_difference",
            "value": 0.2,
        }
        assert httpx.post(f"{url}/alerts", json=payload, timeout=5).status_code == 200
        assert httpx.get(f"{url}/alerts", timeout=5).json()[0]["payload"] == payload
        page = httpx.get(url, timeout=5).text
        assert "adult-income sex demographic_parity_difference = 0.2" in page
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("service", ["fairwatch", "influxdb", "grafana"])
def test_stateful_services_keep_data_in_named_volumes(service: str) -> None:
    named = [v.split(":")[0] for v in SERVICES[service]["volumes"] if not v.startswith(".")]
    assert named, service
