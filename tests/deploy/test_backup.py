"""The backup and restore procedure of docs/operations.md, run as written on a real state store:
a backup taken while the daemon runs, restored into a new state directory, resumes exactly."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fairwatch.app import build_daemon
from monitor.config import config_from_dict
from monitor.sinks.embedded import EmbeddedSink
from monitor.sinks.points import Row
from monitor.stream.counters import CHECKPOINTS, EVENTS_CONSUMED
from monitor.stream.memory import EmbeddedSource, MemoryDeadLetters
from tests.deploy.dashboard_queries import ROOT
from tests.deploy.pipeline_seed import events
from tests.waiting import wait_until

HOUR = 3600.0


def _backup_commands() -> list[str]:
    """The documented one-liners (``python -c ... SOURCE TARGET``) of the backup section."""
    text = (ROOT / "docs/operations.md").read_text()
    section = text.split("## Backup and restore of the state store", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, flags=re.S)
    assert block is not None
    commands = [
        line
        for line in block.group(1).replace("\\\n", " ").splitlines()
        if "sqlite3.connect" in line
    ]
    assert len(commands) == 2
    return commands


def _run_backup(command: str, state_dir: Path, backup_dir: Path) -> None:
    words = shlex.split(command.replace("$(date +%F)", "today"))
    assert words[0] == "python"
    words = [sys.executable, *words[1:-1], str(backup_dir / Path(words[-1]).name)]
    subprocess.run(words, cwd=state_dir, check=True, timeout=60)


def _config(model_id: str, state_dir: Path) -> Any:
    return config_from_dict(
        {
            "kafka": {"max_poll_records": 500},
            "models": {model_id: {"threshold": 0.5}},
            "sensitive": {"attributes": ["sex", "race"]},
            "windows": ["1h"],
            "engine": {"bootstrap_samples": 100},
            "embedded_sink": {"path": str(state_dir / "metrics.sqlite")},
            "state_dir": str(state_dir),
            "alerting": {
                "rules": [{"name": "parity", "condition": "demographic_parity_difference > 0.1"}],
                "receivers": [],
            },
        }
    )


def test_online_backup_restores_to_an_exact_resume(tmp_path: Path) -> None:
    model = "backup-model"
    now = time.time()
    records = events(model, now - now % HOUR - 6 * HOUR, hours=6, per_hour=300)
    half = len(records) // 2

    # 1. a daemon runs over the first half; the backup is taken while it is still running
    live_dir = tmp_path / "live"
    source = EmbeddedSource(records[:half])
    daemon = build_daemon(
        _config(model, live_dir),
        source=source,
        sink=EmbeddedSink(live_dir / "metrics.sqlite"),
        dead_letters=MemoryDeadLetters(),
        health=False,
    )
    thread = threading.Thread(target=daemon.run, daemon=True)
    thread.start()
    assert wait_until(
        lambda: source.is_idle() and daemon.pipeline.counters.get(CHECKPOINTS) >= 2, 60, 0.05
    ), "the daemon did not checkpoint"
    backup_dir = tmp_path / "backup"
    backup_dir.mkdir()
    for command in _backup_commands():
        _run_backup(command, live_dir, backup_dir)
    daemon.stop()
    thread.join(timeout=60)
    assert not thread.is_alive()

    # 2. restore into a new state directory as documented, and run over all records
    restored = tmp_path / "restored"
    restored.mkdir()
    for backup in backup_dir.iterdir():
        name = "state.sqlite" if backup.name.startswith("state") else "alerting.sqlite"
        (restored / name).write_bytes(backup.read_bytes())
    resumed = _run_all(model, records, restored)

    # 3. a fresh daemon over all records is the reference: every window the resumed daemon
    #    wrote (labels revise the early windows too) equals the reference's
    reference = _run_all(model, records, tmp_path / "reference")
    written = resumed.sink_rows
    assert written, "the resumed daemon wrote no windows"
    expected = {row.identity(): dict(row.fields) for row in reference.sink_rows}
    for row in written:
        assert dict(row.fields) == expected[row.identity()], row.tags
    counters = resumed.counters
    consumed = sum(
        counters.get(EVENTS_CONSUMED, topic=topic) for topic in ("predictions", "labels")
    )
    assert consumed < len(records)  # it resumed after the backup's offsets, not from zero


@dataclass(frozen=True)
class _Run:
    counters: Any
    sink_rows: list[Row]


def _run_all(model: str, records: list[Any], state_dir: Path) -> _Run:
    """Run a daemon over ``records`` from ``state_dir`` until idle; what it counted and wrote."""
    sink_path = state_dir / "metrics.sqlite"
    daemon = build_daemon(
        _config(model, state_dir),
        source=EmbeddedSource(records),
        sink=EmbeddedSink(sink_path),
        dead_letters=MemoryDeadLetters(),
        health=False,
    )
    daemon.run(stop_when_idle=True)
    reader = EmbeddedSink(sink_path)
    rows = reader.rows("fairness_group") + reader.rows("fairness_disparity")
    reader.close()
    return _Run(daemon.pipeline.counters, rows)
