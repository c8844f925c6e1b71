"""``fairwatch mitigate FILE``: per-group decision thresholds that meet a fairness constraint.

Exit codes: 0 thresholds found (and reported), 1 no point of the trade-off curve reaches
``--min-accuracy`` (within an explicit ``--tolerance``), 2 bad input.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

ORDER = 21
DEFAULT_MIN_GROUP_SIZE = 30


def register(subparsers: Any) -> None:
    from fairwatch.mitigate.curve import DEFAULT_CURVE_POINTS
    from monitor.engine.thresholds.candidates import CONSTRAINTS, OBJECTIVES

    parser = subparsers.add_parser(
        "mitigate",
        help="per-group score thresholds that meet a fairness constraint, with the trade-off",
        description="Finds deterministic per-group thresholds (score >= threshold → 1) that "
        "keep a disparity within a tolerance at the best accuracy, from rows with 'score', "
        "'label' and the sensitive attribute; reports the thresholds, the engine's before and "
        "after figures with intervals, and the accuracy–fairness trade-off curve. Exit 1 if "
        "--min-accuracy cannot be met, 2 on bad input.",
    )
    parser.add_argument("file", help="input rows (.jsonl, .csv or .parquet)")
    parser.add_argument(
        "--sensitive",
        required=True,
        help="the sensitive attribute, e.g. race (several, comma-separated: their intersection)",
    )
    parser.add_argument(
        "--constraint",
        choices=CONSTRAINTS,
        default="demographic_parity",
        help="what to equalise: selection rates (default), TPR and FPR, or TPR",
    )
    parser.add_argument("--objective", choices=OBJECTIVES, default="accuracy")
    parser.add_argument(
        "--tolerance",
        type=float,
        metavar="T",
        help="the largest disparity allowed (default 0.1, the engine's threshold for differences)",
    )
    parser.add_argument(
        "--min-accuracy",
        type=float,
        metavar="X",
        help="choose the fairest Pareto point of the curve with accuracy >= X (exit 1 if none)",
    )
    parser.add_argument(
        "--threshold",
        type=float,
        default=0.5,
        help="the current decision threshold on 'score', the 'before' (default 0.5)",
    )
    parser.add_argument(
        "--min-group-size",
        type=int,
        default=DEFAULT_MIN_GROUP_SIZE,
        metavar="N",
        help="rows a group needs in a rate's denominator to be compared (default 30); smaller "
        "groups keep --threshold",
    )
    parser.add_argument("--ci-level", type=float, default=0.95)
    parser.add_argument(
        "--curve-points",
        type=int,
        default=DEFAULT_CURVE_POINTS,
        metavar="N",
        help=f"tolerances on the trade-off curve (default {DEFAULT_CURVE_POINTS})",
    )
    parser.add_argument(
        "--no-reference",
        action="store_true",
        help="skip fairlearn's ThresholdOptimizer, the randomised reference",
    )
    parser.add_argument("--format", choices=("table", "json", "html"), default="table")
    parser.add_argument("--output", "-o", help="write the report here instead of stdout")
    parser.add_argument(
        "--input-format", choices=("jsonl", "csv", "parquet"), help="override the file extension"
    )
    parser.set_defaults(func=run)


def _split(value: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(part.strip() for part in value.split(",") if part.strip()))


def run(args: argparse.Namespace) -> int:
    from fairwatch.audit.errors import AuditInputError
    from fairwatch.mitigate.core import MitigationOptions, run_mitigation
    from fairwatch.mitigate.errors import InfeasibleError

    try:
        options = MitigationOptions(
            attributes=_split(args.sensitive),
            constraint=args.constraint,
            objective=args.objective,
            tolerance=args.tolerance,
            min_accuracy=args.min_accuracy,
            threshold=args.threshold,
            min_group_size=args.min_group_size,
            ci_level=args.ci_level,
            curve_points=args.curve_points,
            reference=not args.no_reference,
            input_format=args.input_format,
        )
        report = run_mitigation(args.file, options)
    except InfeasibleError as error:
        print(f"fairwatch mitigate: {' '.join(str(error).split())}", file=sys.stderr)
        return 1
    except (AuditInputError, ValueError) as error:
        message = " ".join(str(error).split())
        print(f"fairwatch mitigate: error: {message}", file=sys.stderr)
        return 2
    _write(report, args)
    return 0


def _write(report: Any, args: argparse.Namespace) -> None:
    if args.format == "table":
        from fairwatch.mitigate.render_table import render_table

        if args.output:
            with open(args.output, "w", encoding="utf-8") as stream:
                render_table(report, stream)
        else:
            render_table(report, sys.stdout)
        return
    if args.format == "json":
        from fairwatch.mitigate.render_json import render_json

        text = render_json(report)
    else:
        from fairwatch.mitigate.render_html import render_html

        text = render_html(report)
    if args.output:
        with open(args.output, "w", encoding="utf-8") as stream:
            stream.write(text)
    else:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
