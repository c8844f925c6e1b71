"""The real Apache Flink cluster of the Flink job's integration tests.

The cluster is started once for the whole run by ``deploy/local/flink.py start`` (deploy/local/
test.sh does it, and CI runs test.sh), which prints the ``FAIRWATCH_TEST_FLINK_*`` variables
read here. Without them the tests are skipped, saying how to start a cluster; under ``CI=true``
a skipped integration test fails the run (tests/conftest.py).
"""

from __future__ import annotations

import json
import os
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from fairwatch.flink.submit import Cluster, submit

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
