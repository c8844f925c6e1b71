"""Reading one message as a JSON object, leniently where orjson is strict, for the
field-by-field path: what orjson refuses is read again so that the reason can be named."""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

from monitor.stream.decode.reasons import Reason, Reject
from monitor.stream.decode.records import Record

# Deepest nesting of objects and arrays a message may have (orjson's own limit).
MAX_NESTING = 1024


def load_object(record: Record, max_bytes: int) -> dict[str, Any]:
    """The record's value as a JSON object; :class:`Reject` when it is empty, larger than
    ``max_bytes``, not JSON or not an object."""
    raw = record.value
    if not raw:
        raise Reject(Reason.EMPTY, "the message has no value")
    if len(raw) > max_bytes:
        raise Reject(Reason.OVERSIZED, f"{len(raw)} bytes exceed the limit of {max_bytes}")
    try:
        event = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        event = _lenient_loads(raw, str(error))
    if not isinstance(event, dict):
        raise Reject(Reason.NOT_OBJECT, f"expected a JSON object, got {type(event).__name__}")
    return event


def _lenient_loads(raw: bytes, strict_error: str) -> Any:
    """The slow path for what orjson refuses: JSON with NaN/Infinity literals (as written by
    Python's json module) is read so that the score check can name the real problem.

    Everything else orjson refuses stays refused, as ``invalid_json`` with a detail naming the
    problem: bytes that are not UTF-8 (a UTF-16 text, an encoded surrogate), nesting deeper
    than :data:`MAX_NESTING`, a string escape that is a lone UTF-16 surrogate (``"\\ud800"``,
    which has no UTF-8 form and could not be stored). Integers too long for a 64-bit integer
    are read as floats, as orjson reads them (so 10**400 is infinite, never an error).
    """
    try:
        text = raw.decode("utf-8")  # strict: Python's json would take UTF-16 and surrogates
    except UnicodeDecodeError as error:
        raise Reject(
            Reason.INVALID_JSON,
            f"not UTF-8: byte 0x{raw[error.start]:02x} at position {error.start} ({error.reason})",
        ) from None
    if text.count("[") + text.count("{") > MAX_NESTING and _deeper_than(text, MAX_NESTING):
        raise Reject(Reason.INVALID_JSON, f"nested more than {MAX_NESTING:,} levels deep")
    try:
        event = json.loads(text, parse_int=_json_int)
    except RecursionError:
        raise Reject(Reason.INVALID_JSON, "nested too deep to parse") from None
    except ValueError:
        raise Reject(Reason.INVALID_JSON, strict_error[:200]) from None
    if "\\u" in text and _has_lone_surrogate(event):
        raise Reject(
            Reason.INVALID_JSON, "a string holds a lone UTF-16 surrogate escape (no UTF-8 form)"
        )
    return event


def _json_int(text: str) -> int | float:
    """An integer literal as orjson reads it: exact within 64 bits, else a float."""
    return int(text) if len(text) <= 20 else float(text)


# A string (up to its closing quote, or the end of an unterminated one) or a bracket: one scan.
_STRING_OR_BRACKET = re.compile(r'"(?:[^"\\]|\\.)*"?|[\[\]{}]', re.DOTALL)


def _deeper_than(text: str, limit: int) -> bool:
    """Whether objects and arrays nest more than ``limit`` levels (brackets inside strings do
    not count), without parsing: a parser would recurse that deep."""
    depth = 0
    for match in _STRING_OR_BRACKET.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            if depth > limit:
                return True
        elif token in "]}":
            depth -= 1
    return False


def _has_lone_surrogate(value: Any) -> bool:
    """Whether any string (key or value) in a decoded JSON value holds a lone surrogate."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if not item.isascii():
                try:
                    item.encode("utf-8")
                except UnicodeEncodeError:
                    return True
        elif isinstance(item, dict):
            stack.extend(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False
