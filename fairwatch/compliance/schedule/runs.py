"""The record of scheduled reports (``<state_dir>/reports.sqlite``): which fire of each schedule
was handled last, each report made (by report name, subject, period, configuration hash and
format) and each post of it. A run whose report was made is not made again; a post that went
out is not sent again, so a restart never duplicates anything.
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

FILE_NAME = "reports.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS schedule (name TEXT PRIMARY KEY, last_fire REAL NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    name TEXT NOT NULL, subject TEXT NOT NULL, period_start REAL NOT NULL,
    period_end REAL NOT NULL, config_hash TEXT NOT NULL, format TEXT NOT NULL,
    path TEXT NOT NULL, sha256 TEXT NOT NULL, made_at REAL NOT NULL,
    PRIMARY KEY (name, subject, period_start, period_end, config_hash, format));
CREATE TABLE IF NOT EXISTS posts (
    name TEXT NOT NULL, subject TEXT NOT NULL, period_start REAL NOT NULL,
    period_end REAL NOT NULL, config_hash TEXT NOT NULL, format TEXT NOT NULL,
    target TEXT NOT NULL, posted_at REAL NOT NULL,
    PRIMARY KEY (name, subject, period_start, period_end, config_hash, format, target));
"""


@dataclass(frozen=True)
class RunKey:
    """What makes a scheduled report the same report: its name, subject (a model or ``all``),
    period, the configuration's hash and the format."""

    name: str
    subject: str
    period_start: float
    period_end: float
    config_hash: str
    format: str

    def columns(self) -> tuple[str, str, float, float, str, str]:
        return (
            self.name,
            self.subject,
            self.period_start,
            self.period_end,
            self.config_hash,
            self.format,
        )


@dataclass(frozen=True)
class MadeReport:
    """A report made: where it was written and its sha256."""

    key: RunKey
    path: Path
    sha256: str
    made_at: float


_KEY = "name=? AND subject=? AND period_start=? AND period_end=? AND config_hash=? AND format=?"


class ReportRuns:
    """The SQLite record of scheduled reports in ``state_dir`` (created if missing)."""

    def __init__(self, state_dir: str | Path) -> None:
        self.path = Path(state_dir) / FILE_NAME
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(
            str(self.path), isolation_level=None, check_same_thread=False, timeout=10.0
        )
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def last_fire(self, name: str) -> float | None:
        with self._lock:
            row = self._db.execute(
                "SELECT last_fire FROM schedule WHERE name=?", (name,)
            ).fetchone()
        return None if row is None else float(row[0])

    def handled(self, name: str, fire: float) -> None:
        """Every report of the fire at ``fire`` is made and posted."""
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO schedule VALUES (?, ?)", (name, fire))

    def made(self, key: RunKey) -> MadeReport | None:
        with self._lock:
            row = self._db.execute(
                f"SELECT path, sha256, made_at FROM runs WHERE {_KEY}", key.columns()
            ).fetchone()
        return None if row is None else MadeReport(key, Path(row[0]), str(row[1]), float(row[2]))

    def record_made(self, key: RunKey, path: Path, sha256: str, now: float) -> MadeReport:
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (*key.columns(), str(path), sha256, now),
            )
        return MadeReport(key, path, sha256, now)

    def posted(self, key: RunKey, target: str) -> bool:
        with self._lock:
            row = self._db.execute(
                f"SELECT 1 FROM posts WHERE {_KEY} AND target=?", (*key.columns(), target)
            ).fetchone()
        return row is not None

    def record_posted(self, key: RunKey, target: str, now: float) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO posts VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (*key.columns(), target, now),
            )

    def all_made(self) -> list[MadeReport]:
        """Every report made, in the order made (tests, ``fairwatch`` tooling)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT name, subject, period_start, period_end, config_hash, format, path,"
                " sha256, made_at FROM runs ORDER BY made_at, name, subject, period_start"
            ).fetchall()
        return [
            MadeReport(RunKey(*row[:6]), Path(row[6]), str(row[7]), float(row[8])) for row in rows
        ]
