"""Live progress of the demo: a compact rich table on a terminal, plain lines otherwise."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import TextIO

from rich.console import Console, Group
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from fairwatch.demo.recorder import WindowRecorder
from fairwatch.episodes import EpisodeRecorder
from fairwatch.replay import Progress

SHOWN_ATTRIBUTES = ("sex", "race")


def stamp(epoch_seconds: float) -> str:
    return datetime.fromtimestamp(epoch_seconds, tz=UTC).strftime("%a %d %b %H:%M")


class Display:
    """Shows :class:`Progress` updates; ``live`` draws a table, else one line per simulated
    ``line_every`` seconds and one per alert transition."""

    def __init__(
        self,
        windows: WindowRecorder,
        alerts: EpisodeRecorder,
        drift: tuple[float, float],
        live: bool | None = None,
        stream: TextIO | None = None,
        line_every: float = 6 * 3600.0,
    ) -> None:
        self.stream = stream or sys.stdout
        self.console = Console(file=self.stream)
        self.live = self.console.is_terminal if live is None else live
        self.windows = windows
        self.alerts = alerts
        self.drift = drift
        self.line_every = line_every
        self._next_line: float | None = None
        self._live: Live | None = None
        self.log: list[str] = []
        self.last: Progress | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    def __enter__(self) -> Display:
        if self.live:
            self._live = Live(
                Text("starting…"), console=self.console, refresh_per_second=8, transient=False
            )
            self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.__exit__(None, None, None)
            self._live = None

    def message(self, text: str) -> None:
        """A line printed above the live table (or plainly)."""
        if self._live is not None:
            self._live.console.print(text)
        else:
            print(text, file=self.stream, flush=True)

    # -- updates -----------------------------------------------------------------------------

    def announce(self, now: float, lines: list[str]) -> None:
        """Alert transitions, printed as they happen."""
        for line in lines:
            entry = f"{stamp(now)}  {line}"
            self.log.append(entry)
            if self._live is not None:
                style = "bold red" if line.startswith("firing") else "bold green"
                self._live.console.print(Text(entry, style=style))
            else:
                self.message(entry)

    def update(self, progress: Progress) -> None:
        self.last = progress
        if self._live is not None:
            self._live.update(self.render(progress))
            return
        if self._next_line is None:
            self._next_line = progress.now
        if progress.now >= self._next_line or progress.done:
            self.message(self.plain(progress))
            while self._next_line <= progress.now:
                self._next_line += self.line_every

    def plain(self, progress: Progress) -> str:
        parts = [
            stamp(progress.now),
            f"events {progress.events}/{progress.total_events}",
            f"windows {self.windows.windows}",
        ]
        groups = self.windows.groups.get("sex", ())
        rates = [f"{group.group} {_rate(group.rates.get('selection_rate'))}" for group in groups]
        if rates:
            parts.append("selection " + " ".join(rates))
        disparity = self.windows.disparities.get("sex")
        if disparity is not None:
            parts.append(f"parity diff {_rate(disparity.value)} ({disparity.status})")
        parts.append(f"alerts firing {self.alerts.firing}")
        return "  ".join(parts)

    def render(self, progress: Progress) -> Group:
        """One line of progress, one of counts, a row per group, one of alerts (fits 80 columns)."""
        in_drift = self.drift[0] <= progress.now < self.drift[1]
        header = Table.grid(padding=(0, 1))
        header.add_row(
            ProgressBar(total=max(1, progress.total_events), completed=progress.events, width=24),
            Text(f"{progress.events:,}/{progress.total_events:,} events"),
            Text(stamp(progress.now), style="bold"),
            Text("drift injected" if in_drift else "", style="bold yellow"),
            Text(f"{progress.wall_seconds:.1f}s", style="dim"),
        )
        counts = Text(
            f"predictions {progress.predictions:,}  labels {progress.labels:,}  "
            f"windows {progress.evaluations:,} ({self.windows.windows:,} closed)  "
            f"notifications {progress.delivered}",
            style="dim",
        )
        table = Table(expand=False, padding=(0, 1), show_edge=False, box=None)
        table.add_column("attribute", style="bold")
        table.add_column("group")
        table.add_column("n", justify="right")
        table.add_column("selection", justify="right")
        table.add_column("parity diff", justify="right")
        table.add_column("status")
        for attribute in SHOWN_ATTRIBUTES:
            groups = sorted(self.windows.groups.get(attribute, ()), key=lambda group: -group.n)
            disparity = self.windows.disparities.get(attribute)
            status = disparity.status if disparity is not None else ""
            style = {"breach": "bold red", "undecided": "yellow", "ok": "green"}.get(status, "dim")
            for index, group in enumerate(groups or [None]):
                first = index == 0
                table.add_row(
                    attribute if first else "",
                    group.group if group is not None else "",
                    f"{group.n:,}" if group is not None else "",
                    _rate(group.rates.get("selection_rate")) if group is not None else "",
                    _rate(disparity.value if disparity is not None else None) if first else "",
                    Text(status.replace("_", " "), style=style) if first else "",
                )
        alerts = Text(
            f"alerts: firing {self.alerts.firing}  fired {len(self.alerts.episodes)}  "
            f"pending {len(self.alerts.pending)}",
            style="bold red" if self.alerts.firing else "",
        )
        return Group(header, counts, Text("latest closed window", style="dim"), table, alerts)


def _rate(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"
