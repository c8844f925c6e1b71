"""The systemd unit: required settings, and `systemd-analyze verify` when it is installed."""

from __future__ import annotations

import configparser
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.deploy.dashboard_queries import ROOT

UNIT = ROOT / "deploy/systemd/fairwatch.service"


def _unit() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(UNIT.read_text())
    return parser


def test_unit_runs_the_daemon_as_a_service_user_with_its_state_directory() -> None:
    unit = _unit()
    service = unit["Service"]
    assert service["ExecStart"].split()[1:3] == ["run", "--config"]
    assert "check-config" in service["ExecStartPre"]
    assert service["User"] == "fairwatch" and service["StateDirectory"] == "fairwatch"
    assert service["KillSignal"] == "SIGTERM" and service["Restart"] == "on-failure"
    # exit codes of `fairwatch run` that a restart cannot fix
    from fairwatch.commands.run import EXIT_CONFIG, EXIT_CONFLICT

    assert service["RestartPreventExitStatus"].split() == [str(EXIT_CONFIG), str(EXIT_CONFLICT)]
    assert service["ReadWritePaths"] == "/var/lib/fairwatch"
    assert unit["Install"]["WantedBy"] == "multi-user.target"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not here")
def test_systemd_analyze_verifies_the_unit(tmp_path: Path) -> None:
    fairwatch = Path(sys.executable).with_name("fairwatch")
    text = UNIT.read_text().replace("/opt/fairwatch/bin/fairwatch", str(fairwatch))
    unit = tmp_path / "fairwatch.service"
    unit.write_text(text)
    result = subprocess.run(
        ["systemd-analyze", "verify", str(unit)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    problems = [
        line for line in (result.stdout + result.stderr).splitlines() if "fairwatch.service" in line
    ]
    assert result.returncode == 0 and not problems, result.stdout + result.stderr
