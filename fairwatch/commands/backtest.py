"""``fairwatch backtest EVENTS --config FILE``: replay a file of events through the pipeline and
the alert rules in event time and print every alert episode (nothing is sent anywhere).

Exit codes: 0 done, 2 invalid configuration or unreadable EVENTS (one line on stderr).
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from fairwatch.commands._config import EXIT_CONFIG, load_or_report

ORDER = 12
EXIT_EVENTS = 2


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "backtest",
        help="replay a file of prediction and label events through the alert rules",
        description=(
            "Replay a JSONL, CSV or Parquet file of prediction and label events (the Kafka event "
            "contract, in arrival order) through the pipeline and the alert rules of the "
            "configuration, in event time: no Kafka, no wall clock, no notification sent. "
            "Prints every alert episode (fired, resolved, value, interval, peak, extremes) and "
            "what happened to the events. See docs/alerting.md, 'Backtesting a rule'."
        ),
    )
    parser.add_argument("events", metavar="EVENTS", help="the events (.jsonl, .csv or .parquet)")
    parser.add_argument(
        "--config", required=True, metavar="FILE", help="the daemon configuration (YAML)"
    )
    parser.add_argument(
        "--format", choices=("table", "json"), default="table", help="output (default: table)"
    )
    parser.add_argument("--out", metavar="FILE", help="write the output here instead of stdout")
    parser.add_argument(
        "--input-format",
        choices=("jsonl", "csv", "parquet"),
        help="read EVENTS as this format (default: from its file name)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from fairwatch.backtest.events_file import EventsFileError, read_events
    from fairwatch.backtest.report import to_json, to_table
    from fairwatch.backtest.run import run_backtest

    # Receivers' secrets are not needed: nothing is sent.
    config = load_or_report(args.config, secrets=False)
    if config is None:
        return EXIT_CONFIG
    started = time.monotonic()
    try:
        events = read_events(args.events, config, args.input_format)
    except EventsFileError as error:
        print(f"fairwatch backtest: cannot use EVENTS: {error}", file=sys.stderr)
        return EXIT_EVENTS
    progress = _Progress(len(events)) if sys.stderr.isatty() else None
    result = run_backtest(config, events, progress)
    if progress is not None:
        progress.done()
    if args.format == "json":
        text = to_json(result, args.config)
    else:
        text = to_table(result, args.config, color=args.out is None and sys.stdout.isatty())
    if args.out:
        with open(args.out, "w", encoding="utf-8") as stream:
            stream.write(text)
    else:
        sys.stdout.write(text)
    seconds = time.monotonic() - started
    print(
        f"fairwatch backtest: {len(events):,} events in {seconds:.1f}s "
        f"({len(events) / max(seconds, 1e-9):,.0f} events/s), "
        f"{len(result.episodes)} episode(s)" + (f", written to {args.out}" if args.out else ""),
        file=sys.stderr,
    )
    return 0


class _Progress:
    """One line on a terminal, rewritten every percent of the events."""

    def __init__(self, total: int) -> None:
        self.total = max(total, 1)
        self.shown = -1

    def __call__(self, progress: Any) -> None:
        percent = progress.events * 100 // self.total
        if percent != self.shown:
            self.shown = percent
            from fairwatch.backtest.report import rfc3339

            print(
                f"\rbacktest: {percent:3d}% of {self.total:,} events, event time "
                f"{rfc3339(progress.now)}",
                end="",
                file=sys.stderr,
                flush=True,
            )

    def done(self) -> None:
        print(file=sys.stderr)
