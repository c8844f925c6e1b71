"""``fairwatch demo`` end to end: data → model → events → pipeline + alert manager → report.

The pipeline (:class:`monitor.stream.pipeline.Pipeline`), its state store, the embedded sink and the
alert manager are the ones ``fairwatch run`` uses, built from the same configuration schema and
wired on a simulated clock by :func:`fairwatch.simulation.simulated_run` (as for ``fairwatch
backtest``); only the source (records replayed from memory) and the sink (SQLite) are embedded.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alerting.receivers import build_receiver
from fairwatch.demo import dataset, model
from fairwatch.demo.progress import Display
from fairwatch.demo.recorder import WindowRecorder
from fairwatch.demo.replay import encode
from fairwatch.demo.report import ReportData, when, write_report
from fairwatch.demo.scenario import Scenario, simulate
from fairwatch.demo.settings import (
    CLEAR_THRESHOLD,
    FOR_EVALUATIONS,
    METRIC,
    MIN_GROUP_SIZE,
    MODEL_ID,
    THRESHOLD,
    WINDOW,
    DemoOptions,
    config_text,
    monitor_config,
)
from fairwatch.episodes import Episode
from fairwatch.replay import Progress, RecordedEvents
from fairwatch.report.timeseries import Span
from fairwatch.simulation import simulated_run
from monitor.config import config_from_dict
from monitor.sinks.embedded import EmbeddedSink
from monitor.stream.counters import WINDOWS_EVALUATED

STATE_DIR = "demo-state"
OUTPUTS = ("fairwatch.sqlite", "report.html", "report.json")
STATE_FILES = ("state.sqlite", "alerting.sqlite", "lock")


@dataclass
class DemoResult:
    """What a demo run produced."""

    out: Path
    report: Path
    report_json: Path
    database: Path
    scenario: Scenario
    alerts: list[Episode]
    notifications: list[dict[str, Any]]
    final: Progress
    timings: dict[str, float] = field(default_factory=dict)


def prepare(options: DemoOptions, say: Callable[[str], None]) -> tuple[Scenario, dict[str, Any]]:
    """Load the data, train the model and simulate the traffic."""
    started = time.monotonic()
    train_frame, test_frame = dataset.load_adult()
    trained = model.train(train_frame, seed=options.seed)
    scenario = simulate(test_frame, trained, options.scenario())
    facts = {
        "train_rows": len(train_frame),
        "test_rows": len(test_frame),
        "train_accuracy": trained.train_accuracy,
        "prepare_seconds": time.monotonic() - started,
    }
    say(
        f"trained a logistic regression on {len(train_frame):,} Adult rows "
        f"(accuracy {trained.train_accuracy:.3f}); {scenario.prediction_count:,} predictions and "
        f"{scenario.label_count:,} delayed labels to replay ({facts['prepare_seconds']:.1f}s)"
    )
    return scenario, facts


def clean(out: Path) -> None:
    """Remove what an earlier demo run left in ``out``: only the demo's own files, so that
    ``--out`` may point at a directory that holds other things too."""
    state = out / STATE_DIR
    for directory, names in ((out, OUTPUTS), (state, STATE_FILES)):
        for name in names:
            for suffix in ("", "-wal", "-shm", "-journal"):
                (directory / f"{name}{suffix}").unlink(missing_ok=True)
    if state.is_dir() and not any(state.iterdir()):
        state.rmdir()


def run_demo(options: DemoOptions) -> DemoResult:
    """Run the whole demo; returns where everything went and what the alerts did."""
    out = options.out
    out.mkdir(parents=True, exist_ok=True)
    clean(out)
    scenario, facts = prepare(options, lambda text: print(text, flush=True))
    settings = scenario.settings

    raw_config = monitor_config(options)
    config = config_from_dict(raw_config)
    assert config.embedded_sink is not None
    database = Path(config.embedded_sink.path)
    windows = WindowRecorder(METRIC)
    events = scenario.events
    recorded = RecordedEvents.of(
        encode(events, config.kafka.predictions_topic, config.kafka.labels_topic),
        [event.arrival for event in events],
    )
    run = simulated_run(
        config,
        recorded,
        sink=EmbeddedSink(database),
        forward=build_receiver,
        listeners=[windows],
        speed=options.speed,
    )
    display = Display(
        windows, run.episodes, (settings.drift_start, settings.drift_end), live=options.live
    )
    run.episodes.on_transition = lambda now, status, episode: display.announce(
        now, [f"{status} {episode.rule} {episode.name}"]
    )

    def show(progress: Progress) -> None:
        progress.evaluations = int(run.daemon.pipeline.counters.get(WINDOWS_EVALUATED))
        progress.delivered = run.clock.delivered
        display.update(progress)

    run.source.on_progress = show
    started = time.monotonic()
    with display:
        run.run()
        run.source.report([], done=True)
    facts["replay_seconds"] = time.monotonic() - started
    final = display.last or Progress(run.clock.now, 0, 0, 0, 0, 0.0)
    notifications = run.notifications
    alerts = run.episodes.alerts

    data = _report_data(
        options,
        scenario,
        alerts,
        notifications,
        final,
        facts,
        config_text(raw_config),
        run.gate.released,
    )
    reader = EmbeddedSink(database)
    try:
        report, report_json = write_report(out, data, reader)
    finally:
        reader.close()
    return DemoResult(
        out=out,
        report=report,
        report_json=report_json,
        database=database,
        scenario=scenario,
        alerts=alerts,
        notifications=notifications,
        final=final,
        timings={key: value for key, value in facts.items() if key.endswith("_seconds")},
    )


def _report_data(
    options: DemoOptions,
    scenario: Scenario,
    alerts: list[Episode],
    notifications: list[dict[str, Any]],
    final: Progress,
    facts: dict[str, Any],
    config_yaml: str,
    closed_windows: int,
) -> ReportData:
    settings = scenario.settings
    rows = scenario.rows
    drifted = rows[rows["drifted"]]
    harmed = rows[rows[settings.drift_attribute] == settings.drift_group]
    before = harmed[harmed["time"] < settings.drift_start]["decision"].mean()
    during = drifted["decision"].mean() if len(drifted) else float("nan")
    description = (
        f"A logistic regression trained on the UCI Adult training split decides on "
        f"{scenario.prediction_count:,} test-split applicants, replayed as prediction events over "
        f"{settings.days:g} days of event time; the true labels follow as separate events "
        f"{settings.label_delay_median_hours:g} hours later on median (log-normal). Its "
        f"per-group thresholds select every sex × race group at about the same rate. From "
        f"<b>{when(settings.drift_start)}</b> to <b>{when(settings.drift_end)}</b> the decision "
        f"threshold for <b>{settings.drift_attribute}={settings.drift_group}</b> was raised to "
        f"{settings.drift_threshold:g}, cutting that group's selection rate from "
        f"{before:.2f} to {during:.2f}. The monitor ran the same pipeline and alert manager as "
        f"<code>fairwatch run</code> over these events, with the rule "
        f"<code>{METRIC} &gt; {THRESHOLD:g}</code> for {FOR_EVALUATIONS} closed "
        f"{WINDOW} windows, resolving below {CLEAR_THRESHOLD:g}."
    )
    speed = "as fast as possible" if options.speed is None else f"{options.speed:g} events/s"
    fact_rows = [
        (
            "Data",
            f"UCI Adult: {facts['train_rows']:,} training rows, {facts['test_rows']:,} test "
            "rows (vendored, gzip)",
        ),
        ("Model", f"logistic regression, training accuracy {facts['train_accuracy']:.3f}"),
        ("Events", f"{final.predictions:,} predictions, {final.labels:,} labels"),
        ("Event time", f"{when(settings.start)} → {when(settings.end)}"),
        (
            "Windows",
            f"{WINDOW}: {final.evaluations:,} evaluations written (revisions "
            f"included), {closed_windows:,} closed windows judged by the rule",
        ),
        (
            "Rule",
            f"{METRIC} > {THRESHOLD:g} for {FOR_EVALUATIONS} evaluations, clear below "
            f"{CLEAR_THRESHOLD:g}, min group size {MIN_GROUP_SIZE}",
        ),
        (
            "Replay",
            f"{speed}; {facts['replay_seconds']:.1f}s wall (model and data "
            f"{facts['prepare_seconds']:.1f}s)",
        ),
        ("Seed", str(settings.seed)),
        ("Output", str(options.out)),
    ]
    summary = {
        "seed": settings.seed,
        "short": options.short,
        "model_id": MODEL_ID,
        "window": WINDOW,
        "metric": METRIC,
        "threshold": THRESHOLD,
        "clear_threshold": CLEAR_THRESHOLD,
        "start": settings.start,
        "end": settings.end,
        "drift": {
            "attribute": settings.drift_attribute,
            "group": settings.drift_group,
            "start": settings.drift_start,
            "end": settings.drift_end,
            "threshold": settings.drift_threshold,
            "selection_rate_before": float(before),
            "selection_rate_during": float(during),
        },
        "events": {"predictions": final.predictions, "labels": final.labels},
        "evaluations": final.evaluations,
        "closed_windows": closed_windows,
        "timings": {key: value for key, value in facts.items() if key.endswith("_seconds")},
        "detection_delay_hours": _delay(alerts, settings.drift_start, "fired_at"),
        "resolve_delay_hours": _delay(alerts, settings.drift_end, "resolved_at"),
    }
    return ReportData(
        title="fairwatch demo: a bias drift caught on UCI Adult",
        model_id=MODEL_ID,
        window=WINDOW,
        metric=METRIC,
        attributes=("sex", "race"),
        threshold=THRESHOLD,
        clear_threshold=CLEAR_THRESHOLD,
        min_group_size=MIN_GROUP_SIZE,
        start=settings.start,
        end=settings.end,
        drift=Span(settings.drift_start, settings.drift_end, "injected drift"),
        drift_description=description,
        alerts=alerts,
        facts=fact_rows,
        notifications=notifications,
        config_text=config_yaml,
        summary=summary,
        webhook=options.webhook,
    )


def _delay(alerts: list[Episode], since: float, moment: str) -> float | None:
    """Hours from ``since`` to the first ``fired_at``/``resolved_at`` at or after it."""
    found = [
        value
        for alert in alerts
        if (value := getattr(alert, moment)) is not None and value >= since
    ]
    return (min(found) - since) / 3600.0 if found else None
