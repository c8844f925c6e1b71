"""``fairwatch audit`` as a separate process: what a CI job sees (exit codes, streams)."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.paths import DATA

EVENTS = DATA / "audit_events.jsonl"


def fairwatch(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fairwatch.cli", "audit", *argv],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_json_report_on_stdout_and_exit_0():
    result = fairwatch(str(EVENTS), "--sensitive", "sex,race", "--format", "json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert {g["group"] for g in report["groups"] if g["attribute"] == "sex"} == {"Female", "Male"}


def test_gate_failure_exits_1_with_the_reason_on_stderr():
    result = fairwatch(
        str(EVENTS), "--sensitive", "sex", "--format", "json", "--fail-on", "four_fifths"
    )
    assert result.returncode == 1
    assert "selection_rate_ratio_to_reference" in result.stderr
    assert "outside [0.8, 1.25]" in result.stderr
    assert json.loads(result.stdout)["summary"]["gate_failures"]


def test_bad_input_exits_2_with_one_line(tmp_path):
    path = tmp_path / "rows.csv"
    path.write_text("prediction,label,sex\n1,7,F\n")
    result = fairwatch(str(path), "--sensitive", "sex")
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and "'label' must be binary" in result.stderr
