"""The fast path: typed decoding of a whole batch with msgspec, and event times in columns.

Each decoder checks the contract's shapes in C while it parses (strings present and non-empty,
a non-negative event time, a score in [0, 1], 0/1 decisions and labels, every configured
attribute a string). Anything it refuses goes to the field-by-field path
(:mod:`monitor.stream.decode.fields`), which names the reason (or accepts a rarer form, such as
a label of 1.0).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any, Literal, cast

import msgspec
import numpy as np

from monitor.stream.decode.fields import LATEST_EVENT_TIME, MILLISECONDS_ABOVE
from monitor.stream.decode.json_text import MAX_NESTING

_NonEmpty = Annotated[str, msgspec.Meta(min_length=1)]
_Time = Annotated[float, msgspec.Meta(ge=0)] | str
_Binary = Literal[0, 1] | bool


@functools.lru_cache(maxsize=16)
def prediction_decoder(attributes: tuple[str, ...]) -> msgspec.json.Decoder[Any]:
    """The typed decoder of prediction events whose ``sensitive`` carries ``attributes``."""
    # attribute names need not be identifiers: fields a0, a1, ... are renamed to them
    sensitive: Any = msgspec.defstruct(
        "Sensitive",
        [(f"a{position}", str) for position in range(len(attributes))],
        rename={f"a{position}": name for position, name in enumerate(attributes)},
    )
    if not attributes:
        sensitive = Annotated[dict[str, Any], msgspec.Meta(min_length=1)]
    event = msgspec.defstruct(
        "PredictionEvent",
        [
            ("prediction_id", _NonEmpty),
            ("model_id", _NonEmpty),
            ("timestamp", _Time),
            ("sensitive", sensitive),
            ("score", Annotated[float, msgspec.Meta(ge=0, le=1)] | None, None),
            ("prediction", _Binary | None, None),
            ("label", _Binary | None, None),
        ],
    )
    return msgspec.json.Decoder(event)


LABEL_DECODER: msgspec.json.Decoder[Any] = msgspec.json.Decoder(
    msgspec.defstruct(
        "LabelEvent",
        [("prediction_id", _NonEmpty), ("label", _Binary), ("timestamp", _Time | None, None)],
    )
)


def typed_parse(
    values: Sequence[bytes | None], decoder: msgspec.json.Decoder[Any], max_bytes: int
) -> tuple[list[Any], list[int], list[int]]:
    """Decode every value: the typed events, their record indexes, and the records left to the
    field-by-field path.

    A batch whose values are each one line starting with ``{`` is decoded in one call: no line is
    blank, so each yields at least one value, and as many values as lines means exactly one
    each (events and records correspond one to one). A batch with a bad value, or of another
    form, is decoded value by value.

    Whatever msgspec raises (besides its own errors, ``UnicodeDecodeError`` for bad bytes in a
    string it reads and ``RecursionError`` for deep nesting) only sends the value to the
    field-by-field path, which names the reason. msgspec does not check the UTF-8 of strings
    it skips (unknown fields, attributes not configured), so that is checked here: a message
    is UTF-8 as a whole or rejected, whichever path reads it. Nor does its nesting limit match
    orjson's (it follows Python's recursion limit), so a value that could nest deeper than
    :data:`MAX_NESTING` goes to the field-by-field path too.
    """
    count = len(values)
    if count and all(values):
        present = cast("Sequence[bytes]", values)  # none is None nor empty
        longest = max(map(len, present))
        joined = b"\n".join(present)
        if (
            longest <= max_bytes
            and {value[0] for value in present} == {0x7B}
            and joined.count(b"\n") == count - 1
            and _utf8(joined)
            and (longest <= MAX_NESTING or not any(map(_maybe_too_deep, present)))
        ):
            try:
                events = decoder.decode_lines(joined)
            except Exception:  # any failure at all: decode value by value
                pass
            else:
                if len(events) == count:
                    return events, list(range(count)), []
    events = []
    indexes: list[int] = []
    slow: list[int] = []
    decode = decoder.decode
    for index, raw in enumerate(values):
        if not raw or len(raw) > max_bytes or not _utf8(raw) or _maybe_too_deep(raw):
            slow.append(index)
            continue
        try:
            events.append(decode(raw))
        except Exception:  # the field-by-field path names the reason
            slow.append(index)
            continue
        indexes.append(index)
    return events, indexes, slow


def _maybe_too_deep(raw: bytes) -> bool:
    """Whether a value has enough brackets to nest deeper than :data:`MAX_NESTING`."""
    return len(raw) > MAX_NESTING and raw.count(b"[") + raw.count(b"{") > MAX_NESTING


def _utf8(raw: bytes) -> bool:
    """Whether bytes are UTF-8 (ASCII, the common case, is checked without decoding)."""
    if raw.isascii():
        return True
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def event_seconds(times: list[Any]) -> tuple[np.ndarray, np.ndarray]:
    """Epoch seconds of decoded event times (numbers, RFC 3339 strings, ``None`` → NaN), and
    which of them are strings that did not parse (also NaN)."""
    unparsed = np.zeros(len(times), dtype=bool)
    if str in set(map(type, times)):
        raw = times
        times = [_time_or_nan(t) if type(t) is str else t for t in raw]
        unparsed = np.fromiter(
            (type(r) is str and t != t for r, t in zip(raw, times, strict=True)), bool, len(raw)
        )
    stamp = np.asarray(times, dtype=np.float64)
    # (RFC 3339 strings parse to seconds, always far below the milliseconds cut-off)
    stamp = np.where(stamp > MILLISECONDS_ABOVE, stamp / 1000.0, stamp)
    beyond = stamp >= LATEST_EVENT_TIME
    if beyond.any():  # left to the field-by-field path, which says why
        stamp[beyond] = np.nan
        unparsed |= beyond
    return stamp, unparsed


def event_times(values: Sequence[Any]) -> np.ndarray:
    """Epoch seconds of raw ``timestamp`` values as the decoders read them (numbers, RFC 3339
    strings with an offset), NaN for a value they would reject or a missing one."""
    usable: list[Any] = []
    for value in values:
        kind = type(value)
        if kind is int and not -(2**63) <= value < 2**63:  # beyond any event time
            value = None
        elif kind is not str and kind is not float and kind is not int:
            value = None  # None, booleans, objects
        usable.append(value)
    stamps, _unparsed = event_seconds(usable)
    stamps[~(stamps >= 0)] = np.nan  # negative numbers are not event times either
    return stamps


def _time_or_nan(value: Any) -> float:
    """Seconds from an RFC 3339 string, NaN for anything the fast path leaves to the slow one."""
    if type(value) is not str:
        return math.nan
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return math.nan
    return math.nan if parsed.tzinfo is None else parsed.timestamp()
