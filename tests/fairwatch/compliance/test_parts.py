"""The parts of a report, each on data made for it: the period, the configuration's hash, counter
increases over restarts, breach runs and label coverage, alert episodes from the store."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from alerting.model import AlertKey, AlertState, Observation
from alerting.store import AlertStore
from fairwatch.compliance.alerts import episodes
from fairwatch.compliance.confighash import REDACTED, config_hash, normalised
from fairwatch.compliance.model import DisparityVerdict, GroupVerdict, WindowVerdict
from fairwatch.compliance.period import (
    Period,
    PeriodError,
    format_time,
    parse_time,
    previous_period,
    stamp,
)
from fairwatch.compliance.quality import data_quality
from fairwatch.compliance.sources import EmbeddedReader
from fairwatch.compliance.verdicts import breach_runs, coverage
from monitor.config import config_from_dict
from monitor.sinks.embedded import EmbeddedSink
from monitor.stream.counters import EVENTS_CONSUMED, EVENTS_INVALID
from monitor.types import CounterSample

HOUR = 3600.0
MONDAY = parse_time("2026-01-05")


# -- the period --------------------------------------------------------------------------------


def test_times_parse_as_dates_or_rfc3339_in_utc() -> None:
    assert format_time(parse_time("2026-01-05")) == "2026-01-05T00:00:00Z"
    assert parse_time("2026-01-05T06:30:00Z") == MONDAY + 6.5 * HOUR
    assert parse_time("2026-01-05T07:30:00+01:00") == MONDAY + 6.5 * HOUR
    assert parse_time("2026-01-05T06:30:00") == MONDAY + 6.5 * HOUR  # no offset: UTC
    with pytest.raises(PeriodError, match="--to: expected a date"):
        parse_time("next week", "--to")
    with pytest.raises(PeriodError, match="the period is empty"):
        Period(MONDAY, MONDAY)


def test_a_window_belongs_to_the_period_it_ended_in() -> None:
    period = Period(MONDAY, MONDAY + 24 * HOUR)
    assert not period.holds_window(MONDAY)  # its data are from before the period
    assert period.holds_window(MONDAY + HOUR) and period.holds_window(MONDAY + 24 * HOUR)
    assert period.slug == "2026-01-05_2026-01-06"
    assert stamp(MONDAY + 6.5 * HOUR) == "2026-01-05T0630Z"


@pytest.mark.parametrize(
    ("kind", "moment", "start", "end"),
    [
        ("week", "2026-01-12T06:00:00Z", "2026-01-05", "2026-01-12"),  # Monday morning
        ("week", "2026-01-14T12:00:00Z", "2026-01-05", "2026-01-12"),  # mid-week
        ("week", "2026-01-12T00:00:00Z", "2026-01-05", "2026-01-12"),  # the very end
        ("month", "2026-02-01T06:00:00Z", "2026-01-01", "2026-02-01"),
        ("month", "2026-03-15T00:00:00Z", "2026-02-01", "2026-03-01"),  # 28 days
        ("day", "2026-01-01T06:00:00Z", "2025-12-31", "2026-01-01"),
    ],
)
def test_the_previous_period_is_the_last_whole_one(
    kind: str, moment: str, start: str, end: str
) -> None:
    period = previous_period(kind, parse_time(moment))  # type: ignore[arg-type]
    assert (format_time(period.start), format_time(period.end)) == (
        f"{start}T00:00:00Z",
        f"{end}T00:00:00Z",
    )


# -- the configuration's hash ------------------------------------------------------------------

BASE = {"sensitive": {"attributes": ["race"]}, "embedded_sink": {"path": "m.sqlite"}}


def test_the_hash_is_of_the_meaning_not_the_spelling() -> None:
    written = {
        **BASE,
        "windows": ["1h"],
        "alerting": {"rules": [{"name": "r", "condition": "> 0.1", "for": "2 evaluations"}]},
    }
    spelled = {
        "embedded_sink": {"path": "m.sqlite"},
        "alerting": {"rules": [{"for": "2 evals", "condition": "> 0.10", "name": "r"}]},
        "sensitive": {"attributes": ["race"], "intersections": []},
        "allowed_lateness": "10m",  # the default, written out
    }
    assert config_hash(config_from_dict(written)) == config_hash(config_from_dict(spelled))
    changed = {**written, "engine": {"min_group_size": 50}}
    assert config_hash(config_from_dict(changed)) != config_hash(config_from_dict(written))


def test_secrets_are_left_out_and_reports_do_not_count() -> None:
    secret = {
        **BASE,
        "kafka": {"security": {"sasl_plain_password": "hunter2", "security_protocol": "SASL"}},
        "influxdb": {"url": "http://u:pw@influx:8086", "org": "o", "bucket": "b"},
        "alerting": {
            "receivers": [
                {"type": "webhook", "name": "w", "url_env": "HOOK", "headers": {"X-Key": "k1"}}
            ]
        },
    }
    data = normalised(config_from_dict(secret))
    text = repr(data)
    assert "hunter2" not in text and "k1" not in text and ":pw@" not in text
    assert data["kafka"]["security"] == {
        "sasl_plain_password": REDACTED,
        "security_protocol": "SASL",
    }
    assert data["alerting"]["receivers"][0]["url_env"] == "HOOK"  # a name, kept
    other = {**secret, "kafka": {"security": {"sasl_plain_password": "other"}}}
    other["kafka"]["security"]["security_protocol"] = "SASL"
    assert config_hash(config_from_dict(other)) == config_hash(config_from_dict(secret))
    scheduled = {**secret, "reports": [{"name": "weekly"}]}
    assert config_hash(config_from_dict(scheduled)) == config_hash(config_from_dict(secret))


# -- counters over restarts --------------------------------------------------------------------


def _write(sink: EmbeddedSink, time: float, incarnation: str, consumed: float, bad: float) -> None:
    labels = {"instance": "host-a", "incarnation": incarnation}
    sink.write_pipeline(
        [
            CounterSample(EVENTS_CONSUMED.name, consumed, {**labels, "topic": "predictions"}),
            CounterSample(
                EVENTS_INVALID.name, bad, {**labels, "topic": "predictions", "reason": "bad_json"}
            ),
        ],
        time,
    )


def test_counts_over_a_period_add_up_each_process_run(tmp_path: Path) -> None:
    sink = EmbeddedSink(tmp_path / "m.sqlite")
    _write(sink, MONDAY - HOUR, "run-1", 100, 1)  # before the period
    _write(sink, MONDAY + HOUR, "run-1", 150, 4)  # run 1 goes on into the period, then stops
    _write(sink, MONDAY + 5 * HOUR, "run-2", 30, 2)  # restarted: counting from 0 again
    _write(sink, MONDAY + 9 * HOUR, "run-2", 70, 2)
    _write(sink, MONDAY + 24 * HOUR, "run-2", 99, 9)  # at the end: the next period's
    quality = data_quality(EmbeddedReader(sink), Period(MONDAY, MONDAY + 24 * HOUR))
    [consumed] = quality.consumed
    assert (consumed.key, consumed.count) == ("predictions", (150 - 100) + 70)
    assert quality.rejected == (("predictions", "bad_json", (4 - 1) + 2),)
    assert quality.incarnations == 2
    sink.close()


# -- verdicts ----------------------------------------------------------------------------------


def _verdict(end: float, status: str, value: float, n: int = 100) -> WindowVerdict:
    disparity = DisparityVerdict(
        "demographic_parity_difference", None, value, None, 0.1, status, "point"
    )
    groups = (
        GroupVerdict("A", {"n": n, "n_labeled": n // 2, "predicted_positive": n // 4}, {}, {}),
    )
    return WindowVerdict(end - HOUR, end, True, groups, (disparity,))


def test_breach_runs_end_at_a_window_out_of_breach_or_a_missing_one() -> None:
    statuses = ["ok", "breach", "breach", "ok", "breach", None, "breach", "breach"]
    items = [
        (MONDAY + index * HOUR, _verdict(MONDAY + index * HOUR, status, 0.1 * index).disparities[0])
        for index, status in enumerate(statuses)
        if status is not None
    ]
    runs = breach_runs("demographic_parity_difference", items, HOUR)
    assert [(run.first_window_end, run.windows, run.worst_value) for run in runs] == [
        (MONDAY + HOUR, 2, pytest.approx(0.2)),
        (MONDAY + 4 * HOUR, 1, pytest.approx(0.4)),
        (MONDAY + 6 * HOUR, 2, pytest.approx(0.7)),
    ]


def test_coverage_counts_windows_that_do_not_overlap() -> None:
    step = HOUR / 4  # sliding: 1h windows every 15 minutes
    verdicts = [_verdict(MONDAY + HOUR + index * step, "ok", 0.0) for index in range(21)]
    span = coverage(verdicts, HOUR, Period(MONDAY, MONDAY + 6 * HOUR))
    assert span.windows == 6  # ending at 1:00, 2:00, … 6:00
    assert (span.start, span.end) == (MONDAY, MONDAY + 6 * HOUR)
    [group] = span.groups
    assert (group.n, group.n_labeled, group.label_coverage) == (600, 300, 0.5)


# -- alert episodes ----------------------------------------------------------------------------

KEY = AlertKey("parity", "credit", "race", "demographic_parity_difference", "1h")


def _state(
    status: str, fired: float, resolved: float | None = None, value: float = 0.3
) -> AlertState:
    observation = Observation(KEY, "breach", fired - HOUR, fired, value=value)
    return AlertState(
        KEY, status, fired_at=fired, resolved_at=resolved, last=observation, updated_at=fired
    )


def test_episodes_pair_each_fire_with_its_resolve(tmp_path: Path) -> None:
    store = AlertStore(tmp_path / "alerting.sqlite", durable=False)
    first, second = _state("firing", MONDAY), _state("firing", MONDAY + 5 * HOUR, value=0.5)
    store.save_alerts([first], transitions=[first])
    resolved = replace(first, status="resolved", resolved_at=MONDAY + 2 * HOUR, last=None)
    store.save_alerts([resolved], transitions=[resolved])
    store.save_alerts([second], transitions=[second])
    found = episodes(store.alert_history(), store.load_alerts())
    assert [(e.fired_at, e.resolved_at) for e in found] == [
        (MONDAY, MONDAY + 2 * HOUR),
        (MONDAY + 5 * HOUR, None),
    ]
    assert found[0].last is not None and found[0].last.value == 0.3  # the firing window's
    assert found[1].last is not None and found[1].last.value == 0.5
    store.close()


def test_an_episode_from_before_the_history_comes_from_the_current_state() -> None:
    current = _state("resolved", MONDAY, MONDAY + HOUR)
    [found] = episodes([], [current])
    assert (found.fired_at, found.resolved_at, found.last) == (MONDAY, MONDAY + HOUR, None)
