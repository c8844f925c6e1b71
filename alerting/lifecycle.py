"""The alert lifecycle as a pure transition function (after Prometheus ``rules/alerting.go``).

``evaluate(previous, observation, now) -> new state``::

    inactive ──breach──► pending ──breach held for `for`──► firing ──clear──► resolved
        ▲                  │                                  │  ▲              │
        └── hold/clear/ ───┘            hold / insufficient ──┘  └── breach ────┘
            insufficient               (hysteresis: stays firing)    (new episode)

* ``for`` is a duration (``for_seconds``, measured on ``now`` from the first breaching
  evaluation, as Prometheus does), a count of consecutive breaching evaluations
  (``for_evaluations``, in ``consecutive``) and/or a count of breaching windows that do not
  overlap (``for_windows``, in ``distinct_windows``): a window counts once it starts at or after
  the end of the last one counted, and the breach must hold in every evaluation in between, so
  with a sliding window ``N`` windows are ``N`` windows of distinct data (with a tumbling window
  both counts are equal); when all are zero a breach fires at once.
* A pending alert that stops breaching goes back to inactive: it never sent anything.
* A firing alert resolves only when the value is back beyond the *clear* threshold (``clear``);
  in the hysteresis band (``hold``) or without enough data (``insufficient``) it keeps firing.
* ``insufficient`` never counts as a breach: it resets a pending alert.
* A revised window (same ``window_end`` as the previous observation, e.g. after late labels)
  updates the value but does not count as another consecutive evaluation.
* A sequential rule's observation carries the window's counts (``observation.sequential``): its
  kind is decided here by the alert's detector (``alerting.sequential.judge``), which is part of
  the state: alarm evidence while not firing, resolve evidence while firing. A window the
  detector has seen (a revision) is not used twice: it keeps the previous kind.
"""

from __future__ import annotations

from dataclasses import replace

from alerting.model import AlertState, Observation, WindowPoint
from alerting.sequential import DetectorState, judge

HISTORY_SIZE = 10


def evaluate(previous: AlertState | None, observation: Observation, now: float) -> AlertState:
    """The state of ``observation.key`` after ``observation``, evaluated at ``now``."""
    state = previous or AlertState(key=observation.key, status="inactive")
    new_window = state.last_window_end is None or observation.window_end > state.last_window_end
    observation, detector = _judge(state, observation, new_window)
    breach = observation.kind == "breach"
    distinct_windows, distinct_until = _distinct(state, observation, breach, new_window)
    if not breach:
        consecutive = 0
    elif new_window:
        consecutive = state.consecutive + 1
    else:
        consecutive = max(state.consecutive, 1)
    seen = replace(
        state,
        last=observation,
        recent=_recent(state, observation, new_window),
        updated_at=now,
        last_window_end=max(observation.window_end, state.last_window_end or 0.0),
        consecutive=consecutive,
        distinct_windows=distinct_windows,
        distinct_until=distinct_until,
        detector=detector,
    )

    if state.status in ("inactive", "resolved"):
        if not breach:
            return seen
        pending = replace(
            seen, status="pending", active_at=now, fired_at=None, resolved_at=None, advice=None
        )
        return _maybe_fire(pending, observation, now)

    if state.status == "pending":
        if not breach:
            return replace(seen, status="inactive", active_at=None)
        return _maybe_fire(seen, observation, now)

    # firing: only a clear observation resolves it (hysteresis)
    if observation.kind == "clear":
        return replace(seen, status="resolved", resolved_at=now)
    return seen


def _judge(
    state: AlertState, observation: Observation, new_window: bool
) -> tuple[Observation, DetectorState | None]:
    """A sequential rule's observation judged by the alert's detector (others as they are)."""
    step = observation.sequential
    if step is None:
        return observation, state.detector
    if not new_window:  # its evidence is in the detector already
        kind = state.last.kind if state.last is not None else "insufficient"
        return replace(observation, kind=kind), state.detector
    detector, kind = judge(state.detector, step, firing=state.status == "firing")
    return replace(observation, kind=kind), detector


def _distinct(
    state: AlertState, observation: Observation, breach: bool, new_window: bool
) -> tuple[int, float | None]:
    """Breaching windows in a row that do not overlap, and the end of the last one counted."""
    if not breach:
        return 0, None
    if not new_window:  # a revision: it may start a count, never add to one
        if state.distinct_windows:
            return state.distinct_windows, state.distinct_until
        return 1, observation.window_end
    if state.distinct_until is None or observation.window_start >= state.distinct_until:
        return state.distinct_windows + 1, observation.window_end
    return state.distinct_windows, state.distinct_until  # overlaps the last window counted


def _maybe_fire(state: AlertState, observation: Observation, now: float) -> AlertState:
    active_at = state.active_at if state.active_at is not None else now
    held_long_enough = now - active_at >= observation.for_seconds
    held_often_enough = (
        state.consecutive >= observation.for_evaluations
        and state.distinct_windows >= observation.for_windows
    )
    if held_long_enough and held_often_enough:
        return replace(state, status="firing", fired_at=now)
    return state


def _recent(
    state: AlertState, observation: Observation, new_window: bool
) -> tuple[WindowPoint, ...]:
    points = list(state.recent)
    if not new_window and points and points[-1].window_end == observation.window_end:
        points[-1] = observation.point()
    else:
        points.append(observation.point())
    return tuple(points[-HISTORY_SIZE:])


def expire(state: AlertState, now: float, retention: float) -> bool:
    """Whether a resolved alert may be forgotten: as in Prometheus, resolved alerts are kept for
    ``retention`` so that receivers see the resolve, then dropped."""
    return state.status == "resolved" and now - (state.resolved_at or now) >= retention
