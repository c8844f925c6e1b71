"""The Helm chart, rendered with `helm template` (helm from PATH or the fairwatch cache; build it
with deploy/helm/install-helm.sh), and its default configuration checked by the daemon."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.dashboard_queries import ROOT

CHART = ROOT / "deploy/helm/fairwatch"


def _helm() -> str | None:
    found = shutil.which("helm")
    if found:
        return found
    cache = os.environ.get("FAIRWATCH_CACHE_DIR") or str(
        Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "fairwatch"
    )
    candidate = Path(cache) / "bin" / "helm"
    return str(candidate) if candidate.is_file() else None


HELM = _helm()
needs_helm = pytest.mark.skipif(
    HELM is None, reason="helm is not installed (bash deploy/helm/install-helm.sh builds it)"
)


def _render(*options: str) -> dict[str, list[dict[str, Any]]]:
    assert HELM is not None
    result = subprocess.run(
        [HELM, "template", "fw", str(CHART), *options],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for document in yaml.safe_load_all(result.stdout):
        if document:
            by_kind.setdefault(document["kind"], []).append(document)
    return by_kind


def _check_config(text: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "fairwatch.yaml"
    path.write_text(text)
    return subprocess.run(
        [sys.executable, "-m", "fairwatch.cli", "check-config", str(path)],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        env={**os.environ, "INFLUXDB_TOKEN": "token"},
    )


def test_default_values_config_passes_check_config(tmp_path: Path) -> None:
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    result = _check_config(yaml.safe_dump(values["config"]), tmp_path)
    assert result.returncode == 0, result.stderr
    assert values["healthPort"] == values["config"]["health"]["port"]
    assert values["replicaCount"] == 1


@needs_helm
def test_helm_lint() -> None:
    assert HELM is not None
    result = subprocess.run(
        [HELM, "lint", str(CHART)], capture_output=True, text=True, check=False, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr


@needs_helm
def test_statefulset_with_volume_probes_resources_and_secret_refs(tmp_path: Path) -> None:
    rendered = _render()
    assert sorted(rendered) == ["ConfigMap", "Service", "ServiceAccount", "StatefulSet"]
    statefulset = rendered["StatefulSet"][0]
    spec = statefulset["spec"]
    assert spec["replicas"] == 1
    assert spec["volumeClaimTemplates"][0]["metadata"]["name"] == "state"
    assert spec["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"]
    pod = spec["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    container = pod["containers"][0]
    assert container["args"] == ["run", "--config", "/etc/fairwatch/fairwatch.yaml"]
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    ports = {port["name"]: port["containerPort"] for port in container["ports"]}
    assert ports == {"health": 8080}
    assert container["resources"]["requests"] and container["resources"]["limits"]
    secret_env = {
        env["name"]: env["valueFrom"]["secretKeyRef"]
        for env in container["env"]
        if "valueFrom" in env
    }
    assert secret_env == {"INFLUXDB_TOKEN": {"name": "fairwatch-influxdb", "key": "token"}}
    mounts = {mount["name"]: mount["mountPath"] for mount in container["volumeMounts"]}
    assert mounts["state"] == "/var/lib/fairwatch" and mounts["config"] == "/etc/fairwatch"
    annotations = spec["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert annotations["prometheus.io/port"] == "8080"
    assert spec["serviceName"] in {s["metadata"]["name"] for s in rendered["Service"]}

    config = rendered["ConfigMap"][0]["data"]["fairwatch.yaml"]
    result = _check_config(config, tmp_path)
    assert result.returncode == 0, result.stderr


@needs_helm
def test_service_monitor_selects_the_metrics_service() -> None:
    rendered = _render("--set", "serviceMonitor.enabled=true")
    monitor = rendered["ServiceMonitor"][0]
    metrics = next(
        s
        for s in rendered["Service"]
        if s["metadata"]["labels"].get("app.kubernetes.io/component") == "metrics"
    )
    selector = monitor["spec"]["selector"]["matchLabels"]
    assert all(metrics["metadata"]["labels"][key] == value for key, value in selector.items())
    port_names = {port["name"] for port in metrics["spec"]["ports"]}
    assert monitor["spec"]["endpoints"][0]["port"] in port_names
    assert monitor["spec"]["endpoints"][0]["path"] == "/metrics"


@needs_helm
def test_more_than_one_replica_is_refused_and_persistence_can_be_off() -> None:
    assert HELM is not None
    result = subprocess.run(
        [HELM, "template", "fw", str(CHART), "--set", "replicaCount=2"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode != 0 and "replicaCount must be 1" in result.stderr
    pod = _render("--set", "persistence.enabled=false")["StatefulSet"][0]["spec"]
    assert "volumeClaimTemplates" not in pod
    volumes = {v["name"]: v for v in pod["template"]["spec"]["volumes"]}
    assert "emptyDir" in volumes["state"]
