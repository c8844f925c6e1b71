"""The notify decision as a table: (notification log entry, group now, now) -> notify? why?"""

from __future__ import annotations

import pytest

from alerting.dedup import GroupView, LogEntry, decide

T = 1_000_000.0
REPEAT = 4 * 3600.0


def entry(firing=(), resolved=(), at=T - 600) -> LogEntry:
    return LogEntry(frozenset(firing), frozenset(resolved), at)


def group(firing=(), resolved=(), send_resolved=True) -> GroupView:
    return GroupView(frozenset(firing), frozenset(resolved), REPEAT, send_resolved)


# (intent, log entry, group, now, notify, reason)
CASES = [
    (
        "a group never notified with something firing is sent",
        None,
        group(firing={"a"}),
        T,
        True,
        "new_group",
    ),
    (
        "a group never notified with only resolved alerts stays quiet (nobody knew)",
        None,
        group(resolved={"a"}),
        T,
        False,
        "nothing_firing",
    ),
    (
        "an alert that was not firing last time is news",
        entry(firing={"a"}),
        group(firing={"a", "b"}),
        T,
        True,
        "new_firing",
    ),
    (
        "the same firing alerts before repeat_interval are not re-sent",
        entry(firing={"a", "b"}),
        group(firing={"a", "b"}),
        T,
        False,
        "unchanged",
    ),
    (
        "fewer firing alerts without a resolve to tell is not news",
        entry(firing={"a", "b"}),
        group(firing={"a"}),
        T,
        False,
        "unchanged",
    ),
    (
        "the same firing alerts after repeat_interval are re-sent",
        entry(firing={"a"}, at=T - REPEAT),
        group(firing={"a"}),
        T,
        True,
        "repeat_interval",
    ),
    (
        "everything that was firing has resolved: send the resolve",
        entry(firing={"a"}),
        group(resolved={"a"}),
        T,
        True,
        "all_resolved",
    ),
    (
        "all resolved is recorded even without send_resolved (to clear the log)",
        entry(firing={"a"}),
        group(resolved={"a"}, send_resolved=False),
        T,
        True,
        "all_resolved",
    ),
    (
        "a resolve already sent is not sent again",
        entry(resolved={"a"}),
        group(resolved={"a"}),
        T,
        False,
        "nothing_firing",
    ),
    (
        "a partial resolve is news when the receiver wants resolves",
        entry(firing={"a", "b"}),
        group(firing={"a"}, resolved={"b"}),
        T,
        True,
        "newly_resolved",
    ),
    (
        "a partial resolve waits for the repeat when the receiver ignores resolves",
        entry(firing={"a", "b"}),
        group(firing={"a"}, resolved={"b"}, send_resolved=False),
        T,
        False,
        "unchanged",
    ),
    (
        "a partial resolve already told is not repeated",
        entry(firing={"a"}, resolved={"b"}),
        group(firing={"a"}, resolved={"b"}),
        T,
        False,
        "unchanged",
    ),
]


@pytest.mark.parametrize(
    ("previous", "view", "now", "notify", "reason"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_decide(previous, view, now, notify, reason) -> None:
    decision = decide(previous, view, now)
    assert (decision.notify, decision.reason) == (notify, reason)
