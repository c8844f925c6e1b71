"""Benchmark of ``fairwatch backtest``: a generated 30-day stream through the real command.

The stream has one model and two groups; every 5 minutes each group gets 50 predictions and
the 50 labels of earlier ones (arriving 10 minutes after their prediction), so 30 days hold
1,728,000 events. The windows are ``1h/5m`` and the rule is
``demographic_parity_difference > 0.10`` (for 2 evaluations, clearing below 0.05); group B's
selection rate drops for a few hours on two days, so the rule fires and resolves twice. Prints
the generation time, then the command's wall time, its CPU time (the wall time is longer on a
busy machine) and events per second (median of ``--rounds``; the first round includes importing
the pipeline).

    .venv/bin/python bench/bench_backtest.py [--days 30] [--rounds 1] [--profile FILE]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fairwatch.backtest.stream import START, Drift, make_events, write_jsonl  # noqa: E402

DAY = 86400.0
CONFIG = """\
sensitive: {attributes: [group]}
windows: [1h/5m]
allowed_lateness: 1m
embedded_sink: {path: unused.sqlite}
alerting:
  rules:
    - name: selection-parity
      condition: demographic_parity_difference > 0.10
      clear_threshold: 0.05
      for: 2 evaluations
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=float, default=30.0)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--profile", metavar="FILE", help="write a cProfile of the last round")
    args = parser.parse_args()

    from fairwatch.cli import main as fairwatch

    with tempfile.TemporaryDirectory(prefix="bench-backtest-") as directory:
        folder = Path(directory)
        started = time.perf_counter()
        drifts = [
            Drift(START + day * DAY + 10 * 3600, START + day * DAY + 14 * 3600, "B", 0.3)
            for day in (7, 21)
            if day < args.days
        ]
        events = make_events(hours=args.days * 24, per_group=50, drifts=drifts)
        path = write_jsonl(folder / "events.jsonl", (body for _arrival, body in events))
        count = len(events)
        del events
        config = folder / "fairwatch.yaml"
        config.write_text(CONFIG, encoding="utf-8")
        print(
            f"generated {count:,} events over {args.days:g} days "
            f"({path.stat().st_size / 1e6:,.0f} MB JSONL) in {time.perf_counter() - started:.1f}s",
            flush=True,
        )
        seconds = []
        cpu = []
        output = ""
        for round_number in range(args.rounds):
            out = io.StringIO()
            started = time.perf_counter()
            cpu_started = time.process_time()
            command = ["backtest", str(path), "--config", str(config), "--format", "json"]
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
                if args.profile and round_number == args.rounds - 1:
                    import cProfile

                    profiler = cProfile.Profile()
                    code = profiler.runcall(fairwatch, command)
                    profiler.dump_stats(args.profile)
                else:
                    code = fairwatch(command)
            seconds.append(time.perf_counter() - started)
            cpu.append(time.process_time() - cpu_started)
            assert code == 0, code
            output = out.getvalue()
            print(
                f"round {round_number + 1}: {seconds[-1]:.1f}s wall ({cpu[-1]:.1f}s CPU), "
                f"{count / seconds[-1]:,.0f} events/s",
                flush=True,
            )
        report = json.loads(output)
        median = statistics.median(seconds)
        print(
            f"backtest: {count:,} events in {median:.1f}s wall (median of {len(seconds)}; "
            f"{statistics.median(cpu):.1f}s CPU), {count / median:,.0f} events/s; "
            f"{report['summary']['windows_judged']:,} windows "
            f"judged, {len(report['episodes'])} episode(s): "
            + "; ".join(
                f"fired {episode['fired_at']} resolved {episode['resolved_at']}"
                for episode in report["episodes"]
            )
        )


if __name__ == "__main__":
    main()
