"""``fairwatch audit FILE``: offline fairness audit of a file of decisions (and a CI/CD gate).

Exit codes: 0 audited (gate passed), 1 the gate failed (a check FAIL, or UNDECIDED without
``--allow-insufficient``), 2 bad input.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

ORDER = 20
DEFAULT_MIN_GROUP_SIZE = 30


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "audit",
        help="audit a JSONL, CSV or Parquet file of decisions for group fairness",
        description="Per-group rates with Wilson intervals and disparities with intervals, "
        "from rows with 'prediction' (or 'score'), optional 'label', and sensitive attributes "
        "(columns or a 'sensitive' object). Exit 1 if the gate fails (--fail-on, --min-accuracy, "
        "an explicit --min-group-size), 2 on bad input.",
    )
    parser.add_argument("file", help="input rows (.jsonl, .csv or .parquet)")
    parser.add_argument(
        "--sensitive", required=True, help="comma-separated sensitive attributes, e.g. sex,race"
    )
    parser.add_argument(
        "--intersect",
        action="append",
        default=[],
        metavar="ATTRS",
        help="an intersection of attributes, e.g. sex,race (repeatable)",
    )
    parser.add_argument(
        "--threshold", type=float, default=0.5, help="decision threshold on 'score' (default 0.5)"
    )
    parser.add_argument(
        "--reference",
        action="append",
        default=[],
        metavar="ATTR=GROUP",
        help="reference group for ratios, e.g. sex=Male (default: the most favoured group, "
        "the highest favourable rate among groups with enough rows)",
    )
    parser.add_argument(
        "--favourable-prediction",
        type=int,
        choices=(0, 1),
        default=1,
        help="the decision that is favourable to the person: 1 (approve, default) or 0 "
        "(1 means high risk or deny); ratios of selection rates compare favourable rates",
    )
    parser.add_argument(
        "--features",
        metavar="COLUMNS",
        help="proxy detection: report how strongly each of these columns (comma-separated, or "
        "'all' for every column but the sensitive ones, score, prediction and label) is "
        "associated with each sensitive attribute, and flag proxies",
    )
    parser.add_argument("--format", choices=("table", "json", "html"), default="table")
    parser.add_argument("--output", "-o", help="write the report here instead of stdout")
    parser.add_argument(
        "--fail-on",
        metavar="RULES",
        help="fail (exit 1) when one of these disparities breaches, or cannot be judged "
        "(undecided or not computable) without --allow-insufficient: METRIC, ATTR:METRIC, "
        "METRIC=THRESHOLD, 'all' or 'four_fifths', comma-separated",
    )
    parser.add_argument(
        "--allow-insufficient",
        action="store_true",
        help="let a check that cannot be judged (UNDECIDED: too little evidence) pass the gate",
    )
    parser.add_argument(
        "--min-accuracy",
        type=float,
        metavar="X",
        help="fail when the accuracy overall, or of a group with enough labeled rows, is below X",
    )
    parser.add_argument(
        "--mode",
        choices=("point", "confident"),
        default="confident",
        help="confident (default): the interval decides breach, ok or undecided; point: the "
        "value decides breach or ok",
    )
    parser.add_argument(
        "--min-group-size",
        type=int,
        metavar="N",
        help="rows a group needs in a rate's denominator to take part in its disparities "
        "(default 30; smaller groups are reported and left out); given explicitly, also a gate "
        "check: a group with fewer than N rows fails the gate, named",
    )
    parser.add_argument("--ci-level", type=float, default=0.95)
    parser.add_argument("--max-groups", type=int, default=100, help="groups kept per attribute")
    parser.add_argument(
        "--small-groups",
        choices=("gate", "exclude"),
        help="deprecated and ignored: groups below --min-group-size are always left out of the "
        "disparities they cannot support, and listed as small",
    )
    parser.add_argument(
        "--input-format", choices=("jsonl", "csv", "parquet"), help="override the file extension"
    )
    parser.set_defaults(func=run)


def _split(value: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(part.strip() for part in value.split(",") if part.strip()))


def _references(values: list[str]) -> dict[str, str]:
    from fairwatch.audit.errors import AuditInputError

    references: dict[str, str] = {}
    for value in values:
        for item in value.split(","):
            attribute, separator, group = item.partition("=")
            if not separator or not attribute.strip() or not group.strip():
                raise AuditInputError(f"--reference expects ATTR=GROUP, got {item!r}")
            references[attribute.strip()] = group.strip()
    return references


def run(args: argparse.Namespace) -> int:
    from fairwatch.audit import AuditInputError, AuditOptions, RuleError, run_audit
    from fairwatch.audit.core import parse_intersections
    from fairwatch.audit.fail_on import check_attributes, parse_rules, rule_thresholds, run_gate
    from monitor.engine.evaluate import EngineConfig
    from monitor.engine.groups import intersection_name

    try:
        rules = parse_rules(args.fail_on)
        if args.min_accuracy is not None and not 0.0 <= args.min_accuracy <= 1.0:
            raise RuleError(f"--min-accuracy must lie in [0, 1], got {args.min_accuracy:g}")
        engine = EngineConfig(
            min_group_size=DEFAULT_MIN_GROUP_SIZE
            if args.min_group_size is None
            else args.min_group_size,
            ci_level=args.ci_level,
            mode=args.mode,
            thresholds=rule_thresholds(rules),
            reference_groups=_references(args.reference),
            max_groups=args.max_groups,
            favourable_prediction=args.favourable_prediction,
        )
        options = AuditOptions(
            attributes=_split(args.sensitive),
            intersections=parse_intersections(args.intersect),
            threshold=args.threshold,
            engine=engine,
            input_format=args.input_format,
            features=_split(args.features) if args.features else (),
        )
        check_attributes(
            rules,
            [*options.attributes, *(intersection_name(i) for i in options.intersections)],
        )
        if args.small_groups is not None:
            print(
                "fairwatch audit: note: --small-groups is deprecated and ignored (small groups "
                "are always left out of the disparities they cannot support)",
                file=sys.stderr,
            )
        report = run_audit(args.file, options)
    except (AuditInputError, RuleError, ValueError) as error:
        message = " ".join(str(error).split())
        print(f"fairwatch audit: error: {message}", file=sys.stderr)
        return 2
    gate = None
    if rules or args.min_accuracy is not None or args.min_group_size is not None:
        gate = run_gate(
            report.evaluation.disparities,
            report.evaluation.groups,
            rules,
            mode=engine.mode,
            min_group_size=engine.min_group_size,
            ci_level=engine.ci_level,
            min_accuracy=args.min_accuracy,
            required_group_size=args.min_group_size,
            allow_insufficient=args.allow_insufficient,
        )
    _write(report, args, gate)
    if gate is None:
        return 0
    print(f"fairwatch audit: {gate.headline()}", file=sys.stderr)
    for line in gate.lines():
        print(f"  {line}", file=sys.stderr)
    return 1 if gate.failed else 0


def _write(report: Any, args: argparse.Namespace, gate: Any) -> None:
    if args.format == "table":
        from fairwatch.audit.render_table import render_table

        if args.output:
            with open(args.output, "w", encoding="utf-8") as stream:
                render_table(report, stream)
        else:
            render_table(report, sys.stdout)
        return
    if args.format == "json":
        from fairwatch.audit.render_json import render_json

        text = render_json(report, gate)
    else:
        from fairwatch.audit.render_html import render_html

        text = render_html(report, gate)
    if args.output:
        with open(args.output, "w", encoding="utf-8") as stream:
            stream.write(text)
    else:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
