"""Submit a rendered job with Flink's SQL client (``bin/sql-client.sh -f job.sql``).

The SQL client runs in embedded mode: it starts its own SQL gateway (``flink-sql-gateway`` must be
in the Flink home's ``lib/``, as deploy/local/flink.py puts it), parses the file, submits the
statement set to the cluster's REST endpoint and returns once the job is accepted. The cluster
is the one named by ``--jobmanager host:port``, else by the ``rest.address``/``rest.port`` of
the configuration directory (``FLINK_CONF_DIR``, default the home's ``conf/``).
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

JOB_ID = re.compile(r"Job ID:\s*([0-9a-f]{32})")
SUBMIT_TIMEOUT_S = 300.0
# The client is a JVM that plans one job and exits: the C1 compiler alone and the serial
# collector halve its CPU time (32 s → 15 s for a job on a small machine); $JVM_ARGS wins.
CLIENT_JVM_ARGS = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"


class SubmitError(RuntimeError):
    """The SQL client did not submit the job; the message carries its output."""


@dataclass(frozen=True)
class Cluster:
    """Where the SQL client and the job's cluster are."""

    flink_home: Path
    conf_dir: Path | None = None  # FLINK_CONF_DIR for the client (cluster address, defaults)
    jobmanager: str | None = None  # host:port of the REST endpoint, overrides the conf dir

    def command(self, job_file: Path) -> list[str]:
        command = [str(self.flink_home / "bin" / "sql-client.sh")]
        if self.jobmanager:
            host, _, port = self.jobmanager.rpartition(":")
            if not host or not port.isdigit():
                raise SubmitError(f"--jobmanager {self.jobmanager!r}: expected host:port")
            command += [f"-Drest.address={host}", f"-Drest.port={port}"]
        return [*command, "-f", str(job_file)]


def find_flink_home(given: str | None) -> Path:
    """The Flink home from ``--flink-home``, else ``$FLINK_HOME``."""
    value = given or os.environ.get("FLINK_HOME")
    if not value:
        raise SubmitError(
            "no Flink home: pass --flink-home DIR or set FLINK_HOME (deploy/local/flink.py "
            "start prints FAIRWATCH_TEST_FLINK_HOME for its local cluster)"
        )
    home = Path(value).expanduser()
    if not (home / "bin" / "sql-client.sh").is_file():
        raise SubmitError(f"{home} has no bin/sql-client.sh: not a Flink home")
    if not any((home / "lib").glob("flink-sql-gateway-*.jar")):
        raise SubmitError(
            f"{home}/lib has no flink-sql-gateway jar, which the SQL client's embedded mode "
            "needs (org.apache.flink:flink-sql-gateway from Maven Central)"
        )
    return home


def submit(job_file: Path, cluster: Cluster, timeout: float = SUBMIT_TIMEOUT_S) -> str:
    """Run the SQL client on ``job_file``; returns the id of the submitted job."""
    env = dict(os.environ)
    env.setdefault("JVM_ARGS", CLIENT_JVM_ARGS)
    if cluster.conf_dir is not None:
        env["FLINK_CONF_DIR"] = str(cluster.conf_dir)
    with tempfile.TemporaryDirectory(prefix="fairwatch-sql-client-") as logs:
        env.setdefault("FLINK_LOG_DIR", logs)
        try:
            result = subprocess.run(
                cluster.command(job_file),
                capture_output=True,
                text=True,
                env=env,
                stdin=subprocess.DEVNULL,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as error:
            raise SubmitError(f"the SQL client did not finish in {timeout:.0f} s") from error
        output = result.stdout + result.stderr
        found = JOB_ID.search(output)
        if result.returncode != 0 or found is None or "[ERROR]" in output:
            tail = "\n".join(output.strip().splitlines()[-25:])
            logged = "\n".join(
                line
                for path in Path(logs).glob("*.log")
                for line in path.read_text(errors="replace").splitlines()
                if "ERROR" in line or "Exception" in line
            )[-4000:]
            raise SubmitError(
                f"the SQL client did not submit {job_file} (status {result.returncode}):\n"
                f"{tail}\n{logged}"
            )
    return found.group(1)
