"""``fairwatch report --config FILE --from T1 --to T2``: a compliance report over a period.

Made from what the daemon of FILE stored (its metrics sink and its alert store); written as one
HTML or JSON file named by its content hash (or to ``--output PATH``, or stdout with ``-``).
The path written is printed on stdout. See docs/reports.md.

Exit status: 0 written, 2 invalid configuration or arguments, 4 the stored data cannot be read.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from fairwatch.commands._config import EXIT_CONFIG, load_or_report

ORDER = 13
EXIT_SOURCE = 4


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "report",
        help="a compliance report over a period, from what the daemon stored",
        description=(
            "Write a compliance report over [--from, --to): for each model and attribute the "
            "verdict of every window that ended in the period, the alerts fired and resolved, "
            "the silences, data quality, label coverage, the configuration's hash and "
            "fairwatch's version. The same stored data give the same bytes; the file is named "
            "by its sha256. See docs/reports.md."
        ),
    )
    parser.add_argument("--config", "-c", required=True, help="the daemon's YAML configuration")
    parser.add_argument(
        "--from", dest="start", required=True, metavar="T1", help="start: 2026-01-05 or RFC 3339"
    )
    parser.add_argument(
        "--to", dest="end", required=True, metavar="T2", help="end (excluded): a date or time"
    )
    parser.add_argument("--model", metavar="M", help="report this model only (default: all)")
    parser.add_argument("--format", choices=("html", "json"), default="html")
    parser.add_argument(
        "--output",
        "-o",
        default=".",
        metavar="DIR|PATH",
        help="a directory (the file is named by its hash; default: .), a file path, or - for "
        "stdout",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from fairwatch.compliance.output import render, write
    from fairwatch.compliance.period import Period, PeriodError, parse_time
    from fairwatch.compliance.sources import SourceError
    from fairwatch.compliance.stores import report_for

    try:
        period = Period(parse_time(args.start, "--from"), parse_time(args.end, "--to"))
    except PeriodError as error:
        print(f"fairwatch report: {error}", file=sys.stderr)
        return EXIT_CONFIG
    config = load_or_report(args.config, secrets=False)
    if config is None:
        return EXIT_CONFIG
    try:
        report = report_for(config, period, args.model)
    except SourceError as error:
        print(f"fairwatch report: {error}", file=sys.stderr)
        return EXIT_SOURCE
    rendered = render(report, args.format)
    if args.output == "-":
        sys.stdout.buffer.write(rendered.content)
        sys.stdout.flush()
        return 0
    target = Path(args.output)
    if args.output.endswith(("/", "\\")):
        target.mkdir(parents=True, exist_ok=True)
    path = write(rendered, target)
    windows = sum(len(s.verdicts) for m in report.models for a in m.attributes for s in a.series)
    alerts = sum(len(m.alerts) for m in report.models)
    print(path)
    print(
        f"fairwatch report: {len(report.models)} model(s), {windows:,} windows, {alerts} "
        f"alert(s), sha256 {rendered.sha256}",
        file=sys.stderr,
    )
    return 0
