"""Run a real Apache Flink session cluster on 127.0.0.1: one JobManager and one TaskManager,
separate JVMs, RocksDB state, checkpoints to a local directory. No Docker.

The Flink distribution comes from PyPI: the ``apache-flink`` wheel carries the cluster scripts
(``pyflink/bin``, ``pyflink/conf``) and ``apache-flink-libraries`` the jars (``flink-dist`` with
the RocksDB state backend, the table planner, the JSON and raw formats). Both are fetched with
``pip download --no-deps`` and unpacked as a Flink home in the cache, never installed into any
Python environment: their pins (pandas, pyarrow, apache-beam) cannot constrain fairwatch's.
Maven adds the Kafka SQL connector and the SQL gateway that ``bin/sql-client.sh`` embeds
(``flink/pom.xml``). The home is cached under ``~/.cache/fairwatch`` (``$FAIRWATCH_CACHE_DIR``),
so only the first start downloads (315 MB of wheels, 12 MB of jars; 326 MB unpacked).

    python deploy/local/flink.py start  [--state-dir DIR] [--rest-port N] [--slots N]
                                        [--env-file F]
    python deploy/local/flink.py status [--state-dir DIR]
    python deploy/local/flink.py stop   [--state-dir DIR]
    python deploy/local/flink.py kill-taskmanager|start-taskmanager|restart-taskmanager
                                        [--state-dir DIR]

``start`` prints ``export FAIRWATCH_TEST_FLINK_...=...`` lines on stdout (progress on stderr).
``kill-taskmanager`` kills the TaskManager's JVM with SIGKILL (a crash: no checkpoint, no
goodbye to the JobManager, which notices through its failed heartbeats within seconds);
``start-taskmanager`` starts it again and waits until it has registered; ``restart-taskmanager``
does both. The jobs of the cluster then restart from their last completed checkpoint.
A state directory may be shared with ``localservers.py``: the cluster keeps to its own
``flink-*`` entries in it (``flink-conf``, ``flink-jobmanager``, ``flink-taskmanager``,
``flink-checkpoints``, ``flink-savepoints``). Java 17, Maven and pip are needed; the standard
library is enough to run this file.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import sys
import time
import urllib.request
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from localservers import (  # a sibling script, found through the line above
    DEFAULT_STATE_DIR,
    HOST,
    STOP_TIMEOUT_S,
    Server,
    ServerError,
    cache_dir,
    env_lines,
    file_lock,
    log_tail,
    require_tool,
    run_logged,
)

HERE = Path(__file__).resolve().parent
FLINK_POM = HERE / "flink" / "pom.xml"
# The wheels are platform wheels only for their Python parts; the scripts and jars used here
# are the same in each, so one fixed tag is fetched whatever Python runs this file.
WHEEL_TAGS = (
    "--only-binary=:all:",
    "--implementation=cp",
    "--python-version=3.11",
    "--platform=manylinux2014_x86_64",
)
DEFAULT_SLOTS = 4  # the tests run a job at parallelism 1 and one at 2 side by side
DEFAULT_CHECKPOINT_INTERVAL = "2s"
# Sized for a test cluster on a small shared machine; FAIRWATCH_FLINK_TM_MEMORY raises it.
JOBMANAGER_MEMORY = "1024m"
TASKMANAGER_MEMORY = "1536m"


def log(message: str) -> None:
    print(f"flink: {message}", file=sys.stderr, flush=True)


def pom_property(name: str, pom: Path = FLINK_POM) -> str:
    match = re.search(rf"<{re.escape(name)}>([^<]+)</{re.escape(name)}>", pom.read_text())
    if not match:
        raise ServerError(f"{pom} has no <{name}> property")
    return match.group(1).strip()


def flink_version() -> str:
    return pom_property("flink.version")


# ---------------------------------------------------------------------------------------------
# Installing: the Flink home from two PyPI wheels and Maven Central.


def ensure_flink(cache: Path | None = None) -> Path:
    """The Flink home (``bin``, ``conf``, ``lib``, ``opt``, ``plugins``), built on first use."""
    cache = cache or cache_dir()
    version = flink_version()
    home = cache / f"flink-{version}"
    marker = home / ".complete"
    if marker.exists():
        return home
    with file_lock(cache / f".flink-{version}.lock"):
        if not marker.exists():
            build_flink_home(cache, version, home)
    return home


def build_flink_home(cache: Path, version: str, home: Path) -> None:
    started = time.monotonic()
    wheels = cache / "wheels" / f"flink-{version}"
    wheels.mkdir(parents=True, exist_ok=True)
    build_log = cache / f"flink-{version}-install.log"
    log(f"downloading apache-flink {version} wheels from PyPI (log: {build_log})")
    names = [f"apache-flink=={version}", f"apache-flink-libraries=={version}"]
    pip = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check"]
    if not run_logged([*pip, *WHEEL_TAGS, "-d", str(wheels), *names], build_log):
        raise ServerError(
            f"pip could not download {names}; see {build_log}:\n{log_tail(build_log)}"
        )
    staging = cache / f"flink-{version}.partial"
    shutil.rmtree(staging, ignore_errors=True)
    for wheel, parts in (
        (f"apache_flink-{version}-*.whl", ("bin/", "conf/")),
        (f"apache_flink_libraries-{version}-*.whl", ("bin/", "lib/", "opt/", "plugins/")),
    ):
        found = sorted(wheels.glob(wheel))
        if not found:
            raise ServerError(f"no {wheel} in {wheels} after pip download; see {build_log}")
        unpack(found[-1], parts, staging)
    for script in (staging / "bin").iterdir():
        if script.suffix in (".sh", "") and script.is_file():
            script.chmod(0o755)
    (staging / "log").mkdir(exist_ok=True)
    mvn = require_tool("mvn", "download the Kafka SQL connector and the SQL gateway")
    command = [
        mvn,
        "-B",
        "-q",
        "-f",
        str(FLINK_POM),
        "dependency:copy-dependencies",
        "-DexcludeTransitive=true",
        f"-DoutputDirectory={staging / 'lib'}",
    ]
    log("downloading the Kafka SQL connector and the SQL gateway from Maven Central")
    if not run_logged(command, build_log):
        raise ServerError(f"Maven failed; see {build_log}:\n{log_tail(build_log)}")
    shutil.rmtree(home, ignore_errors=True)
    staging.rename(home)
    shutil.rmtree(wheels, ignore_errors=True)  # unpacked: 300 MB the cache need not keep
    size = sum(path.stat().st_size for path in home.rglob("*") if path.is_file())
    (home / ".complete").write_text(version + "\n")
    log(f"Flink {version} home ready in {time.monotonic() - started:.0f} s ({size >> 20} MiB)")


def unpack(wheel: Path, parts: tuple[str, ...], target: Path) -> None:
    """Extract ``pyflink/<part>...`` members of a wheel into ``target/<part>...``."""
    with zipfile.ZipFile(wheel) as archive:
        for member in archive.infolist():
            name = member.filename.removeprefix("pyflink/")
            if member.is_dir() or name == member.filename or not name.startswith(parts):
                continue
            destination = target / name
            destination.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(member) as source, destination.open("wb") as sink:
                shutil.copyfileobj(source, sink)


# ---------------------------------------------------------------------------------------------
# Configuration.


def java_options(home: Path) -> str:
    """The JVM options of the distribution's own config.yaml (``--add-opens`` for Java 17)."""
    text = (home / "conf" / "config.yaml").read_text()
    match = re.search(r"^\s+all:\s*(--add-\S.*)$", text, re.MULTILINE)
    return match.group(1).strip() if match else ""


def render_flink_config(
    state_dir: Path, rpc_port: int, rest_port: int, slots: int, jvm_options: str
) -> str:
    """config.yaml (Flink 2.x, flattened keys): loopback only, RocksDB, local checkpoints."""
    settings: dict[str, object] = {
        "env.java.opts.all": jvm_options,
        "jobmanager.bind-host": HOST,
        "jobmanager.rpc.address": HOST,
        "jobmanager.rpc.port": rpc_port,
        "jobmanager.memory.process.size": os.environ.get(
            "FAIRWATCH_FLINK_JM_MEMORY", JOBMANAGER_MEMORY
        ),
        "jobmanager.execution.failover-strategy": "region",
        # a TaskManager killed with SIGKILL is declared lost after two heartbeats fail
        # (connection refused), ~2 s; a live one gets 20 s, for a small loaded machine
        "heartbeat.interval": 1000,
        "heartbeat.timeout": 20000,
        "taskmanager.bind-host": HOST,
        "taskmanager.host": HOST,
        "taskmanager.numberOfTaskSlots": slots,
        "taskmanager.memory.process.size": os.environ.get(
            "FAIRWATCH_FLINK_TM_MEMORY", TASKMANAGER_MEMORY
        ),
        "rest.address": HOST,
        "rest.bind-address": HOST,
        "rest.port": rest_port,
        "parallelism.default": 1,
        "execution.target": "remote",
        "state.backend.type": "rocksdb",
        "execution.checkpointing.incremental": True,
        "execution.checkpointing.dir": (state_dir / "flink-checkpoints").as_uri(),
        "execution.checkpointing.savepoint-dir": (state_dir / "flink-savepoints").as_uri(),
        "execution.checkpointing.interval": DEFAULT_CHECKPOINT_INTERVAL,
        "execution.checkpointing.mode": "EXACTLY_ONCE",
        "execution.checkpointing.externalized-checkpoint-retention": "RETAIN_ON_CANCELLATION",
        "restart-strategy.type": "fixed-delay",
        "restart-strategy.fixed-delay.attempts": 1000,
        "restart-strategy.fixed-delay.delay": "1s",
        "io.tmp.dirs": str(state_dir / "flink-taskmanager" / "tmp"),
        "web.submit.enable": True,
        "web.cancel.enable": True,
    }
    lines = ["# Generated by deploy/local/flink.py for a local test cluster."]
    lines += [f"{key}: {json.dumps(value)}" for key, value in settings.items()]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------
# Processes.


def rest_get(url: str, path: str, timeout: float = 5.0) -> dict[str, object]:
    with urllib.request.urlopen(f"{url}{path}", timeout=timeout) as response:
        body: dict[str, object] = json.loads(response.read())
    return body


@dataclass(kw_only=True)
class FlinkProcess(Server):
    """A JobManager or TaskManager JVM, started in the foreground by the distribution's script."""

    script: str = ""
    conf_dir: Path = Path()
    rest_url: str = ""
    _flink_home: Path = field(default=Path(), repr=False)

    def install(self) -> None:
        self._flink_home = ensure_flink()

    def process_env(self) -> dict[str, str]:
        return {
            **os.environ,
            "FLINK_CONF_DIR": str(self.conf_dir),
            "FLINK_LOG_DIR": str(self.home),  # also names the home in the JVM's command line
            "FLINK_PID_DIR": str(self.home),
        }

    def launch_server(self) -> None:
        require_tool("java", "run Flink (Java 17)")
        bash = require_tool("bash", "run Flink's start scripts")
        script = self._flink_home / "bin" / self.script
        self.launch([bash, str(script), "start-foreground"], self.process_env())

    def overview(self) -> dict[str, object] | str:
        try:
            return rest_get(self.rest_url, "/overview")
        except (OSError, ValueError) as error:
            return repr(error)


@dataclass(kw_only=True)
class JobManager(FlinkProcess):
    name: str = "flink-jobmanager"
    script: str = "jobmanager.sh"
    rpc_port: int = 0
    slots: int = DEFAULT_SLOTS

    def port_fields(self) -> tuple[str, ...]:
        return ("port", "rpc_port")

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def readiness(self) -> str:
        return f"GET {self.url}/overview"

    def launch_server(self) -> None:
        self.rest_url = self.url
        self.conf_dir.mkdir(parents=True, exist_ok=True)
        for name in ("log4j-console.properties", "log4j-cli.properties", "log4j.properties"):
            shutil.copy(self._flink_home / "conf" / name, self.conf_dir / name)
        options = " ".join(
            part
            for part in (java_options(self._flink_home), os.environ.get("FAIRWATCH_FLINK_JVM_OPTS"))
            if part
        )
        (self.conf_dir / "config.yaml").write_text(
            render_flink_config(self.state_dir, self.rpc_port, self.port, self.slots, options)
        )
        super().launch_server()

    def probe(self) -> str | None:
        answer = self.overview()
        return answer if isinstance(answer, str) else None


@dataclass(kw_only=True)
class TaskManager(FlinkProcess):
    name: str = "flink-taskmanager"
    script: str = "taskmanager.sh"
    # TaskManagers registered before this one started (a killed one stays registered until
    # the JobManager's heartbeats fail): readiness waits for one that is not among them
    registered_before: frozenset[str] = frozenset()

    def port_fields(self) -> tuple[str, ...]:
        return ()  # its RPC and data ports are chosen by the kernel; the JobManager knows them

    def readiness(self) -> str:
        return f"a new TaskManager registered at {self.rest_url}/taskmanagers"

    def launch_server(self) -> None:
        (self.home / "tmp").mkdir(parents=True, exist_ok=True)
        super().launch_server()

    def registered(self) -> frozenset[str] | str:
        try:
            answer = rest_get(self.rest_url, "/taskmanagers")
        except (OSError, ValueError) as error:
            return repr(error)
        managers = answer.get("taskmanagers")
        if not isinstance(managers, list):
            return f"taskmanagers: {answer}"
        return frozenset(str(manager["id"]) for manager in managers)

    def probe(self) -> str | None:
        found = self.registered()
        if isinstance(found, str):
            return found
        return None if found - self.registered_before else f"registered: {sorted(found)}"


@dataclass
class FlinkCluster:
    """The JobManager and TaskManager of one state directory, started and stopped together."""

    state_dir: Path
    jobmanager: JobManager
    taskmanager: TaskManager

    @classmethod
    def create(
        cls, state_dir: Path, rest_port: int = 0, slots: int = DEFAULT_SLOTS
    ) -> FlinkCluster:
        state_dir = state_dir.expanduser().resolve()
        conf_dir = state_dir / "flink-conf"
        jobmanager = JobManager(state_dir=state_dir, port=rest_port, conf_dir=conf_dir, slots=slots)
        taskmanager = TaskManager(state_dir=state_dir, conf_dir=conf_dir)
        cluster = cls(state_dir, jobmanager, taskmanager)
        jobmanager.restore_ports()
        taskmanager.rest_url = jobmanager.rest_url = jobmanager.url
        return cluster

    @property
    def conf_dir(self) -> Path:
        return self.jobmanager.conf_dir

    @property
    def rest_url(self) -> str:
        return self.jobmanager.url

    def start(self) -> None:
        """Launch both JVMs at once, then wait for the JobManager and the TaskManager's
        registration; a JobManager that had to take other ports restarts the TaskManager."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        try:
            started = time.monotonic()
            launched = self.jobmanager.begin_start()
            ports = (self.jobmanager.port, self.jobmanager.rpc_port)
            self.taskmanager.rest_url = self.jobmanager.url
            self.taskmanager.begin_start()
            if launched:
                self.jobmanager.finish_start()
                log(f"jobmanager ready after {time.monotonic() - started:.1f} s")
            if (self.jobmanager.port, self.jobmanager.rpc_port) != ports:
                self.taskmanager.stop()
                self.taskmanager.rest_url = self.jobmanager.url
                self.taskmanager.begin_start()
            self.taskmanager.finish_start()
            log(f"taskmanager registered after {time.monotonic() - started:.1f} s")
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        self.taskmanager.stop()
        self.jobmanager.stop()

    def kill_taskmanager(self) -> int | None:
        """SIGKILL the TaskManager's process group at once (a crash); returns its pid."""
        pid = self.taskmanager.pid()
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
            deadline = time.monotonic() + STOP_TIMEOUT_S
            while self.taskmanager.pid() is not None and time.monotonic() < deadline:
                time.sleep(0.05)
        return pid

    def start_taskmanager(self) -> None:
        """Start the TaskManager (when it is not running) and wait for its registration."""
        self.jobmanager.restore_ports()
        self.taskmanager.rest_url = self.jobmanager.url
        before = self.taskmanager.registered()
        self.taskmanager.registered_before = (
            before if isinstance(before, frozenset) else frozenset()
        )
        if self.taskmanager.begin_start():
            self.taskmanager.finish_start()

    def environment(self) -> dict[str, str]:
        return {
            "FAIRWATCH_TEST_FLINK_REST_URL": self.rest_url,
            "FAIRWATCH_TEST_FLINK_HOME": str(ensure_flink()),
            "FAIRWATCH_TEST_FLINK_CONF_DIR": str(self.conf_dir),
            "FAIRWATCH_TEST_FLINK_STATE_DIR": str(self.state_dir),
        }

    def status(self) -> int:
        up = True
        for process in (self.jobmanager, self.taskmanager):
            pid = process.pid()
            up = up and pid is not None
            state = f"running   pid={pid}" if pid else "stopped  "
            print(f"{process.name:18} {state} log={process.log_path}")
        answer = self.jobmanager.overview()
        if isinstance(answer, str):
            print(f"{'rest':18} not answering at {self.rest_url} ({answer})")
            return 3
        print(f"{'rest':18} {self.rest_url} overview={json.dumps(answer)}")
        return 0 if up else 3


# ---------------------------------------------------------------------------------------------
# Command line.


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="flink.py", description="Run a local Apache Flink cluster for fairwatch's tests."
    )
    parser.add_argument(
        "command",
        choices=(
            "start",
            "stop",
            "status",
            "kill-taskmanager",
            "start-taskmanager",
            "restart-taskmanager",
        ),
    )
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=DEFAULT_STATE_DIR,
        help=f"instance directory: config, checkpoints, logs (default {DEFAULT_STATE_DIR})",
    )
    parser.add_argument("--rest-port", type=int, default=0, help="REST port (default: a free one)")
    parser.add_argument(
        "--slots", type=int, default=DEFAULT_SLOTS, help="task slots of the TaskManager"
    )
    parser.add_argument(
        "--env-file", type=Path, help="also write the export lines to this file (for `source`)"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    cluster = FlinkCluster.create(args.state_dir, args.rest_port, args.slots)
    try:
        if args.command == "start":
            started = time.monotonic()
            cluster.start()
            exports = env_lines(cluster.environment())
            (cluster.state_dir / "flink.env").write_text(exports)
            if args.env_file:
                args.env_file.write_text(exports)
            log(f"started in {time.monotonic() - started:.1f} s; state in {cluster.state_dir}")
            sys.stdout.write(exports)
            return 0
        if args.command == "stop":
            cluster.stop()
            log(f"stopped ({cluster.state_dir})")
            return 0
        if args.command in ("kill-taskmanager", "restart-taskmanager"):
            pid = cluster.kill_taskmanager()
            log(f"taskmanager {'killed (pid ' + str(pid) + ')' if pid else 'was not running'}")
        if args.command in ("start-taskmanager", "restart-taskmanager"):
            started = time.monotonic()
            cluster.start_taskmanager()
            log(f"taskmanager registered after {time.monotonic() - started:.1f} s")
        if args.command != "status":
            return 0
        return cluster.status()
    except ServerError as error:
        log(f"error: {error}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
