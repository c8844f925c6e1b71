"""Sequential rules: the e-values are valid, the detector's false-alarm guarantee holds, it alarms
on a clear breach and resolves on clear evidence, its state survives JSON and restarts, the
manager fires and resolves such a rule, and the config refuses what the method cannot judge."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import orjson
import pytest
import yaml

from alerting import AlertManager
from alerting.config import parse_alerting_config
from alerting.errors import ConfigError
from alerting.lifecycle import evaluate
from alerting.model import AlertState
from alerting.rules import observe, step_counts
from alerting.sequential import (
    LAMBDAS,
    DetectorSpec,
    DetectorState,
    SequentialStep,
    advance,
    alarm_statistic,
    judge,
    log_e_values,
    max_lambda,
)
from monitor.engine.results import Disparity, GroupResult, WindowEvaluation

DOCS = Path(__file__).resolve().parents[2] / "docs" / "alerting.md"

SPEC = DetectorSpec(threshold=0.10, clear=0.07, alarm_level=8640.0, resolve_level=288.0)


def sequential_rule(**overrides):
    rule = {
        "name": "dp-seq",
        "selector": {"window": "5m"},
        "condition": "demographic_parity_difference > 0.10",
        "clear_threshold": 0.07,
        "mode": "sequential",
        **overrides,
    }
    return parse_alerting_config({"rules": [rule]}).rules[0]


def step(rate_a: float, rate_b: float, n: int, rng: np.random.Generator) -> SequentialStep:
    counts = (
        ("selection_rate", "a", int(rng.binomial(n, rate_a)), n),
        ("selection_rate", "b", int(rng.binomial(n, rate_b)), n),
    )
    return SequentialStep(SPEC, counts)


# e-values ---------------------------------------------------------------------------------------

# (rate of j, θ, trials of i, trials of j, side): the null's boundary r_i − r_j = θ
BOUNDARY = [
    (0.45, 0.10, 100, 100, 1),
    (0.10, 0.10, 100, 100, 1),
    (0.85, 0.10, 100, 100, 1),
    (0.30, 0.10, 40, 150, 1),
    (0.50, 0.10, 5, 3, 1),
    (0.40, 0.07, 100, 100, -1),
    (0.02, 0.07, 60, 100, -1),
]


def binomial_pmf(n: int, p: float) -> np.ndarray:
    return np.array([math.comb(n, k) * p**k * (1 - p) ** (n - k) for k in range(n + 1)])


@pytest.mark.parametrize(("rate_j", "theta", "n_i", "n_j", "side"), BOUNDARY)
def test_e_values_have_mean_at_most_one_at_the_boundary_exactly(
    rate_j, theta, n_i, n_j, side
) -> None:
    """Summed over every pair of counts: the expectation itself, no sampling error."""
    rate_i = rate_j + theta
    weights = np.outer(binomial_pmf(n_i, rate_i), binomial_pmf(n_j, rate_j))
    log_e = log_e_values(
        np.arange(n_i + 1)[:, None], n_i, np.arange(n_j + 1)[None, :], n_j, theta, LAMBDAS, side
    )
    means = (weights[..., None] * np.exp(log_e)).sum(axis=(0, 1))
    assert np.all(means <= 1.0 + 1e-12), means
    assert np.all(means >= 0.8), means  # little is lost to Jensen's inequality


@pytest.mark.parametrize(("rate_j", "theta", "n_i", "n_j", "side"), BOUNDARY)
def test_e_values_have_mean_at_most_one_at_the_boundary_monte_carlo(
    rate_j, theta, n_i, n_j, side
) -> None:
    rng = np.random.default_rng(20231210)
    draws = 200_000
    successes_i = rng.binomial(n_i, rate_j + theta, draws)
    successes_j = rng.binomial(n_j, rate_j, draws)
    values = np.exp(log_e_values(successes_i, n_i, successes_j, n_j, theta, LAMBDAS, side))
    mean, error = values.mean(axis=0), values.std(axis=0) / math.sqrt(draws)
    assert np.all(mean <= 1.0 + 4 * error), (mean, error)


def test_the_monte_carlo_check_catches_an_invalid_e_value() -> None:
    """Betting against 0.07 on data at the boundary 0.10 (an invalid e-value for θ = 0.10):
    the same check and tolerance fail, so the test above can fail."""
    rng = np.random.default_rng(20231210)
    draws = 200_000
    successes_i = rng.binomial(100, 0.55, draws)
    successes_j = rng.binomial(100, 0.45, draws)
    values = np.exp(log_e_values(successes_i, 100, successes_j, 100, 0.07, LAMBDAS, 1))
    mean, error = values.mean(axis=0), values.std(axis=0) / math.sqrt(draws)
    assert np.all(mean > 1.0 + 4 * error)


def test_every_bet_keeps_wealth_non_negative() -> None:
    for theta in (0.0, 0.1, 0.5, 0.9):
        assert max(LAMBDAS) < max_lambda(theta, 1) and max(LAMBDAS) < max_lambda(theta, -1)


def test_a_pair_without_trials_is_no_bet() -> None:
    assert np.all(log_e_values(0, 0, 5, 10, 0.1, LAMBDAS) == 0.0)


# the detector -------------------------------------------------------------------------------------


def run_length(level: float, theta_bet: float, streams: int = 2000, seed: int = 5) -> float:
    """Mean steps until the detector's alarm on data exactly at the boundary (gap 0.10),
    betting against ``theta_bet``; streams still silent after 10 × level count as 10 × level."""
    rng = np.random.default_rng(seed)
    values = np.zeros((streams, 2, len(LAMBDAS)))
    alarm = np.full(streams, 10 * level)
    silent = np.ones(streams, dtype=bool)
    for index in range(int(10 * level)):
        n_a, n_b = rng.poisson(100, streams), rng.poisson(100, streams)
        a, b = rng.binomial(n_a, 0.55), rng.binomial(n_b, 0.45)
        log_e = np.stack(
            [
                log_e_values(a, n_a, b, n_b, theta_bet, LAMBDAS, 1),
                log_e_values(b, n_b, a, n_a, theta_bet, LAMBDAS, 1),
            ],
            axis=1,
        )
        values = advance(values, log_e)
        fired = silent & (alarm_statistic(values) >= level)
        alarm[fired] = index + 1
        silent &= ~fired
    return float(alarm.mean())


def test_mean_time_to_a_false_alarm_is_at_least_the_level() -> None:
    assert run_length(30.0, theta_bet=0.10) >= 30.0


def test_the_run_length_check_catches_an_invalid_detector() -> None:
    assert run_length(30.0, theta_bet=0.07) < 30.0  # betting against a threshold not tested


def test_alarms_on_a_clear_breach() -> None:
    rng = np.random.default_rng(1)
    state: DetectorState | None = None
    kinds = []
    for _ in range(36):  # three hours of 5-minute steps at a gap of 0.25
        state, kind = judge(state, step(0.55, 0.30, 100, rng), firing=False)
        kinds.append(kind)
    assert "breach" in kinds
    first = kinds.index("breach")
    assert first < 24 and all(kind == "clear" for kind in kinds[:first])


def test_stays_silent_on_a_clear_non_breach() -> None:
    rng = np.random.default_rng(2)
    state: DetectorState | None = None
    for _ in range(2000):  # a week at a gap of 0.02
        state, kind = judge(state, step(0.42, 0.40, 100, rng), firing=False)
        assert kind == "clear"
    assert state is not None and state.statistic() < 10.0  # the level is 8640


def test_resolves_on_clear_evidence_and_holds_while_the_gap_stays() -> None:
    rng = np.random.default_rng(3)
    state: DetectorState | None = None
    for _ in range(288):  # a day firing with the gap still at 0.10: above the clear threshold
        state, kind = judge(state, step(0.50, 0.40, 100, rng), firing=True)
        assert kind == "hold"
    kinds = []
    for _ in range(72):  # the gap back to 0
        state, kind = judge(state, step(0.40, 0.40, 100, rng), firing=True)
        kinds.append(kind)
    assert "clear" in kinds


def test_a_phase_change_starts_from_nothing() -> None:
    rng = np.random.default_rng(4)
    state, _ = judge(None, step(0.7, 0.3, 100, rng), firing=False)
    assert state.phase == "alarm" and state.steps == 1 and state.statistic() > 0
    resolving, _ = judge(state, step(0.7, 0.3, 100, rng), firing=True)
    assert resolving.phase == "resolve" and resolving.steps == 1
    assert {(arm.rate, arm.high, arm.low) for arm in resolving.arms} == {
        ("selection_rate", "a", "b"), ("selection_rate", "b", "a"),
    }  # fmt: skip


def test_a_step_without_two_groups_is_insufficient_and_changes_nothing() -> None:
    rng = np.random.default_rng(5)
    state, _ = judge(None, step(0.6, 0.3, 100, rng), firing=False)
    lonely = SequentialStep(SPEC, (("selection_rate", "a", 30, 100), ("selection_rate", "b", 0, 0)))
    same, kind = judge(state, lonely, firing=False)
    assert kind == "insufficient" and same == state


def test_a_group_that_appears_later_gets_its_own_arms() -> None:
    rng = np.random.default_rng(6)
    state, _ = judge(None, step(0.4, 0.4, 100, rng), firing=False)
    three = SequentialStep(
        SPEC,
        (
            ("selection_rate", "a", 40, 100),
            ("selection_rate", "b", 40, 100),
            ("selection_rate", "c", 41, 100),
        ),
    )
    state, _ = judge(state, three, firing=False)
    assert len(state.arms) == 6  # every ordered pair of three groups
    assert all(len(arm.values) == len(LAMBDAS) for arm in state.arms)


def test_equalized_odds_bets_on_tpr_and_fpr_together() -> None:
    counts = (
        ("fpr", "a", 10, 100), ("fpr", "b", 12, 100),
        ("tpr", "a", 80, 100), ("tpr", "b", 50, 100),
    )  # fmt: skip
    state, _ = judge(None, SequentialStep(SPEC, counts), firing=False)
    assert {arm.rate for arm in state.arms} == {"tpr", "fpr"} and len(state.arms) == 4


def test_state_round_trips_through_json() -> None:
    rng = np.random.default_rng(7)
    state: DetectorState | None = None
    for _ in range(20):
        state, _ = judge(state, step(0.6, 0.4, 100, rng), firing=False)
    assert state is not None
    assert DetectorState.from_dict(orjson.loads(orjson.dumps(state))) == state
    observed = step(0.5, 0.4, 100, rng)
    assert SequentialStep.from_dict(orjson.loads(orjson.dumps(observed))) == observed


def test_statistic_is_capped_and_finite() -> None:
    values = advance(np.zeros((1, 1)), np.array([[5000.0]]))
    assert np.isfinite(values).all() and values[0, 0] > 1e100


# config -------------------------------------------------------------------------------------------


def test_defaults_convert_durations_to_steps_of_the_window() -> None:
    spec = sequential_rule().detector()
    assert (spec.threshold, spec.clear) == (0.10, 0.07)
    assert (spec.alarm_level, spec.resolve_level) == (144.0, 288.0)  # 12h and 1d of 5m steps


def test_monitors_multiply_the_alarm_level() -> None:
    spec = sequential_rule(arl="7d", resolve_arl="6h", monitors=12, selector={"window": "1h"})
    assert (spec.detector().alarm_level, spec.detector().resolve_level) == (168.0 * 12, 6.0)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"selector": {"window": "1h/5m"}},
         "alerting.rules[0].selector.window: mode sequential needs a tumbling window, so that "
         "each event is counted in one step only, but '1h/5m' slides by 5m over 1h; add a "
         "tumbling window such as '5m' to `windows` and select it"),
        ({"selector": {"window": "*"}},
         "alerting.rules[0].selector.window: mode sequential watches one tumbling window, "
         "named exactly (e.g. 5m), got the pattern '*'"),
        ({"condition": "demographic_parity_ratio < 0.8", "clear_threshold": None},
         "alerting.rules[0].selector.metric: mode sequential watches one difference metric"),
        ({"condition": "> 0.1"}, "alerting.rules[0].selector.metric: mode sequential"),
        ({"condition": "demographic_parity_difference < 0.1", "clear_threshold": None},
         "alerting.rules[0].condition: mode sequential alarms on a difference above"),
        ({"arl": "1m"},
         "alerting.rules[0].arl: must be at least one step of the window (5m), got 1m"),
        ({"clear_threshold": 0},
         "alerting.rules[0].clear_threshold: must be above 0 for mode sequential"),
        ({"mode": "point", "arl": "30d"},
         "alerting.rules[0].arl: applies only to mode: sequential"),
        ({"monitors": 0},
         "alerting.rules[0].monitors: Input should be greater than or equal to 1"),
    ],
)  # fmt: skip
def test_config_refuses_what_the_method_cannot_judge(overrides, message) -> None:
    with pytest.raises(ConfigError) as error:
        sequential_rule(**overrides)
    assert str(error.value).startswith(message), str(error.value)


def test_documented_sequential_example_loads() -> None:
    text = DOCS.read_text(encoding="utf-8")
    match = re.search(r"<!-- sequential-example -->\s*```yaml\n(.*?)```", text, re.DOTALL)
    assert match, "docs/alerting.md must hold the example after <!-- sequential-example -->"
    rules = yaml.safe_load(match.group(1))["rules"]
    receivers = [{"type": "pagerduty", "name": "pagerduty-risk", "routing_key_env": "PD_KEY"}]
    (rule,) = parse_alerting_config({"rules": rules, "receivers": receivers}).rules
    assert rule.mode == "sequential" and rule.detector().alarm_level == 8640.0


# the rule in the manager ----------------------------------------------------------------------

STEP = 300.0
T0 = 1_700_000_000.0


def window(selected: dict[str, int], end: float, n: int = 100) -> WindowEvaluation:
    """One closed 5m window of attribute ``sex``: ``selected`` of ``n`` per group."""
    groups = tuple(
        GroupResult(
            attribute="sex", group=name, n=n, n_labeled=0, predicted_positive=count,
            tp=0, fp=0, tn=0, fn=0, rates={"selection_rate": count / n},
            intervals={"selection_rate": None},
        )
        for name, count in selected.items()
    )  # fmt: skip
    rates = [count / n for count in selected.values()]
    disparity = Disparity(
        attribute="sex", metric="demographic_parity_difference", value=max(rates) - min(rates),
        ci_low=None, ci_high=None, min_group_n=n, status="ok", threshold=0.1,
    )  # fmt: skip
    return WindowEvaluation("credit-v3", "5m", end - STEP, end, groups, (disparity,))


def manager_config(**rule):
    return parse_alerting_config(
        {
            "rules": [
                {
                    "name": "dp-seq",
                    "selector": {"model_id": "credit-*", "attribute": "sex", "window": "5m"},
                    "condition": "demographic_parity_difference > 0.10",
                    "clear_threshold": 0.07,
                    "mode": "sequential",
                    "arl": "1d",  # 288 steps
                    "resolve_arl": "30m",  # 6 steps
                    **rule,
                }
            ]
        }
    )


EVEN = {"female": 40, "male": 40}  # gap 0
WIDE = {"female": 30, "male": 70}  # gap 0.40
# (intent, counts of the window, status after it)
TABLE = [
    ("no gap: no evidence", EVEN, "inactive"),
    ("still none", EVEN, "inactive"),
    ("a wide gap: evidence, not yet enough", WIDE, "inactive"),
    ("the evidence passes the alarm level: fires", WIDE, "firing"),
    ("the gap stays: firing", WIDE, "firing"),
    ("one group only: insufficient, still firing", {"female": 30}, "firing"),
    ("gap back to 0: resolve evidence starts", EVEN, "firing"),
    ("not yet enough", EVEN, "firing"),
    ("enough for every pair: resolved", EVEN, "resolved"),
    ("no gap: stays resolved", EVEN, "resolved"),
    ("a new episode needs new evidence", WIDE, "resolved"),
    ("and fires again", WIDE, "firing"),
]


def test_manager_fires_and_resolves_a_sequential_rule(tmp_path) -> None:
    manager = AlertManager(manager_config(), tmp_path, receivers={})
    statuses = []
    for index, (_intent, counts, _status) in enumerate(TABLE):
        end = T0 + (index + 1) * STEP
        manager.on_evaluations([window(counts, end)], end)
        (state,) = manager.alerts()
        statuses.append(state.status)
    manager.stop()
    assert statuses == [case[2] for case in TABLE], list(zip(TABLE, statuses, strict=True))


def test_a_revised_window_is_not_evidence_twice(tmp_path) -> None:
    manager = AlertManager(manager_config(), tmp_path, receivers={})
    end = T0 + STEP
    for _ in range(5):  # the same window again and again (late labels): one step of evidence
        manager.on_evaluations([window(WIDE, end)], end)
    (state,) = manager.alerts()
    assert state.status == "inactive" and state.detector is not None
    assert state.detector.steps == 1
    manager.stop()


def test_the_detector_survives_a_restart(tmp_path) -> None:
    """Evidence gathered before a restart counts after it: the same firing step as without."""
    first = AlertManager(manager_config(), tmp_path / "restarted", receivers={})
    first.on_evaluations([window(WIDE, T0 + STEP)], T0 + STEP)
    (before,) = first.alerts()
    first.stop()
    second = AlertManager(manager_config(), tmp_path / "restarted", receivers={})
    (after,) = second.alerts()
    assert after == before and after.detector is not None and after.detector.steps == 1
    second.on_evaluations([window(WIDE, T0 + 2 * STEP)], T0 + 2 * STEP)
    (state,) = second.alerts()
    assert state.status == "firing"
    second.stop()


def test_sequential_alert_state_round_trips_through_json() -> None:
    rule = manager_config().rules[0]
    state = None
    for index, counts in enumerate([WIDE, WIDE, EVEN]):
        end = T0 + (index + 1) * STEP
        (observation,) = observe([rule], window(counts, end))
        state = evaluate(state, observation, end)
    assert state is not None and state.status == "firing" and state.detector is not None
    assert state.detector.phase == "resolve" and state.last is not None
    assert state.last.sequential is not None
    assert AlertState.from_json(state.to_json()) == state


def test_observations_carry_the_counts_of_the_metric_rates() -> None:
    rule = sequential_rule(condition="equalized_odds_difference > 0.1")
    group = GroupResult(
        attribute="sex", group="female", n=50, n_labeled=40, predicted_positive=20,
        tp=15, fp=5, tn=12, fn=8, rates={}, intervals={},
    )  # fmt: skip
    assert step_counts("equalized_odds_difference", [group], "sex") == (
        ("tpr", "female", 15, 23), ("fpr", "female", 5, 17),
    )  # fmt: skip
    assert step_counts("equalized_odds_difference", [group], "race") == ()
    assert rule.detector().threshold == 0.1
