"""The alert lifecycle as a table: (previous state, observation, now) -> expected state."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alerting.lifecycle import evaluate, expire
from alerting.model import AlertKey, AlertState, Observation

KEY = AlertKey("dp", "credit-v3", "sex", "demographic_parity_difference", "1h")
T = 1_000_000.0


def obs(kind: str, window_end: float = T, for_seconds: float = 0, for_evaluations: int = 0):
    return Observation(
        key=KEY,
        kind=kind,
        window_start=window_end - 3600,
        window_end=window_end,  # type: ignore[arg-type]
        value=0.12,
        for_seconds=for_seconds,
        for_evaluations=for_evaluations,
    )


def state(status: str, **fields) -> AlertState:
    fields.setdefault("last_window_end", T - 3600)
    return AlertState(key=KEY, status=status, **fields)  # type: ignore[arg-type]


# (intent, previous, observation, now, expected status, expected consecutive)
CASES = [
    ("first breach without `for` fires at once", None, obs("breach"), T, "firing", 1),
    (
        "first breach with `for` of 2 windows is pending",
        None,
        obs("breach", for_evaluations=2),
        T,
        "pending",
        1,
    ),
    (
        "second consecutive breaching window fires",
        state("pending", consecutive=1, active_at=T - 3600),
        obs("breach", for_evaluations=2),
        T,
        "firing",
        2,
    ),
    (
        "a revised window (same end) does not count as another evaluation",
        state("pending", consecutive=1, active_at=T - 10, last_window_end=T),
        obs("breach", for_evaluations=2),
        T,
        "pending",
        1,
    ),
    (
        "pending waits for the `for` duration",
        state("pending", consecutive=1, active_at=T - 60),
        obs("breach", for_seconds=300),
        T,
        "pending",
        2,
    ),
    (
        "pending fires once the `for` duration has passed",
        state("pending", consecutive=1, active_at=T - 300),
        obs("breach", for_seconds=300),
        T,
        "firing",
        2,
    ),
    (
        "pending that clears goes back to inactive (nothing was sent)",
        state("pending", consecutive=1, active_at=T - 60),
        obs("clear", for_evaluations=3),
        T,
        "inactive",
        0,
    ),
    (
        "pending in the hysteresis band is no longer breaching",
        state("pending", consecutive=1, active_at=T - 60),
        obs("hold", for_evaluations=3),
        T,
        "inactive",
        0,
    ),
    (
        "insufficient data never counts as a breach and resets pending",
        state("pending", consecutive=2, active_at=T - 60),
        obs("insufficient", for_evaluations=3),
        T,
        "inactive",
        0,
    ),
    (
        "insufficient data never fires an inactive alert",
        None,
        obs("insufficient"),
        T,
        "inactive",
        0,
    ),
    (
        "firing stays firing in the hysteresis band",
        state("firing", consecutive=3, active_at=T - 900, fired_at=T - 600),
        obs("hold"),
        T,
        "firing",
        0,
    ),
    (
        "firing stays firing without enough data",
        state("firing", consecutive=3, active_at=T - 900, fired_at=T - 600),
        obs("insufficient"),
        T,
        "firing",
        0,
    ),
    (
        "firing keeps counting breaching windows",
        state("firing", consecutive=3, active_at=T - 900, fired_at=T - 600),
        obs("breach"),
        T,
        "firing",
        4,
    ),
    (
        "firing resolves only below the clear threshold",
        state("firing", consecutive=3, active_at=T - 900, fired_at=T - 600),
        obs("clear"),
        T,
        "resolved",
        0,
    ),
    (
        "resolved that breaches again starts a new episode (pending)",
        state("resolved", fired_at=T - 600, resolved_at=T - 60),
        obs("breach", for_evaluations=2),
        T,
        "pending",
        1,
    ),
    (
        "resolved stays resolved while clear",
        state("resolved", fired_at=T - 600, resolved_at=T - 60),
        obs("clear"),
        T,
        "resolved",
        0,
    ),
]


@pytest.mark.parametrize(
    ("previous", "observation", "now", "status", "consecutive"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_transition(previous, observation, now, status, consecutive) -> None:
    new = evaluate(previous, observation, now)
    assert new.status == status
    assert new.consecutive == consecutive
    assert new.last == observation
    assert new.updated_at == now


HOUR, FIVE_MINUTES = 3600.0, 300.0
B, H = "breach", "hold"
# (intent, window size, for_evaluations, for_windows, kinds of evaluations 5 minutes apart (an
# hour apart for tumbling windows), statuses expected after each)
FOR_CASES = [
    (
        "`2 evaluations` on a 1h/5m window: the second, overlapping window fires",
        HOUR,
        2,
        0,
        [B, B],
        ["pending", "firing"],
    ),
    (
        "`2 windows` on a 1h/5m window: the breach must hold until a window that does not overlap",
        HOUR,
        0,
        2,
        [B] * 13,
        ["pending"] * 12 + ["firing"],
    ),
    (
        "a window that does not breach in between starts the count again",
        HOUR,
        0,
        2,
        [B] * 6 + [H] + [B] * 13,
        ["pending"] * 6 + ["inactive"] + ["pending"] * 12 + ["firing"],
    ),
    (
        "`3 windows`: three windows of distinct data",
        HOUR,
        0,
        3,
        [B] * 25,
        ["pending"] * 24 + ["firing"],
    ),
    (
        "tumbling windows: windows and evaluations count alike",
        FIVE_MINUTES,
        0,
        2,
        [B, B],
        ["pending", "firing"],
    ),
]


@pytest.mark.parametrize(
    ("size", "for_evaluations", "for_windows", "kinds", "statuses"),
    [case[1:] for case in FOR_CASES],
    ids=[case[0] for case in FOR_CASES],
)
def test_for_counts_evaluations_or_windows_that_do_not_overlap(
    size, for_evaluations, for_windows, kinds, statuses
) -> None:
    current: AlertState | None = None
    seen = []
    for index, kind in enumerate(kinds):
        end = T + index * FIVE_MINUTES
        observation = replace(
            obs(kind, end, for_evaluations=for_evaluations),
            window_start=end - size,
            for_windows=for_windows,
        )
        current = evaluate(current, observation, end)
        seen.append(current.status)
    assert seen == statuses


def test_a_revised_window_does_not_add_a_window() -> None:
    first = evaluate(None, replace(obs("breach", T), for_windows=2), T)
    again = evaluate(first, replace(obs("breach", T), for_windows=2), T + 60)
    assert (again.status, again.distinct_windows) == ("pending", 1)


def test_timestamps_of_an_episode() -> None:
    pending = evaluate(None, obs("breach", T, for_evaluations=2), T)
    assert (pending.active_at, pending.fired_at) == (T, None)
    firing = evaluate(pending, obs("breach", T + 3600, for_evaluations=2), T + 3600)
    assert (firing.active_at, firing.fired_at) == (T, T + 3600)
    resolved = evaluate(firing, obs("clear", T + 7200), T + 7200)
    assert (resolved.fired_at, resolved.resolved_at) == (T + 3600, T + 7200)
    again = evaluate(resolved, obs("breach", T + 10800, for_evaluations=2), T + 10800)
    assert (again.status, again.active_at, again.fired_at, again.resolved_at) == (
        "pending",
        T + 10800,
        None,
        None,
    )


def test_recent_windows_keep_the_latest_revision_and_a_bounded_history() -> None:
    current: AlertState | None = None
    for index in range(15):
        current = evaluate(current, obs("breach", T + index * 3600), T + index * 3600)
    assert current is not None
    assert len(current.recent) == 10
    assert current.recent[-1].window_end == T + 14 * 3600
    revised = evaluate(current, replace(obs("clear", T + 14 * 3600), value=0.01), T + 50_000)
    assert len(revised.recent) == 10
    assert revised.recent[-1].value == 0.01 and revised.recent[-1].kind == "clear"


def test_state_round_trips_through_json() -> None:
    firing = evaluate(None, replace(obs("breach"), ci=(0.1, 0.14), groups=({"group": "a"},)), T)
    assert AlertState.from_json(firing.to_json()) == firing


@pytest.mark.parametrize(
    ("status", "resolved_at", "now", "expired"),
    [
        ("resolved", T, T + 899, False),  # kept so receivers still see the resolve
        ("resolved", T, T + 900, True),  # retention over
        ("firing", None, T + 10**6, False),  # firing alerts are never forgotten
    ],
)
def test_expire(status, resolved_at, now, expired) -> None:
    assert expire(state(status, resolved_at=resolved_at), now, 900) is expired


def test_fingerprint_is_stable_and_distinguishes_instances() -> None:
    assert (
        KEY.fingerprint
        == AlertKey(
            *[getattr(KEY, f) for f in ("rule", "model_id", "attribute", "metric", "window")]
        ).fingerprint
    )
    # pinned: a fingerprint that changed between versions would re-page every firing alert
    assert KEY.fingerprint == "5bf612e8d29b2566"
    others = {
        replace(KEY, model_id="other").fingerprint,
        replace(KEY, group="female").fingerprint,
        replace(KEY, window="1d").fingerprint,
        replace(KEY, kind="low_volume").fingerprint,
    }
    assert KEY.fingerprint not in others and len(others) == 4


# Invariants over arbitrary sequences of observations --------------------------------------

KINDS = st.sampled_from(["breach", "hold", "clear", "insufficient"])


@settings(max_examples=300, deadline=None)
@given(
    steps=st.lists(st.tuples(KINDS, st.booleans()), min_size=1, max_size=40),
    for_evaluations=st.integers(0, 4),
    for_seconds=st.sampled_from([0.0, 1800.0, 7200.0]),
)
def test_lifecycle_invariants(steps, for_evaluations, for_seconds) -> None:
    current: AlertState | None = None
    window_end, now, trailing = T, T, 0
    for kind, new_window in steps:
        if new_window or current is None:
            window_end += 3600
        now += 3600
        previous = current
        current = evaluate(
            previous,
            obs(kind, window_end, for_seconds=for_seconds, for_evaluations=for_evaluations),
            now,
        )
        before = previous.status if previous else "inactive"
        if kind == "breach":
            trailing = trailing + 1 if (new_window or previous is None) else max(trailing, 1)
        else:
            trailing = 0
        assert current.consecutive == trailing
        assert current.distinct_windows == trailing  # tumbling: windows never overlap
        if kind == "insufficient":  # never a breach: it can only keep or end a state
            assert current.status in {"inactive", "resolved", "firing"}
            assert current.status != "firing" or before == "firing"
        if before == "firing":  # only a clear observation ends a firing alert
            assert current.status == ("resolved" if kind == "clear" else "firing")
        if current.status == "firing":
            assert current.fired_at is not None and current.active_at is not None
            assert current.active_at <= current.fired_at
            if before != "firing":  # it just fired: `for` was honoured
                assert current.consecutive >= for_evaluations
                assert now - current.active_at >= for_seconds
        if current.status == "pending":
            assert kind == "breach" and current.fired_at is None
