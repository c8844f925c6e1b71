"""``fairwatch run`` with no broker to reach (a closed port, so no server is needed): the wait at
start is bounded, ends with exit 4 and one line naming the servers, and SIGTERM during it is
honoured at once."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from monitor.config import ConfigError, config_from_dict
from tests.monitor.kafka.test_kafka_connection import closed_port
from tests.monitor.stream.conftest import (
    FAIRWATCH,
    ROOT,
    DaemonProcess,
    daemon_config,
    write_config,
)

pytestmark = pytest.mark.timeout(120)

TOPICS = ["predictions", "labels", "dead-letters"]
SHUTDOWN_TIMEOUT = 5.0
# Start-up of the interpreter and the consumer process, closing: what exit may take beyond a wait.
MARGIN = 8.0


def unreachable_config(tmp_path: Path, startup_timeout: str, consumer_process: bool) -> Path:
    config = daemon_config(tmp_path, f"127.0.0.1:{closed_port()}", TOPICS)
    config["kafka"].update(startup_timeout=startup_timeout, consumer_process=consumer_process)
    return write_config(tmp_path / "fairwatch.yaml", config)


def test_startup_timeout_is_a_duration_of_60s_by_default(tmp_path: Path) -> None:
    config = daemon_config(tmp_path, "kafka:9092", TOPICS)
    assert config_from_dict(config).kafka.startup_timeout == 60.0
    config["kafka"]["startup_timeout"] = "2m"
    assert config_from_dict(config).kafka.startup_timeout == 120.0
    config["kafka"]["startup_timeout"] = "soon"
    with pytest.raises(ConfigError, match=r"kafka\.startup_timeout: expected a duration"):
        config_from_dict(config)


@pytest.mark.slow
@pytest.mark.parametrize("consumer_process", [True, False], ids=["child-process", "in-process"])
def test_an_unreachable_broker_at_start_exits_4_with_one_line_naming_it(
    tmp_path: Path, consumer_process: bool
) -> None:
    path = unreachable_config(tmp_path, "3s", consumer_process)
    bootstrap = path.read_text().split("bootstrap_servers: ")[1].split()[0]
    started = time.monotonic()
    result = subprocess.run(
        [*FAIRWATCH, "run", "--config", str(path)],
        capture_output=True,
        timeout=3 + MARGIN + 30,
        cwd=ROOT,
    )
    seconds = time.monotonic() - started
    stderr = result.stderr.decode(errors="replace")
    lines = stderr.splitlines()
    assert result.returncode == 4, stderr
    assert 3.0 <= seconds < 3.0 + MARGIN, stderr
    assert [line for line in lines if bootstrap in line] == [
        f"fairwatch: cannot reach Kafka at {bootstrap} within 3s (kafka.startup_timeout); "
        "check kafka.bootstrap_servers"
    ]
    assert lines[-1].startswith("fairwatch: cannot reach Kafka")
    # kafka-python's own stream of connection errors is not shown; what is left is a handful
    assert not [line for line in lines if "logger=kafka" in line], stderr
    assert len(lines) <= 6, stderr
    assert "Traceback" not in stderr and result.stdout == b""


@pytest.mark.slow
@pytest.mark.parametrize("consumer_process", [True, False], ids=["child-process", "in-process"])
def test_sigterm_while_waiting_for_the_broker_exits_0_at_once(
    tmp_path: Path,
    consumer_process: bool,
    daemon_processes: Callable[..., DaemonProcess],
) -> None:
    path = unreachable_config(tmp_path, "60s", consumer_process)
    daemon = daemon_processes(path, tmp_path / "daemon.log").start()
    daemon.wait_for_log("event=kafka_connecting", timeout=30)
    code, seconds = daemon.terminate(timeout=60)
    log = daemon.log()
    assert code == 0 and seconds < SHUTDOWN_TIMEOUT + 5, log
    assert "event=start_interrupted" in log and "Traceback" not in log, log
