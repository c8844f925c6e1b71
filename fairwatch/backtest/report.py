"""What ``fairwatch backtest`` prints: a table that fits 100 columns, or JSON with sorted keys.

Times are RFC 3339 in UTC (event time). The JSON holds no wall-clock figure and no temporary
path, so the same events and configuration always give byte-identical output.
"""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from fairwatch.backtest.run import BacktestResult
from fairwatch.episodes import Episode

WIDTH = 100
DEAD_LETTERS_SHOWN = 20  # in the table; the JSON lists DEAD_LETTERS_LISTED
DEAD_LETTERS_LISTED = 1000


def rfc3339(epoch: float | None) -> str | None:
    """``2026-01-05T10:26:00Z`` (milliseconds when the time has a fraction of a second)."""
    if epoch is None:
        return None
    spec = "seconds" if float(epoch).is_integer() else "milliseconds"
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec=spec).replace("+00:00", "Z")


def _short_time(epoch: float | None) -> str:
    if epoch is None:
        return "still firing"
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M")


# -- JSON ----------------------------------------------------------------------------------------


def episode_json(episode: Episode) -> dict[str, Any]:
    extremes = episode.extremes
    out: dict[str, Any] = {
        "rule": episode.rule,
        "kind": episode.kind,
        "model_id": episode.model_id,
        "attribute": episode.attribute,
        "group": episode.group,
        "metric": episode.metric,
        "window": episode.window,
        "fingerprint": episode.fingerprint,
        "fired_at": rfc3339(episode.fired_at),
        "resolved_at": rfc3339(episode.resolved_at),
        "still_firing": episode.resolved_at is None,
        "window_end_at_firing": rfc3339(episode.window_end_at_firing),
        "value_at_firing": episode.value_at_firing,
        "ci_at_firing": list(episode.ci_at_firing) if episode.ci_at_firing else None,
        "peak_value": episode.peak_value,
    }
    if extremes is not None:
        out["extremes"] = {
            "rate": extremes.rate,
            "highest": {"group": extremes.highest_group, "rate": extremes.highest_rate},
            "lowest": {"group": extremes.lowest_group, "rate": extremes.lowest_rate},
        }
    return out


def summary_json(result: BacktestResult) -> dict[str, Any]:
    events = result.events
    return {
        "events": {
            "read": len(events),
            "predictions": events.predictions,
            "labels": events.labels,
            "first_event_time": rfc3339(result.start),
            "last_event_time": rfc3339(result.end),
        },
        "accepted": dict(result.accepted),
        "duplicates": dict(result.duplicates),
        "labels_joined": result.labels_joined,
        "late_predictions": result.late_predictions,
        "dead_letters": {
            "total": len(result.dead_letters),
            "by_reason": result.dead_letters_by_reason,
        },
        "windows_judged": result.windows_judged,
        "episodes_by_rule": result.episodes_by_rule,
        "notifications_recorded": dict(result.notifications),
    }


def to_json(result: BacktestResult, config_path: str) -> str:
    events = result.events
    document = {
        "events_file": str(events.path),
        "format": events.format,
        "config": config_path,
        "episodes": [episode_json(episode) for episode in result.episodes],
        "summary": summary_json(result),
        "dead_letters": [
            {
                events.unit: letter.origin,
                "kind": letter.kind,
                "reason": letter.reason,
                "detail": letter.detail,
            }
            for letter in result.dead_letters[:DEAD_LETTERS_LISTED]
        ],
    }
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


# -- table ---------------------------------------------------------------------------------------


def _number(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def _interval(interval: tuple[float, float] | None) -> str:
    return "—" if interval is None else f"{interval[0]:.3f}–{interval[1]:.3f}"


def _extreme(group: str | None, rate: float | None) -> str:
    return "—" if group is None else f"{group} {_number(rate)}"


def _episode_tables(result: BacktestResult) -> list[Table]:
    by_alert: dict[tuple[str, str], list[Episode]] = {}
    for episode in result.episodes:
        by_alert.setdefault((episode.rule, episode.fingerprint), []).append(episode)
    tables = []
    for episodes in by_alert.values():
        first = episodes[0]
        target = first.attribute if first.group is None else f"{first.attribute}={first.group}"
        rate = next((e.extremes.rate for e in episodes if e.extremes and e.extremes.rate), None)
        title = Text.assemble(
            (first.rule, "bold"),
            f"  {first.model_id} · {target} · {first.metric} · {first.window}",
        )
        table = Table(title=title, title_justify="left", box=None, padding=(0, 1))
        table.add_column("fired")
        table.add_column("resolved")
        table.add_column("value", justify="right")
        table.add_column("interval", justify="right")
        table.add_column("peak", justify="right")
        table.add_column(f"highest {rate}" if rate else "highest")
        table.add_column("lowest")
        for episode in episodes:
            extremes = episode.extremes
            table.add_row(
                _short_time(episode.fired_at),
                Text(_short_time(episode.resolved_at), style="bold red")
                if episode.resolved_at is None
                else _short_time(episode.resolved_at),
                _number(episode.value_at_firing),
                _interval(episode.ci_at_firing),
                _number(episode.peak_value),
                _extreme(extremes.highest_group, extremes.highest_rate) if extremes else "—",
                _extreme(extremes.lowest_group, extremes.lowest_rate) if extremes else "—",
            )
        tables.append(table)
    return tables


def _summary_table(result: BacktestResult) -> Table:
    events = result.events
    table = Table(
        title=Text("summary", style="bold"), title_justify="left", box=None, show_header=False
    )
    table.add_column(style="dim")
    table.add_column()
    table.add_row(
        "events read",
        f"{len(events):,} ({events.predictions:,} predictions, {events.labels:,} labels)",
    )
    table.add_row("event time", f"{rfc3339(result.start)} → {rfc3339(result.end)}")
    table.add_row(
        "accepted",
        f"{result.accepted['prediction']:,} predictions, {result.accepted['label']:,} labels "
        f"({result.labels_joined:,} labels joined)",
    )
    duplicates = result.duplicates
    if any(duplicates.values()) or result.late_predictions:
        table.add_row(
            "duplicates, late",
            f"{duplicates['prediction']:,} predictions, {duplicates['label']:,} labels "
            f"ignored; {result.late_predictions:,} late predictions",
        )
    reasons = result.dead_letters_by_reason
    by_reason = ", ".join(f"{reason} {count:,}" for reason, count in reasons.items())
    table.add_row("dead letters", f"{len(result.dead_letters):,}: {by_reason}" if reasons else "0")
    table.add_row("windows judged", f"{result.windows_judged:,}")
    table.add_row(
        "episodes",
        ", ".join(f"{rule} {count}" for rule, count in result.episodes_by_rule.items())
        or "no rules",
    )
    if result.notifications:
        table.add_row(
            "notifications",
            ", ".join(f"{name} {count}" for name, count in result.notifications.items())
            + " (recorded, none sent)",
        )
    return table


def _dead_letter_table(result: BacktestResult) -> Table:
    unit = result.events.unit
    shown = result.dead_letters[:DEAD_LETTERS_SHOWN]
    more = len(result.dead_letters) - len(shown)
    title = (
        f"dead letters (first {len(shown)} of {len(result.dead_letters):,})"
        if more
        else ("dead letters")
    )
    table = Table(title=Text(title, style="bold"), title_justify="left", box=None)
    table.add_column(unit, justify="right")
    table.add_column("kind")
    table.add_column("reason")
    table.add_column("detail", overflow="fold")
    for letter in shown:
        table.add_row(str(letter.origin), letter.kind, letter.reason, letter.detail)
    return table


def to_table(result: BacktestResult, config_path: str, color: bool = False) -> str:
    events = result.events
    stream = io.StringIO()
    console = Console(
        file=stream, width=WIDTH, color_system="standard" if color else None, highlight=False
    )
    console.print(
        Text.assemble(
            ("fairwatch backtest ", "bold"), f"{events.path} ({events.format}) · {config_path}"
        )
    )
    console.print()
    episodes = _episode_tables(result)
    if episodes:
        console.print(Text(f"episodes ({len(result.episodes)})", style="bold"))
        for table in episodes:
            console.print(table)
            console.print()
    else:
        console.print("no alert fired")
        console.print()
    console.print(_summary_table(result))
    if result.dead_letters:
        console.print()
        console.print(_dead_letter_table(result))
    return "".join(line.rstrip() + "\n" for line in stream.getvalue().splitlines())
