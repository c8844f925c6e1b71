"""The event contract (docs/events.md) as Flink SQL views: decode, validate, give the reason.

Each topic is read as raw bytes, so that a rejected record can go to the dead-letter topic byte
for byte, and is decoded in a chain of views: the value's text, its size and each field's JSON
fragment (one ``JSON_QUERY ... WITH UNCONDITIONAL ARRAY WRAPPER`` per field), the kind, number
and string each fragment holds (``["x"]`` is a string, ``[1]`` a number, ``[true]`` a boolean,
``[{...}]`` an object, ``[[...]]`` an array), the event time, and the checks, in the decoder's
order (``monitor.stream.decode``), naming the first problem found.

Reasons SQL reproduces as the decoder gives them: ``empty``, ``oversized``, ``invalid_json``
(malformed JSON, bytes that are not UTF-8, a byte order mark, a raw control character in a
string, a lone UTF-16 surrogate escape), ``not_object``, ``missing_field``, ``wrong_type``,
``empty_field``, ``non_finite_score`` (a number beyond any double, such as ``1e400``),
``score_out_of_range``, ``prediction_not_binary``, ``label_not_binary``, ``bad_timestamp``
(epoch seconds or milliseconds, RFC 3339 ``YYYY-MM-DD?HH[:MM[:SS[.fff]]]`` with ``Z`` or
``±HH[[:]MM]``, impossible dates and times), ``unknown_model``, ``missing_attribute`` and
``future_timestamp`` (against the job's wall clock).

What SQL cannot reproduce (the in-process decoder is the reference;
``tests/fairwatch/flink/integration/test_flink_contract.py`` runs the decoder's conformance cases
through both and asserts each of these, case by case, as listed in its ``differences.py``):

- JSON that Flink's parser reads differently: ``NaN``/``Infinity`` literals are ``invalid_json``
  here (``non_finite_score`` in-process); trailing data after the object (``{...} x``) is
  accepted here (the first value is read); nesting limits differ (1,000 levels here, 1,024
  in-process).
- A JSON ``null`` where a sensitive attribute should be is ``missing_attribute`` here
  (``wrong_type`` in-process): SQL's JSON functions do not tell ``null`` from absent.
- RFC 3339 forms beyond the common ones above that Python's ``datetime.fromisoformat`` also
  takes (basic format ``20240501T120000Z``, offsets with seconds, week dates) are
  ``bad_timestamp``; dates before 1582-10-15 are read on the Julian calendar (the days the
  Gregorian reform skipped are ``bad_timestamp``).
- A duplicate ``prediction_id`` ahead of the clock is ``future_timestamp`` here (the clock is
  checked before deduplication); in-process it is dropped as a duplicate.
- ``too_late`` (event time before the watermark minus ``label_horizon``): the job has no
  retention floor of that kind; its state lives for the label horizon (see :mod:`.job`).
- ``decoder_error`` does not exist here: SQL functions return NULL instead of failing.
- The ``fairwatch.detail`` header names the rule broken, not the value that broke it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from fairwatch.flink.sql import double, identifier, in_list, json_path, literal
from monitor.engine.groups import MISSING

ABSENT = ("'absent'", "'null'")
# A lone UTF-16 surrogate escape (not preceded by an odd number of backslashes): a high one
# not followed by a low one, or a low one not preceded by a high one.
_HIGH = r"\\u[dD][89abAB][0-9a-fA-F]{2}"
_LOW = r"\\u[dD][c-fC-F][0-9a-fA-F]{2}"
LONE_SURROGATE = rf"(?<!\\)(?:\\\\)*(?:{_HIGH}(?!{_LOW})|(?<!{_HIGH}){_LOW})"
RFC3339 = (
    r"^([0-9]{4}-[0-9]{2}-[0-9]{2}).([0-9]{2})(?::([0-9]{2})(?::([0-9]{2})(?:[.,]([0-9]*))?)?)?"
    r"(Z|[+-][0-9]{2}(?::?[0-9]{2})?)$"
)
LATEST_EVENT_TIME = 253402300800.0  # monitor.stream.decode.LATEST_EVENT_TIME
MILLISECONDS_ABOVE = 1e11

DETAILS = {
    "empty": "the message has no value",
    "oversized": "the value is larger than pipeline.max_event_bytes",
    "invalid_json": "not UTF-8 JSON",
    "not_object": "expected a JSON object",
    "missing_field": "a required field is absent or null",
    "wrong_type": "a field has the wrong type",
    "empty_field": "prediction_id or model_id is empty",
    "non_finite_score": "score is not finite",
    "score_out_of_range": "score is outside [0, 1]",
    "prediction_not_binary": "prediction must be 0 or 1",
    "label_not_binary": "label must be 0 or 1",
    "bad_timestamp": "timestamp is not RFC 3339 with an offset nor a valid epoch time",
    "unknown_model": "model_id is not configured",
    "missing_attribute": "a sensitive attribute of the config is missing",
    "future_timestamp": "event time is further ahead of the clock than pipeline.max_clock_skew",
}


def computed(expression: str, name: str) -> str:
    """``expression AS name``, computed once per record.

    Flink merges the projections of stacked views and inlines a column wherever it is used,
    so a column read by ten checks would be computed ten times (and the plan grows
    exponentially with the views' depth). It never inlines a non-deterministic column used
    more than once: ``RAND() < 2`` (always true) makes each column a barrier of that kind.
    """
    return f"CASE WHEN RAND() < 2 THEN {expression} END AS {name}"


@dataclass(frozen=True)
class Field:
    """A JSON member the views read: its column prefix and path; ``text`` also reads it as a
    string (``JSON_VALUE``)."""

    column: str
    path: tuple[str, ...]
    text: bool = False


def fields_view(name: str, source: str) -> str:
    """The value's text when it is UTF-8."""
    columns = [
        "record_key",
        "record_value",
        "source_partition",
        "source_offset",
        "arrived",
        computed(
            "CASE WHEN ENCODE(CAST(record_value AS STRING), 'UTF-8') = record_value "
            "THEN CAST(record_value AS STRING) END",
            "value_text",
        ),
    ]
    return _view(name, columns, source)


def value_bytes(max_event_bytes: int) -> str:
    """The value's size as the checks need it: its character count when that decides the same
    (``c`` characters of UTF-8 hold 1 to 4·``c`` bytes, so 0 and at most ``max_event_bytes / 4``
    characters say empty and small enough), else the bytes counted from its base64 form."""
    base64 = "TO_BASE64(record_value)"
    exact = (
        f"CHAR_LENGTH({base64}) / 4 * 3 - "
        f"(CHAR_LENGTH({base64}) - CHAR_LENGTH(TRIM(TRAILING '=' FROM {base64})))"
    )
    return computed(
        "CASE WHEN record_value IS NULL THEN 0 "
        f"WHEN value_text IS NOT NULL AND CHAR_LENGTH(value_text) <= {int(max_event_bytes) // 4} "
        f"THEN CHAR_LENGTH(value_text) ELSE {exact} END",
        "value_bytes",
    )


def kinds_view(name: str, source: str, fields: Sequence[Field], max_event_bytes: int) -> str:
    """The value's size, whether it is a JSON object, and each field's JSON fragment.

    Each JSON function parses the whole value again, so the views call as few as they can: one
    ``IS JSON OBJECT``, one ``JSON_QUERY`` per field (its fragment gives the field's kind, number
    and string), and ``IS JSON`` only for a value that is not an object (:func:`typed_view`)."""
    columns = [
        "*",
        value_bytes(max_event_bytes),
        computed("value_text IS JSON OBJECT", "is_object"),
        computed(
            f"POSITION('\\u' IN value_text) > 0 AND REGEXP(value_text, {literal(LONE_SURROGATE)})",
            "lone_surrogate",
        ),
    ]
    for field in fields:
        path = json_path(*field.path)
        fragment = (
            f"JSON_QUERY(value_text, {path} WITH UNCONDITIONAL ARRAY WRAPPER "
            "NULL ON EMPTY NULL ON ERROR)"
        )
        columns.append(computed(fragment, f"{field.column}_json"))
    return _view(name, columns, source)


def typed_view(name: str, source: str, fields: Sequence[Field]) -> str:
    """JSON validity, each field's kind and number, and the string of a ``text`` field."""
    columns = [
        "*",
        computed("CASE WHEN is_object THEN TRUE ELSE value_text IS JSON END", "is_json"),
    ]
    for field in fields:
        fragment = f"{field.column}_json"
        first = f"SUBSTRING({fragment} FROM 2 FOR 1)"
        kind = (
            f"CASE WHEN {fragment} IS NULL THEN 'absent' ELSE "
            f"CASE {first} WHEN '\"' THEN 'string' "
            "WHEN 't' THEN 'boolean' WHEN 'f' THEN 'boolean' WHEN 'n' THEN 'null' "
            "WHEN '{' THEN 'object' WHEN '[' THEN 'array' ELSE 'number' END END"
        )
        columns.append(computed(kind, f"{field.column}_kind"))
        inner = f"SUBSTRING({fragment} FROM 2 FOR CHAR_LENGTH({fragment}) - 2)"
        columns.append(computed(f"TRY_CAST({inner} AS DOUBLE)", f"{field.column}_number"))
        if field.text:  # a string fragment is the string as the parser wrote it back: unquote
            text = f"CASE WHEN {first} = '\"' THEN JSON_UNQUOTE({inner}) END"
            columns.append(computed(text, f"{field.column}_text"))
    return _view(name, columns, source)


def event_time_views(name: str, source: str, timestamp: str) -> list[str]:
    """``event_time`` in epoch seconds as the decoder reads it, NULL when it would refuse it
    (three views: the pieces of an RFC 3339 time, their values, then the time)."""
    pattern = literal(RFC3339)
    parts = ("date", "hour", "minute", "second", "fraction", "offset")
    split = ["*"] + [
        computed(f"REGEXP_EXTRACT({timestamp}_text, {pattern}, {group})", f"time_{part}")
        for group, part in enumerate(parts, start=1)
    ]
    local = (
        "time_date || ' ' || time_hour || ':' || COALESCE(NULLIF(time_minute, ''), '00') || ':' "
        "|| COALESCE(NULLIF(time_second, ''), '00')"
    )
    pieces = [
        "*",
        computed(local, "time_local"),
        computed(f"UNIX_TIMESTAMP({local}, 'yyyy-MM-dd HH:mm:ss')", "time_seconds"),
        computed("TRY_CAST(SUBSTRING(time_offset FROM 2 FOR 2) AS INT)", "offset_hours"),
        computed(
            "CASE WHEN CHAR_LENGTH(time_offset) > 3 THEN TRY_CAST(RIGHT(time_offset, 2) AS INT) "
            "ELSE 0 END",
            "offset_minutes",
        ),
    ]
    offset = (
        "CASE WHEN time_offset = 'Z' THEN 0 ELSE "
        "(CASE WHEN LEFT(time_offset, 1) = '-' THEN -1 ELSE 1 END) * "
        "(offset_hours * 3600 + offset_minutes * 60) END"
    )
    micros = "CAST(RPAD(COALESCE(SUBSTRING(time_fraction FROM 1 FOR 6), ''), 6, '0') AS BIGINT)"
    from_text = (
        "CASE WHEN time_date IS NOT NULL "
        "AND FROM_UNIXTIME(time_seconds, 'yyyy-MM-dd HH:mm:ss') = time_local "
        "AND (time_offset = 'Z' OR (offset_hours < 24 AND offset_minutes < 60)) "
        f"THEN CAST((time_seconds - {offset}) * 1000000 + {micros} AS DOUBLE) / "
        "CAST(1000000 AS DOUBLE) END"
    )
    number = f"{timestamp}_number"
    in_seconds = f"CASE WHEN {number} > 1E11 THEN {number} / 1000.0E0 ELSE {number} END"
    from_number = (
        f"CASE WHEN {number} >= 0 AND {number} < CAST('Infinity' AS DOUBLE) "
        f"AND {in_seconds} < {LATEST_EVENT_TIME!r}E0 THEN {in_seconds} END"
    )
    event_time = (
        f"CASE {timestamp}_kind WHEN 'string' THEN {from_text} WHEN 'number' THEN {from_number} END"
    )
    return [
        _view(f"{name}_pieces", split, source),
        _view(f"{name}_time", pieces, f"{name}_pieces"),
        _view(name, ["*", computed(event_time, "event_time")], f"{name}_time"),
    ]


def record_checks(max_event_bytes: int) -> list[str]:
    """``WHEN ... THEN reason`` lines every record goes through first."""
    return [
        "WHEN record_value IS NULL OR value_bytes = 0 THEN 'empty'",
        f"WHEN value_bytes > {int(max_event_bytes)} THEN 'oversized'",
        "WHEN value_text IS NULL OR NOT is_json OR lone_surrogate THEN 'invalid_json'",
        "WHEN NOT is_object THEN 'not_object'",
    ]


def string_checks(column: str) -> list[str]:
    return [
        f"WHEN {column}_kind IN ({', '.join(ABSENT)}) THEN 'missing_field'",
        f"WHEN {column}_kind <> 'string' THEN 'wrong_type'",
        f"WHEN {column}_text = '' THEN 'empty_field'",
    ]


def timestamp_checks(required: bool) -> list[str]:
    checks = (
        [f"WHEN timestamp_kind IN ({', '.join(ABSENT)}) THEN 'missing_field'"] if required else []
    )
    return [
        *checks,
        "WHEN timestamp_kind = 'boolean' THEN 'bad_timestamp'",
        "WHEN timestamp_kind IN ('object', 'array') THEN 'wrong_type'",
        "WHEN timestamp_kind IN ('string', 'number') AND event_time IS NULL THEN 'bad_timestamp'",
    ]


def binary_checks(column: str, reason: str) -> list[str]:
    """An optional 0/1-or-boolean field: present and of another kind or value is refused."""
    return [
        f"WHEN {column}_kind = 'number' AND {column}_number NOT IN (0, 1) THEN {literal(reason)}",
        f"WHEN {column}_kind NOT IN ('absent', 'null', 'number', 'boolean') THEN 'wrong_type'",
    ]


def binary_value(column: str) -> str:
    """The 0/1 value of a field that passed :func:`binary_checks` (NULL when absent)."""
    return (
        f"CASE {column}_kind WHEN 'boolean' THEN CASE WHEN {column}_json = '[true]' THEN 1 "
        f"ELSE 0 END WHEN 'number' THEN CAST({column}_number AS INT) END"
    )


def reason_case(checks: Sequence[str]) -> str:
    body = "\n    ".join(checks)
    return f"CASE\n    {body}\n  END"


def details_case() -> str:
    """``fairwatch.detail`` of a reason."""
    pairs = " ".join(f"WHEN {literal(key)} THEN {literal(text)}" for key, text in DETAILS.items())
    return f"CASE reason {pairs} END"


def threshold_case(thresholds: dict[str, float], default: float) -> str:
    if not thresholds:
        return double(default)
    pairs = " ".join(
        f"WHEN {literal(model)} THEN {double(value)}" for model, value in thresholds.items()
    )
    return f"CASE model_id_text {pairs} ELSE {double(default)} END"


def group_value(column: str) -> str:
    """A group name as ``monitor.engine.groups.value_name`` gives it (empty → ``(missing)``)."""
    return f"CASE WHEN {column} = '' THEN {literal(MISSING)} ELSE {column} END"


def in_models(models: Sequence[str]) -> str:
    return f"model_id_text NOT IN ({in_list(models)})"


def _view(name: str, columns: Sequence[str], source: str) -> str:
    body = ",\n  ".join(columns)
    return (
        f"CREATE TEMPORARY VIEW {identifier(name)} AS\nSELECT\n  {body}\nFROM {identifier(source)};"
    )
