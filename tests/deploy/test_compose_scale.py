"""The `scale` profile of docker-compose.yml (the counting tier on Apache Flink, and the
evaluator), validated without a Docker engine: the services and their order, the Flink
configuration, the image's connector version, and the configurations the services mount."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from typing import Any

import yaml

from tests.deploy.dashboard_queries import ROOT

COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]
SCALE = {
    "flink-jobmanager",
    "flink-taskmanager",
    "flink-render",
    "flink-submit",
    "fairwatch-evaluator",
}


def flink_properties(service: str) -> dict[str, str]:
    text = SERVICES[service]["environment"]["FLINK_PROPERTIES"]
    return {
        key.strip(): value.strip()
        for key, value in (line.split(":", 1) for line in text.splitlines() if line.strip())
    }


def test_the_scale_profile_adds_flink_and_the_evaluator_and_nothing_else() -> None:
    profiled = {name for name, service in SERVICES.items() if service.get("profiles")}
    assert profiled == SCALE
    assert all(SERVICES[name]["profiles"] == ["scale"] for name in SCALE)
    for name in SCALE:
        assert SERVICES[name].get("restart") in (None, "no", "unless-stopped"), name


def test_the_job_is_rendered_then_submitted_to_a_running_cluster() -> None:
    render, submit = SERVICES["flink-render"], SERVICES["flink-submit"]
    assert render["command"][:2] == ["flink", "render"]
    output = render["command"][render["command"].index("--output") + 1]
    job_file = submit["command"][submit["command"].index("-f") + 1]
    # the rendered file reaches the SQL client through the same named volume
    (render_volume,) = [v for v in render["volumes"] if not v.startswith(".")]
    (submit_volume,) = submit["volumes"]
    name, render_dir = render_volume.split(":")[:2]
    assert submit_volume.split(":")[0] == name and name in COMPOSE["volumes"]
    assert output.removeprefix(render_dir) == job_file.removeprefix(submit_volume.split(":")[1])
    assert submit["depends_on"]["flink-render"]["condition"] == "service_completed_successfully"
    assert submit["depends_on"]["flink-jobmanager"]["condition"] == "service_healthy"
    assert submit["restart"] == "no"  # running it again would submit a second job
    client = flink_properties("flink-submit")
    assert client["rest.address"] == "flink-jobmanager" and client["rest.port"] == "8081"


def test_the_cluster_checkpoints_rocksdb_state_where_both_processes_see_it() -> None:
    jobmanager, taskmanager = (
        flink_properties("flink-jobmanager"),
        flink_properties("flink-taskmanager"),
    )
    assert jobmanager == taskmanager
    assert jobmanager["jobmanager.rpc.address"] == "flink-jobmanager"
    assert jobmanager["state.backend.type"] == "rocksdb"
    checkpoints = jobmanager["execution.checkpointing.dir"].removeprefix("file://")
    for service in ("flink-jobmanager", "flink-taskmanager"):
        mounts = {v.split(":")[1]: v.split(":")[0] for v in SERVICES[service]["volumes"]}
        assert mounts[checkpoints] == "flink-checkpoints", service
    assert SERVICES["flink-taskmanager"]["image"] == SERVICES["flink-jobmanager"]["image"]
    assert SERVICES["flink-submit"]["image"] == SERVICES["flink-jobmanager"]["image"]


def test_the_flink_image_carries_the_kafka_connector_of_the_local_cluster() -> None:
    dockerfile = (ROOT / "deploy/docker/flink.Dockerfile").read_text()
    pom = (ROOT / "deploy/local/flink/pom.xml").read_text()
    connector = re.search(r"<flink.kafka.connector.version>([^<]+)</", pom)
    flink = re.search(r"<flink.version>([^<]+)</flink.version>", pom)
    assert connector and flink
    assert f"ARG KAFKA_CONNECTOR_VERSION={connector.group(1)}" in dockerfile
    minor = ".".join(flink.group(1).split(".")[:2])
    assert f"ARG FLINK_IMAGE=flink:{minor}-java17" in dockerfile
    assert "repo1.maven.org/maven2/org/apache/flink/flink-sql-connector-kafka/" in dockerfile


def test_kafka_init_creates_the_compacted_pane_topic() -> None:
    script = SERVICES["kafka-init"]["command"][0]
    assert "--topic fairwatch-pane-counts" in script and "cleanup.policy=compact" in script


def test_the_stack_configuration_renders_as_a_flink_job() -> None:
    config = ROOT / "deploy/compose/fairwatch.yaml"
    result = subprocess.run(
        [sys.executable, "-m", "fairwatch.cli", "flink", "render", "--config", str(config)],
        capture_output=True,
        text=True,
        env={**os.environ, "KAFKA_BOOTSTRAP_SERVERS": "kafka:9092"},
        check=False,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    assert "'properties.bootstrap.servers' = 'kafka:9092'" in result.stdout
    assert "'topic' = 'fairwatch-pane-counts'" in result.stdout


def test_the_evaluator_config_passes_check_config_with_its_own_group() -> None:
    evaluator = SERVICES["fairwatch-evaluator"]
    target = evaluator["command"][2]
    (mount,) = [v for v in evaluator["volumes"] if v.split(":")[1] == target]
    path = ROOT / mount.split(":")[0]
    text = path.read_text()
    assert yaml.safe_load(text)["kafka"]["mode"] == "pane_counts"
    result = subprocess.run(
        [sys.executable, "-m", "fairwatch.cli", "check-config", str(path)],
        capture_output=True,
        text=True,
        env={**os.environ, "INFLUXDB_TOKEN": "x", "KAFKA_BOOTSTRAP_SERVERS": "kafka:9092"},
        check=False,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    assert "group fairwatch-evaluator" in result.stdout
    stack = yaml.safe_load((ROOT / "deploy/compose/fairwatch.yaml").read_text())
    assert yaml.safe_load(text)["kafka"]["group_id"] != stack["kafka"]["group_id"]
    assert "ports" not in evaluator  # the events-mode `fairwatch` service keeps 8080
