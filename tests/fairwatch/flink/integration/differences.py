"""Where the Flink job is documented to differ from the in-process pipeline, case by case.

The conformance cases (``tests/monitor/stream/decode/cases.py``) go through both; every case not
listed here must get the same verdict from both and be counted the same. Each entry says what
each side does with the case, and why SQL cannot do what the decoder does (the list of
docs/scaling.md, "One contract, two decoders", and of :mod:`fairwatch.flink.contract`). The
contract test asserts each entry exactly: a difference that disappears (or changes) fails it,
so that this list, the docs and the code are updated together.
"""

from __future__ import annotations

from dataclasses import dataclass

from tests.monitor.stream.decode.cases import BY_NAME, predict

NAN = "Flink's JSON parser refuses NaN and Infinity literals: the whole value is invalid JSON"
TRAILING = "Flink's JSON functions read the first JSON value and ignore what follows it"
NESTING = "Flink's JSON parser stops at 1,000 levels of nesting (the decoder at 1,024)"
RFC3339 = "RFC 3339 forms beyond the common ones (datetime.fromisoformat reads them; SQL does not)"
JULIAN = "Flink's date functions count days before 1582-10-15 in the Julian calendar"
TOO_LATE = "the job has no retention floor (too_late): its state lives for the label horizon"
DEDUP_AFTER_CLOCK = (
    "the job checks the clock (future_timestamp) before it deduplicates; in-process a duplicate "
    "is dropped first, silently"
)


@dataclass(frozen=True)
class Difference:
    """What each side does with a case: its dead-letter reason (``None``: not dead-lettered)
    and who counts it. ``counted_as``: Flink counts the case (in-process does not) as the
    in-process decoder counts this message; ``uncounted``: in-process counts it, Flink does
    not."""

    why: str
    in_process: str | None
    flink: str | None
    counted_as: bytes | None = None
    uncounted: bool = False

    def __post_init__(self) -> None:
        assert self.in_process != self.flink or self.counted_as or self.uncounted, self


def _same(name: str) -> bytes:
    """The case's own message: the in-process decoder reads it as Flink does."""
    value = BY_NAME[name].value
    assert value is not None
    return value


DIFFERENCES: dict[str, Difference] = {
    "nan-score": Difference(NAN, "non_finite_score", "invalid_json"),
    "infinity-score": Difference(NAN, "non_finite_score", "invalid_json"),
    "nan-score-python-json": Difference(NAN, "non_finite_score", "invalid_json"),
    "label-nan": Difference(NAN, "label_not_binary", "invalid_json"),
    "label-record-nan": Difference(NAN, "label_not_binary", "invalid_json"),
    "timestamp-1e400-score-nan": Difference(NAN, "bad_timestamp", "invalid_json"),
    "timestamp-minus-infinity": Difference(NAN, "bad_timestamp", "invalid_json"),
    "two-objects": Difference(
        TRAILING, "invalid_json", None, counted_as=predict(prediction_id="two")
    ),
    "trailing-text": Difference(
        TRAILING, "invalid_json", None, counted_as=predict(prediction_id="trailing-text")
    ),
    "nested-1001-levels": Difference(NESTING, None, "invalid_json", uncounted=True),
    "nested-1024-levels": Difference(NESTING, None, "invalid_json", uncounted=True),
    "null-attribute": Difference(
        "SQL's JSON functions (JSON_QUERY, JSON_EXISTS) see a null member as absent",
        "wrong_type",
        "missing_attribute",
    ),
    "basic-format": Difference(RFC3339, None, "bad_timestamp", uncounted=True),
    "basic-time": Difference(RFC3339, None, "bad_timestamp", uncounted=True),
    "offset-with-seconds": Difference(RFC3339, None, "bad_timestamp", uncounted=True),
    "week-date": Difference(RFC3339, None, "bad_timestamp", uncounted=True),
    # 1500-01-01 of the Julian calendar is 1500-01-10 of the (proleptic) Gregorian one
    "julian-calendar-date": Difference(
        JULIAN,
        "too_late",
        None,
        counted_as=predict(prediction_id="julian-calendar-date", timestamp="1500-01-10T00:00:00Z"),
    ),
    # 1582-10-10 does not exist in the Julian-then-Gregorian calendar: not a valid time there
    "skipped-gregorian-date": Difference(JULIAN, "too_late", "bad_timestamp"),
    "month-old": Difference(TOO_LATE, "too_late", None, counted_as=_same("month-old")),
    "epoch-1e11-plus-1-ms": Difference(
        TOO_LATE, "too_late", None, counted_as=_same("epoch-1e11-plus-1-ms")
    ),
    "dup-future-second": Difference(DEDUP_AFTER_CLOCK, None, "future_timestamp"),
}
assert set(DIFFERENCES) <= set(BY_NAME), set(DIFFERENCES) - set(BY_NAME)
