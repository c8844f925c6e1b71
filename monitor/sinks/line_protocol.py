"""InfluxDB line protocol: the text form of a :class:`monitor.sinks.points.Row`.

Escaping is exactly as influxdb-client's ``Point`` does it (a property test compares them); this
is hand-written because ``Point`` takes about twice as long per row on the daemon's hot path.
"""

from __future__ import annotations

import functools
import math

from monitor.sinks.points import Row

Identity = tuple[str, int]  # (series key, timestamp): what a later write of the point replaces


# Escaping exactly as influxdb-client's Point does it (tested against it).
_ESCAPE_MEASUREMENT = str.maketrans({",": r"\,", " ": r"\ ", "\n": r"\n", "\t": r"\t", "\r": r"\r"})
_ESCAPE_KEY = str.maketrans(
    {",": r"\,", "=": r"\=", " ": r"\ ", "\n": r"\n", "\t": r"\t", "\r": r"\r"}
)
_ESCAPE_STRING = str.maketrans({'"': r"\"", "\\": r"\\"})


@functools.lru_cache(maxsize=1024)
def _measurement(name: str) -> str:
    return name.translate(_ESCAPE_MEASUREMENT)


@functools.lru_cache(maxsize=4096)
def _key(name: str) -> str:
    return name.translate(_ESCAPE_KEY)


@functools.lru_cache(maxsize=65536)
def _tag_value(value: str) -> str:
    escaped = value.translate(_ESCAPE_KEY)
    return escaped + " " if escaped.endswith("\\") else escaped


def _field_value(value: object) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return f"{value}i"
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        text = repr(value)
        return text[:-2] if text.endswith(".0") else text
    return '"' + str(value).translate(_ESCAPE_STRING) + '"'


def encode(row: Row) -> tuple[str, str, int]:
    """(series key, field set, nanosecond timestamp) of one row in line protocol.

    The series key (measurement and sorted tags) and the timestamp are the point's identity; the
    line is ``f"{series} {fields} {timestamp}"``. Hand-written because influxdb-client's
    ``Point`` takes about twice as long per row on the daemon's hot path; the output is the same
    (a property test compares them).
    """
    series = _measurement(row.measurement) + "".join(
        f",{_key(key)}={_tag_value(value)}"
        for key, value in sorted(row.tags.items())
        if key != "" and value != ""
    )
    fields = []
    for name, value in sorted(row.fields.items()):
        encoded = _field_value(value)
        if encoded is not None:
            fields.append(f"{_key(name)}={encoded}")
    return series, ",".join(fields), row.time_ns()


def to_line_protocol(row: Row) -> str:
    """One row as an InfluxDB line-protocol line with a nanosecond timestamp ('' without fields)."""
    series, fields, timestamp = encode(row)
    return f"{series} {fields} {timestamp}" if fields else ""
