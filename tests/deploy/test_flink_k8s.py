"""deploy/k8s/flink: the FlinkDeployment (a session cluster for the Flink Kubernetes Operator)
and the Job that submits the rendered SQL to it, checked as YAML with the fields they need."""

from __future__ import annotations

import re
from typing import Any

import yaml

from tests.deploy.dashboard_queries import ROOT

K8S = ROOT / "deploy/k8s/flink"


def documents(name: str) -> dict[str, dict[str, Any]]:
    return {doc["kind"]: doc for doc in yaml.safe_load_all((K8S / name).read_text()) if doc}


def test_the_flink_deployment_is_a_session_cluster_of_the_local_flink_version() -> None:
    found = documents("flink-session.yaml")
    deployment = found["FlinkDeployment"]
    assert deployment["apiVersion"] == "flink.apache.org/v1beta1"
    spec = deployment["spec"]
    assert "job" not in spec  # a session cluster: the SQL client submits the job
    pom = (ROOT / "deploy/local/flink/pom.xml").read_text()
    version = re.search(r"<flink.version>(\d+)\.(\d+)\.", pom)
    assert version and spec["flinkVersion"] == f"v{version.group(1)}_{version.group(2)}"
    assert spec["image"] and spec["serviceAccount"]
    for role in ("jobManager", "taskManager"):
        resource = spec[role]["resource"]
        assert resource["memory"].endswith("m") and resource["cpu"] >= 1, role
    settings = spec["flinkConfiguration"]
    assert all(isinstance(value, str) for value in settings.values())
    assert settings["state.backend.type"] == "rocksdb"
    assert settings["execution.checkpointing.mode"] == "EXACTLY_ONCE"


def test_checkpoints_go_to_the_volume_every_pod_mounts() -> None:
    found = documents("flink-session.yaml")
    spec = found["FlinkDeployment"]["spec"]
    (container,) = spec["podTemplate"]["spec"]["containers"]
    assert container["name"] == "flink-main-container"  # the operator's name for Flink's own
    (mount,) = container["volumeMounts"]
    (volume,) = spec["podTemplate"]["spec"]["volumes"]
    assert volume["name"] == mount["name"]
    claim = found["PersistentVolumeClaim"]
    assert volume["persistentVolumeClaim"]["claimName"] == claim["metadata"]["name"]
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"]
    for key in ("execution.checkpointing.dir", "high-availability.storageDir"):
        assert spec["flinkConfiguration"][key].startswith(f"file://{mount['mountPath']}/"), key


def test_the_submit_job_runs_the_sql_client_against_the_session_rest_service() -> None:
    session = documents("flink-session.yaml")["FlinkDeployment"]
    job = documents("submit-job.yaml")["Job"]
    assert job["apiVersion"] == "batch/v1" and job["spec"]["backoffLimit"] == 0
    pod = job["spec"]["template"]["spec"]
    assert pod["restartPolicy"] == "Never"
    (container,) = pod["containers"]
    assert container["image"] == session["spec"]["image"]
    assert container["args"][0].endswith("/bin/sql-client.sh")
    job_file = container["args"][container["args"].index("-f") + 1]
    (env,) = container["env"]
    properties = dict(
        (part.strip() for part in line.split(":", 1)) for line in env["value"].splitlines()
    )
    assert properties["rest.address"] == f"{session['metadata']['name']}-rest"
    assert properties["rest.port"] == "8081"
    (mount,) = container["volumeMounts"]
    assert job_file.startswith(mount["mountPath"] + "/")
    (volume,) = pod["volumes"]
    assert volume["name"] == mount["name"]
    assert volume["secret"]["secretName"]  # the job file holds Kafka credentials: a Secret
