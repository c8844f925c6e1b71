"""Sequential rules: the e-values are valid, the detector's false-alarm guarantee holds, it alarms
on a clear breach and resolves on clear evidence, and its state survives JSON."""

from __future__ import annotations

import math

import numpy as np
import orjson
import pytest

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

SPEC = DetectorSpec(threshold=0.10, clear=0.07, alarm_level=8640.0, resolve_level=288.0)


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
