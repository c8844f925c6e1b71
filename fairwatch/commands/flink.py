"""``fairwatch flink render|submit``: the counting tier as an Apache Flink SQL job.

    fairwatch flink render --config fairwatch.yaml [--output job.sql]
    fairwatch flink submit --config fairwatch.yaml [--flink-home DIR] [--jobmanager HOST:PORT]
    fairwatch flink submit --sql job.sql ...

``render`` writes the statement set (stdout without ``--output``); ``submit`` renders (or takes
``--sql``) and runs ``bin/sql-client.sh -f`` against the cluster, printing the job id.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

from fairwatch.commands._config import EXIT_CONFIG, load_or_report

ORDER = 60
EXIT_FAILED = 1


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "flink", help="render or submit the pane-count job for an Apache Flink cluster"
    )
    actions = parser.add_subparsers(dest="flink_command", metavar="ACTION", required=True)
    render = actions.add_parser("render", help="write the Flink SQL job for a configuration")
    _job_arguments(render)
    render.add_argument("--output", "-o", help="write the SQL here (default: stdout)")
    render.set_defaults(func=run_render)
    submit = actions.add_parser("submit", help="submit the job with Flink's SQL client")
    source = submit.add_mutually_exclusive_group(required=True)
    source.add_argument("--config", help="render the job from this fairwatch.yaml")
    source.add_argument("--sql", help="submit this rendered job file as it is")
    _job_arguments(submit, config=False)
    submit.add_argument("--flink-home", help="the Flink distribution (default: $FLINK_HOME)")
    submit.add_argument("--jobmanager", help="HOST:PORT of the cluster's REST endpoint")
    submit.add_argument(
        "--conf-dir", help="Flink configuration directory for the client (FLINK_CONF_DIR)"
    )
    submit.set_defaults(func=run_submit)


def _job_arguments(parser: argparse.ArgumentParser, config: bool = True) -> None:
    from fairwatch.flink.job import (
        DEFAULT_CHECKPOINT_INTERVAL,
        DELIVERY_GUARANTEES,
    )

    if config:
        parser.add_argument("--config", required=True, help="the daemon's configuration file")
    parser.add_argument(
        "--pane-topic",
        help="upsert topic of the pane counts (default: kafka.pane_topic of the configuration)",
    )
    parser.add_argument(
        "--group-id", help="consumer group of the job (default: kafka.group_id + '-flink')"
    )
    parser.add_argument("--parallelism", type=int, help="the job's parallelism")
    parser.add_argument(
        "--checkpoint-interval",
        type=float,
        default=DEFAULT_CHECKPOINT_INTERVAL,
        help="seconds between checkpoints: how long before new counts are visible "
        f"(default {DEFAULT_CHECKPOINT_INTERVAL:g})",
    )
    parser.add_argument(
        "--delivery",
        choices=DELIVERY_GUARANTEES,
        default=DELIVERY_GUARANTEES[0],
        help="Kafka transactions per checkpoint (exactly-once, the default) or not",
    )


def _render(args: argparse.Namespace) -> str | None:
    from fairwatch.flink.job import JobOptions, render
    from fairwatch.flink.tables import RenderError

    config = load_or_report(args.config, secrets=False)
    if config is None:
        return None
    try:
        options = JobOptions(
            pane_topic=args.pane_topic,
            group_id=args.group_id,
            parallelism=args.parallelism,
            checkpoint_interval=args.checkpoint_interval,
            delivery=args.delivery,
        )
        return render(config, options)
    except (RenderError, ValueError) as error:
        print(f"fairwatch: cannot render {args.config} as a Flink job: {error}", file=sys.stderr)
        return None


def run_render(args: argparse.Namespace) -> int:
    text = _render(args)
    if text is None:
        return EXIT_CONFIG
    if args.output:
        Path(args.output).write_text(text)
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def run_submit(args: argparse.Namespace) -> int:
    from fairwatch.flink.submit import Cluster, SubmitError, find_flink_home, submit

    try:
        cluster = Cluster(
            find_flink_home(args.flink_home),
            Path(args.conf_dir) if args.conf_dir else None,
            args.jobmanager,
        )
        if args.sql:
            job_id = submit(Path(args.sql), cluster)
        else:
            text = _render(args)
            if text is None:
                return EXIT_CONFIG
            with tempfile.NamedTemporaryFile("w", suffix=".sql", prefix="fairwatch-") as handle:
                handle.write(text)
                handle.flush()
                job_id = submit(Path(handle.name), cluster)
    except SubmitError as error:
        print(f"fairwatch: {error}", file=sys.stderr)
        return EXIT_FAILED
    print(job_id)
    return 0
