"""The real Apache Flink cluster of the Flink job's integration tests.

The cluster is started once for the whole run by ``deploy/local/flink.py start`` (deploy/local/
test.sh does it, and CI runs test.sh), which prints the ``FAIRWATCH_TEST_FLINK_*`` variables
read here. Without them the tests are skipped, saying how to start a cluster; under ``CI=true``
a skipped integration test fails the run (tests/conftest.py).
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from fairwatch.flink.submit import Cluster, submit
from tests.paths import ROOT

HOW_TO_START = (
    "no Flink cluster configured: start one with `python deploy/local/flink.py start "
    "--state-dir DIR > flink.env`, `source flink.env` and export FAIRWATCH_TEST_FLINK_REST_URL "
    "FAIRWATCH_TEST_FLINK_HOME FAIRWATCH_TEST_FLINK_CONF_DIR (deploy/local/test.sh does this)"
)


@dataclass(frozen=True)
class FlinkTestCluster:
    """A running session cluster: its REST endpoint, and the home and configuration directory
    its SQL client uses."""

    rest_url: str
    home: Path
    conf_dir: Path

    def get(self, path: str) -> Any:
        with urllib.request.urlopen(f"{self.rest_url}{path}", timeout=10) as response:
            return json.loads(response.read())

    def submit(self, sql: str, directory: Path) -> str:
        """Submit a rendered job; returns its id once the SQL client has handed it over."""
        job_file = directory / "job.sql"
        job_file.write_text(sql)
        return submit(job_file, Cluster(self.home, self.conf_dir))

    def wait_running(self, job_id: str, timeout: float = 90.0) -> None:
        """Until every task of the job runs (its sources then read)."""
        deadline = time.monotonic() + timeout
        state: Any = None
        while time.monotonic() < deadline:
            job = self.get(f"/jobs/{job_id}")
            state = [job["state"], *(vertex["status"] for vertex in job["vertices"])]
            if job["state"] in ("FAILED", "CANCELED", "FINISHED"):
                raise AssertionError(f"job {job_id} ended: {job['state']}")
            if all(status in ("RUNNING", "FINISHED") for status in state):
                return
            time.sleep(0.5)
        raise AssertionError(f"job {job_id} not running after {timeout:.0f} s: {state}")

    def parallelism(self, job_id: str) -> int:
        """The largest parallelism of the job's tasks."""
        return max(vertex["parallelism"] for vertex in self.get(f"/jobs/{job_id}")["vertices"])

    def checkpoints(self, job_id: str) -> dict[str, Any]:
        """The job's checkpoint statistics (``counts``, ``latest.completed``/``restored``)."""
        answer: dict[str, Any] = self.get(f"/jobs/{job_id}/checkpoints")
        return answer

    def wait_checkpoint(self, job_id: str, after: int = 0, timeout: float = 60.0) -> int:
        """Until a checkpoint newer than ``after`` completed; returns its id."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            latest = (self.checkpoints(job_id).get("latest") or {}).get("completed")
            if latest and latest["id"] > after:
                return int(latest["id"])
            time.sleep(0.5)
        raise AssertionError(f"job {job_id}: no checkpoint after {after} in {timeout:.0f} s")

    def wait_restored(self, job_id: str, timeout: float = 120.0) -> int:
        """Until the job restored a checkpoint and runs again; returns the checkpoint's id."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_not_failed(job_id)
            restored = (self.checkpoints(job_id).get("latest") or {}).get("restored")
            if restored:
                self.wait_running(job_id, max(1.0, deadline - time.monotonic()))
                return int(restored["id"])
            time.sleep(0.5)
        raise AssertionError(f"job {job_id} restored no checkpoint in {timeout:.0f} s")

    def check_not_failed(self, job_id: str) -> None:
        """Fail when the job has failed for good (restarts after a crash are expected)."""
        state = self.get(f"/jobs/{job_id}")["state"]
        if state in ("FAILED", "CANCELED", "FINISHED"):
            raise AssertionError(f"job {job_id} ended: {state}")

    def check_healthy(self, job_id: str) -> None:
        """Fail at once when the job has failed since it started (it would restart and retry)."""
        entries = self.get(f"/jobs/{job_id}/exceptions")["exceptionHistory"]["entries"]
        if entries:
            trace = entries[0]["stacktrace"]
            causes = [line for line in trace.splitlines() if line.startswith("Caused by")]
            raise AssertionError(f"job {job_id} failed: {trace.splitlines()[0]} {causes[-1:]}")

    def cancel(self, job_id: str) -> None:
        request = urllib.request.Request(
            f"{self.rest_url}/jobs/{job_id}?mode=cancel", method="PATCH"
        )
        with urllib.request.urlopen(request, timeout=10):
            pass


def load_local_flink() -> ModuleType:
    """deploy/local/flink.py as a module (it is a script, not a package)."""
    name = "fairwatch_local_flink"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, ROOT / "deploy/local/flink.py")
        assert spec is not None and spec.loader is not None
        sys.modules[name] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(sys.modules[name])
    return sys.modules[name]


@pytest.fixture(scope="session")
def local_flink() -> Any:
    """The local cluster's processes (deploy/local/flink.py), to crash and restart its
    TaskManager; needs ``FAIRWATCH_TEST_FLINK_STATE_DIR`` (a cluster started by flink.py)."""
    state_dir = os.environ.get("FAIRWATCH_TEST_FLINK_STATE_DIR")
    if not state_dir:
        pytest.skip("no local Flink cluster to crash: " + HOW_TO_START)
    return load_local_flink().FlinkCluster.create(Path(state_dir))


@pytest.fixture(scope="session")
def flink_cluster() -> FlinkTestCluster:
    rest_url = os.environ.get("FAIRWATCH_TEST_FLINK_REST_URL")
    home = os.environ.get("FAIRWATCH_TEST_FLINK_HOME")
    conf_dir = os.environ.get("FAIRWATCH_TEST_FLINK_CONF_DIR")
    if not (rest_url and home and conf_dir):
        pytest.skip(HOW_TO_START)
    cluster = FlinkTestCluster(rest_url.rstrip("/"), Path(home), Path(conf_dir))
    overview = cluster.get("/overview")
    assert overview["taskmanagers"] >= 1, f"no TaskManager registered at {rest_url}: {overview}"
    return cluster
