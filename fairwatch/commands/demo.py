"""``fairwatch demo``: the whole monitor on UCI Adult with an injected bias drift, no servers."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

ORDER = 5


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="watch fairwatch catch an injected bias drift on UCI Adult (no servers needed)",
        description=(
            "Train a model on UCI Adult, replay its test-split decisions as prediction and "
            "delayed label events with a drift that harms one group, and run them through the "
            "pipeline and alert manager with an embedded source and sink. Ends with an HTML "
            "report. With --kafka, produce the events into Kafka for `fairwatch run` instead."
        ),
    )
    parser.add_argument(
        "--speed",
        type=_speed,
        default=None,
        metavar="N|max",
        help="replay N events per second of wall time (default: max, as fast as possible)",
    )
    parser.add_argument(
        "--short", action="store_true", help="a small, fast run (6,000 predictions over 2 days)"
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="DIR",
        help="output directory (default: a new temporary directory)",
    )
    parser.add_argument(
        "--webhook",
        metavar="URL",
        default=None,
        help="also send the alert notifications to this generic webhook",
    )
    parser.add_argument(
        "--kafka",
        metavar="BOOTSTRAP",
        default=None,
        help="produce the events to the Kafka topics predictions and labels "
        "instead of running the pipeline here",
    )
    parser.add_argument(
        "--predictions-topic",
        default="predictions",
        metavar="TOPIC",
        help="with --kafka: the predictions topic (default: predictions)",
    )
    parser.add_argument(
        "--labels-topic",
        default="labels",
        metavar="TOPIC",
        help="with --kafka: the labels topic (default: labels)",
    )
    parser.add_argument("--seed", type=int, default=7, help="random seed (default: 7)")
    parser.add_argument(
        "--plain", action="store_true", help="plain progress lines even on a terminal"
    )
    parser.set_defaults(func=run)


def _speed(text: str) -> float | None:
    if text in ("max", "0"):
        return None
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a number of events per second or 'max', got {text!r}"
        ) from None
    if value <= 0:
        raise argparse.ArgumentTypeError("the speed must be positive (or 'max')")
    return value


def run(args: argparse.Namespace) -> int:
    from fairwatch.demo.main import main

    out = args.out or Path(tempfile.mkdtemp(prefix="fairwatch-demo-"))
    return main(
        out=out,
        seed=args.seed,
        short=args.short,
        speed=args.speed,
        webhook=args.webhook,
        kafka=args.kafka,
        live=False if args.plain else None,
        predictions_topic=args.predictions_topic,
        labels_topic=args.labels_topic,
        stream=sys.stdout,
    )
