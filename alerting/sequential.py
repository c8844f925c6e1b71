"""Sequential, anytime-valid alerting on per-step counts: e-values and an e-detector.

A ``mode: sequential`` rule judges a **tumbling** window's counts once per window (a *step*),
so every event is used once, and keeps evidence across steps in a detector whose false-alarm
rate holds however long it runs and however often it is looked at.

**The e-value of one step** (Chugg et al., *Auditing fairness by betting*, NeurIPS 2023). For an
ordered pair of groups (i, j) and a rate (``RATE_COUNTS``: successes of trials), the null is
``r_i − r_j ≤ θ``. Pair the i-events of the step with its j-events in arrival order; with
``D = y_i − y_j ∈ {−1, 0, 1}`` each pair is a bet with wealth factor ``1 + λ(D − θ)``,
``0 ≤ λ ≤ 1/(1+θ)``, whose mean is ``1 + λ(r_i − r_j − θ) ≤ 1`` under the null, so the product
over the ``m = min(n_i, n_j)`` pairs has mean ≤ 1. Only counts are kept, and with events i.i.d.
within a step, the pairing is uniformly random given them: the conditional mean of the product
given the counts is still an e-value, and by Jensen so is::

    E = exp(m · [P₊ log(1 + λ(1 − θ)) + P₋ log(1 − λ(1 + θ)) + P₀ log(1 − λθ)])

with ``P₊ = r̂_i(1 − r̂_j)``, ``P₋ = (1 − r̂_i) r̂_j``, ``P₀ = 1 − P₊ − P₋`` from the step's
counts (``log_e_values``). Its log-growth under an alternative is about
``m(λ(μ − θ) − λ²Var(D)/2)``: at the best λ, the likelihood-ratio test's. The resolution bets the
other way (``side = -1``): null ``r_i − r_j ≥ θ_clear``, factor ``1 + λ(θ_clear − D)``,
``λ ≤ 1/(1 − θ_clear)``.

**The detector** (Shin, Ramdas and Rinaldo, *E-detectors*). Each *arm* (rate, ordered pair, λ of
``LAMBDAS``) keeps a Shiryaev–Roberts statistic ``M_t = (M_{t−1} + 1)·E_t`` (``advance``): the sum
of the wealth of bets started at every past step, so ``M_t − t`` is a supermartingale under the
null. Their average over the arms is one too (arms that appear later start at 0, and their
weights only shrink), so alarming when the average reaches ``c`` gives a mean time to a false
alarm of at least ``c`` steps, whatever the base rates, their drift and the group sizes, however
long the detector runs; the arms cost one ``log K`` once, not per step. With ``monitors`` alert
instances, alarming at ``monitors · c`` bounds the mean time to the *first* false alarm among all
of them by ``c`` steps.

**Resolution.** While firing, a second detector per (rate, ordered pair) bets that the gap is below
the clear threshold (average over λ); the alert resolves when *every* pair's detector has reached
the resolve level (the minimum over pairs): resolving while some gap is still at or above the
clear threshold takes at least ``resolve_level`` steps on average. Never on one point value.

The detector state (``DetectorState``) is plain data that round-trips through JSON with the alert
state, so it survives restarts. Everything here is a pure function; nothing reads a clock.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import permutations
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

if TYPE_CHECKING:  # alerting.model stores this module's state: import it for types only
    from alerting.model import ObservationKind

Phase = Literal["alarm", "resolve"]
#: One rate's counts of one group in one step: ``(rate, group, successes, trials)``.
StepCount = tuple[str, str, int, int]

#: The bet sizes of every (rate, ordered pair): a grid around the best λ ≈ gap excess / Var(D)
#: (≈ 0.1 for a gap 0.05 past the threshold at rates near 0.5; 0.2 for 0.10 past it).
LAMBDAS: tuple[float, ...] = (0.03, 0.06, 0.12, 0.25)

#: Each rate as ``(successes, trials)``, both sums of a group's confusion counts
#: (``n`` is every prediction, the others are labelled ones).
RATE_COUNTS: Mapping[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "selection_rate": (("predicted_positive",), ("n",)),
    "tpr": (("tp",), ("tp", "fn")),
    "fpr": (("fp",), ("fp", "tn")),
    "fnr": (("fn",), ("tp", "fn")),
    "ppv": (("tp",), ("tp", "fp")),
    "accuracy": (("tp", "tn"), ("tp", "fp", "tn", "fn")),
}

#: The difference metrics a sequential rule can watch, and the rates each compares across groups
#: (equalized odds: TPR and FPR arms together).
METRIC_RATES: Mapping[str, tuple[str, ...]] = {
    "demographic_parity_difference": ("selection_rate",),
    "equalized_odds_difference": ("tpr", "fpr"),
    "equal_opportunity_difference": ("tpr",),
    "predictive_parity_difference": ("ppv",),
    "false_negative_rate_difference": ("fnr",),
    "accuracy_difference": ("accuracy",),
}

# Detector values are capped here (far above any level): a capped statistic is below the uncapped
# one, so the guarantee is kept, and JSON never sees an infinity.
_LOG_CAP = 460.0  # e^460 ≈ 1e200


@dataclass(frozen=True)
class DetectorSpec:
    """A sequential rule's parameters, in steps of its tumbling window.

    ``threshold`` θ (alarm when some gap is above it), ``clear`` θ_clear (resolve when every gap is
    below it), ``alarm_level`` (the rule's ``arl`` in steps × ``monitors``), ``resolve_level``
    (``resolve_arl`` in steps), ``lambdas`` (the bet sizes of each pair).
    """

    threshold: float
    clear: float
    alarm_level: float
    resolve_level: float
    lambdas: tuple[float, ...] = LAMBDAS

    @staticmethod
    def from_dict(raw: Mapping[str, Any]) -> DetectorSpec:
        return DetectorSpec(
            threshold=float(raw["threshold"]),
            clear=float(raw["clear"]),
            alarm_level=float(raw["alarm_level"]),
            resolve_level=float(raw["resolve_level"]),
            lambdas=tuple(float(value) for value in raw["lambdas"]),
        )


@dataclass(frozen=True)
class SequentialStep:
    """What one step (a closed tumbling window) gives a sequential rule's detector: the counts of
    the rates of the rule's metric, per group, and the rule's parameters."""

    spec: DetectorSpec
    counts: tuple[StepCount, ...]

    @staticmethod
    def from_dict(raw: Mapping[str, Any]) -> SequentialStep:
        return SequentialStep(
            spec=DetectorSpec.from_dict(raw["spec"]),
            counts=tuple(
                (str(rate), str(group), int(successes), int(trials))
                for rate, group, successes, trials in raw["counts"]
            ),
        )


@dataclass(frozen=True)
class Arm:
    """One (rate, ordered pair) of a detector: bets that ``rate`` of ``high`` minus that of
    ``low`` is above the threshold (alarm phase) or below the clear threshold (resolve phase);
    ``values`` holds one Shiryaev–Roberts statistic per λ."""

    rate: str
    high: str
    low: str
    values: tuple[float, ...]


@dataclass(frozen=True)
class DetectorState:
    """The evidence of one alert instance: ``phase`` ``alarm`` (not firing: is some gap above the
    threshold?) or ``resolve`` (firing: is every gap below the clear threshold?), ``steps`` judged
    in this phase, and the arms. A phase starts from nothing."""

    phase: Phase = "alarm"
    steps: int = 0
    arms: tuple[Arm, ...] = ()

    def statistic(self) -> float:
        """The alarm phase's average over every arm and λ, or the resolve phase's minimum over
        arms of their average over λ (0 without arms)."""
        if not self.arms:
            return 0.0
        values = np.array([arm.values for arm in self.arms], dtype=float)
        if self.phase == "alarm":
            return float(alarm_statistic(values))
        return float(resolve_statistic(values))

    @staticmethod
    def from_dict(raw: Mapping[str, Any]) -> DetectorState:
        phase = raw.get("phase", "alarm")
        if phase not in ("alarm", "resolve"):
            raise ValueError(f"unknown detector phase {phase!r}")
        return DetectorState(
            phase=phase,
            steps=int(raw.get("steps", 0)),
            arms=tuple(
                Arm(
                    str(arm["rate"]),
                    str(arm["high"]),
                    str(arm["low"]),
                    tuple(float(value) for value in arm["values"]),
                )
                for arm in raw.get("arms") or ()
            ),
        )


def log_e_values(
    successes_i: Any,
    trials_i: Any,
    successes_j: Any,
    trials_j: Any,
    theta: float,
    lambdas: Sequence[float],
    side: int = 1,
) -> np.ndarray:
    """Log e-values of one step for the ordered pair (i, j), one per λ (last axis).

    ``side = 1`` tests ``r_i − r_j ≤ θ`` (bets on ``D − θ``), ``side = -1`` tests
    ``r_i − r_j ≥ θ`` (bets on ``θ − D``); see the module docstring. The count arguments are
    numbers or arrays of one shape (a batch of steps or instances); a pair without trials in
    either group gives 0 (an e-value of 1: no bet).
    """
    n_i = np.asarray(trials_i, dtype=float)
    n_j = np.asarray(trials_j, dtype=float)
    rate_i = np.asarray(successes_i, dtype=float) / np.maximum(n_i, 1.0)
    rate_j = np.asarray(successes_j, dtype=float) / np.maximum(n_j, 1.0)
    pairs = np.minimum(n_i, n_j)
    plus = rate_i * (1.0 - rate_j)
    minus = (1.0 - rate_i) * rate_j
    tie = 1.0 - plus - minus
    bets = side * np.asarray(lambdas, dtype=float)
    growth = (
        plus[..., None] * np.log1p(bets * (1.0 - theta))
        + minus[..., None] * np.log1p(-bets * (1.0 + theta))
        + tie[..., None] * np.log1p(-bets * theta)
    )
    return np.asarray(pairs[..., None] * growth)


def max_lambda(theta: float, side: int = 1) -> float:
    """The largest bet that keeps every wealth factor non-negative."""
    return 1.0 / (1.0 + theta) if side == 1 else 1.0 / (1.0 - theta)


def advance(values: np.ndarray, log_e: np.ndarray) -> np.ndarray:
    """One Shiryaev–Roberts step of each arm: ``M_t = (M_{t−1} + 1)·E_t`` (capped, see _LOG_CAP)."""
    return np.exp(np.minimum(np.log1p(values) + log_e, _LOG_CAP))


def alarm_statistic(values: np.ndarray) -> np.ndarray:
    """The average of the arms' statistics over the last two axes (arms, λ)."""
    return np.asarray(values.mean(axis=(-2, -1)))


def resolve_statistic(values: np.ndarray) -> np.ndarray:
    """The minimum over arms (second to last axis) of their average over λ (last axis)."""
    return np.asarray(values.mean(axis=-1).min(axis=-1))


def judge(
    state: DetectorState | None, step: SequentialStep, firing: bool
) -> tuple[DetectorState, ObservationKind]:
    """The detector after one new step, and what it says.

    Not firing (alarm phase): ``breach`` once the average evidence that some gap is above the
    threshold reaches ``alarm_level``, else ``clear``. Firing (resolve phase): ``clear`` once every
    pair's evidence that its gap is below the clear threshold reaches ``resolve_level``, else
    ``hold``. A phase change starts a fresh detector (after firing, after resolving). A step in
    which no rate has two groups with trials is ``insufficient`` and leaves the state unchanged.
    """
    phase: Phase = "resolve" if firing else "alarm"
    if state is None or state.phase != phase:
        state = DetectorState(phase=phase)
    spec = step.spec
    pairs = _pairs(step.counts)
    if not pairs:
        return state, "insufficient"
    side, theta = (1, spec.threshold) if phase == "alarm" else (-1, spec.clear)
    keys = [(rate, high[0], low[0]) for rate, high, low in pairs]
    log_e = log_e_values(
        np.array([high[1] for _, high, _ in pairs]),
        np.array([high[2] for _, high, _ in pairs]),
        np.array([low[1] for _, _, low in pairs]),
        np.array([low[2] for _, _, low in pairs]),
        theta,
        spec.lambdas,
        side,
    )
    known = {(arm.rate, arm.high, arm.low): arm for arm in state.arms}
    zero = tuple(0.0 for _ in spec.lambdas)
    current = np.array([known[key].values if key in known else zero for key in keys], dtype=float)
    updated = {
        key: tuple(float(value) for value in row)
        for key, row in zip(keys, advance(current, log_e), strict=True)
    }
    arms = []
    for key in sorted(set(known) | set(updated)):
        values = updated.get(key) or known[key].values
        arms.append(Arm(key[0], key[1], key[2], values))
    new = DetectorState(phase=phase, steps=state.steps + 1, arms=tuple(arms))
    statistic = new.statistic()
    if phase == "alarm":
        return new, "breach" if statistic >= spec.alarm_level else "clear"
    return new, "clear" if statistic >= spec.resolve_level else "hold"


def _pairs(
    counts: Iterable[StepCount],
) -> list[tuple[str, tuple[str, int, int], tuple[str, int, int]]]:
    """Every (rate, ordered pair of groups with trials) of one step, in a stable order."""
    by_rate: dict[str, list[tuple[str, int, int]]] = {}
    for rate, group, successes, trials in counts:
        if trials > 0:
            by_rate.setdefault(rate, []).append((group, successes, trials))
    return [
        (rate, high, low)
        for rate in sorted(by_rate)
        for high, low in permutations(sorted(by_rate[rate]), 2)
    ]
