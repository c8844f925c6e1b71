"""Fuzzing the event decoder: no message may raise; each one is accepted or rejected with a reason.

Pushes generated messages (default 1,000,000) in batches (default 5,000, the daemon's batch
size) through ``decode_predictions`` and ``decode_labels``, and the same batches through
``monitor.stream.decode.decode_runs`` (records handed over per partition by the consumer process,
``--partitions`` per topic). The messages: valid events; mutated ones (byte flips, truncation,
inserted bytes, deleted fields, every field's type swapped among string, number, bool, null,
list and object, mangled keys); random bytes; deep nesting; huge numbers (400-digit integers,
1e400, NaN, Infinity); odd Unicode (invalid UTF-8, encoded and escaped lone surrogates, RTL
marks, emoji, NUL, a byte order mark); framing (tombstones, blanks, UTF-16, two objects in one).

Checks (the run exits 1 if any fails):

- crashes: exceptions escaping a decoder — must be 0;
- accounting: accepted + rejected == messages, for every batch and topic;
- reasons: every rejected message carries a ``Reason``, a non-empty detail and its
  own original record;
- accepted events hold what the contract promises (non-empty UTF-8 strings, finite event
  times, 0/1 decisions and labels, scores in [0, 1]);
- paths agree: ``decode_runs`` decides every message as the decoders called directly do, and
  every ``--verify-every``-th batch each message decoded alone is decided as in its batch.

Prints the counts by reason and by kind of message, and messages/s (in this thread's CPU time,
with the wall time next to it; the machine may be shared).

    .venv/bin/python bench/fuzz_decoder.py [--messages 1000000] [--seed 1] [--batch 5000]
        [--partitions 4] [--verify-every 10] [--json report.json]
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from monitor.stream.decode import (  # noqa: E402
    MAX_NESTING,
    DecodeRules,
    InvalidEvent,
    Labels,
    Predictions,
    Reason,
    Record,
    decode_labels,
    decode_predictions,
    decode_runs,
)

PREDICTIONS, LABELS = "predictions", "labels"
RULES = DecodeRules(
    thresholds={"credit": 0.6, "fraud": 0.5},
    known_models_only=True,
    attributes=("sex", "race"),
)
SEXES = ["Female", "Male", "Non-binary"]
RACES = ["Asian", "Black", "Hispanic", "White"]
Key = tuple[str, int, int]  # topic, partition, offset

# -- hostile pieces ----------------------------------------------------------------------------

ODD_STRINGS = [  # valid Unicode, odd
    "\u202eFemale",  # right-to-left override
    "\u200fMale\u200e",  # RTL / LTR marks
    "\U0001f600\U0001f469\u200d\U0001f4bb",  # emoji, a zero-width-joiner sequence
    "a\x00b",  # NUL (escaped as \\u0000 in JSON)
    "\ufeffFemale",  # a byte order mark inside a string
    "e\u0301\u0301\u0301",  # combining marks
    "\uffff\U0010ffff",  # non-characters
    " ",
    "\t\n",
    "x" * 5000,
]
BAD_STRINGS = [  # JSON string tokens that are not valid UTF-8 / have no UTF-8 form / are not JSON
    b'"M\xa6"',  # the reported message: one invalid byte
    b'"\xff"',
    b'"\xc3"',  # a lead byte alone
    b'"\xe2\x82"',  # a truncated sequence
    b'"\xc0\xaf"',  # an overlong encoding
    b'"\xed\xa0\x80"',  # an encoded surrogate
    b'"\xf4\x90\x80\x80"',  # beyond U+10FFFF
    b'"\\ud800"',  # a lone high surrogate escape
    b'"\\udc00x"',  # a lone low surrogate escape
    b'"\\ud83d\\ud83d"',  # two high surrogates
    b'"\\ud83d\\ude00"',  # a valid escaped pair (an emoji): fine
    b'"a\x00b"',  # a raw NUL: a control character, not JSON
    b'"tab\there"',
    b'"\\x41"',  # not a JSON escape
    b'"\\u12"',  # a short escape
]
SPECIAL_NUMBERS = [
    b"1" + b"0" * 400,
    b"-1" + b"0" * 400,
    b"9" * 4400,  # more digits than Python converts by default
    b"18446744073709551616",  # 2**64
    b"-9223372036854775809",
    b"1e400",
    b"-1e400",
    b"1e-400",
    b"1.7976931348623157e309",
    b"NaN",
    b"Infinity",
    b"-Infinity",
    b"-0",
    b"0.0000000000000000000000001",
    b"1E+2",
    b"01",  # a leading zero: not JSON
    b"1.",  # not JSON
    b".5",  # not JSON
    b"+1",  # not JSON
]
TYPES = ["string", "number", "bool", "null", "list", "object"]


def deep(rng: random.Random, depth: int) -> bytes:
    """Objects and arrays nested ``depth`` levels deep."""
    kind = rng.randrange(3)
    if kind == 0:
        return b"[" * depth + b"]" * depth
    if kind == 1:
        return b'{"a":' * depth + b"1" + b"}" * depth
    opening = [rng.choice((b"[", b'{"k":')) for _ in range(depth)]
    closing = [b"]" if token == b"[" else b"}" for token in reversed(opening)]
    return b"".join(opening) + b"0" + b"".join(closing)


class Generator:
    """Messages of every kind, from one seeded random source."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.serial = 0
        # (kind, weight, function(family) -> value)
        self.kinds: list[tuple[str, int, Callable[[str], bytes | None]]] = [
            ("valid", 25, self.valid),
            ("field_deleted", 8, self.field_deleted),
            ("type_swapped", 16, self.type_swapped),
            ("odd_unicode", 10, self.odd_unicode),
            ("huge_number", 8, self.huge_number),
            ("deep_nesting", 4, self.deep_nesting),
            ("byte_damage", 12, self.byte_damage),
            ("key_mangled", 5, self.key_mangled),
            ("random_bytes", 6, self.random_bytes),
            ("framing", 6, self.framing),
        ]
        self.names = [kind for kind, _weight, _function in self.kinds]
        self.weights = [weight for _kind, weight, _function in self.kinds]

    def message(self) -> tuple[str, str, bytes | None]:
        """(topic, kind, value): two in three messages are predictions."""
        family = PREDICTIONS if self.rng.random() < 2 / 3 else LABELS
        index = self.rng.choices(range(len(self.kinds)), self.weights)[0]
        kind, _weight, make = self.kinds[index]
        return family, kind, make(family)

    # -- events as dicts (values may be orjson.Fragment: raw JSON text) --

    def event(self, family: str) -> dict[str, Any]:
        rng = self.rng
        self.serial += 1
        identifier = f"p-{self.serial:012d}"
        stamp = 1_714_564_800 + rng.randrange(86_400)
        timestamp: Any = rng.choice(
            [
                stamp,
                stamp * 1000 + rng.randrange(1000),
                stamp + rng.random(),
                time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(stamp)),
                time.strftime("%Y-%m-%dT%H:%M:%S+02:00", time.gmtime(stamp + 7200)),
            ]
        )
        if family == LABELS:
            label: dict[str, Any] = {"prediction_id": identifier, "label": rng.choice([0, 1])}
            if rng.random() < 0.5:
                label["timestamp"] = timestamp
            return label
        event: dict[str, Any] = {
            "prediction_id": identifier,
            "model_id": rng.choice(["credit", "fraud"]),
            "timestamp": timestamp,
            "sensitive": {"sex": rng.choice(SEXES), "race": rng.choice(RACES)},
        }
        form = rng.randrange(3)
        if form != 1:
            event["score"] = round(rng.random(), 4)
        if form != 0:
            event["prediction"] = rng.choice([0, 1, True, False])
        if rng.random() < 0.2:
            event["label"] = rng.choice([0, 1])
        return event

    def dumps(self, event: Any) -> bytes:
        return orjson.dumps(event)

    def paths(self, event: dict[str, Any]) -> list[tuple[str, ...]]:
        """Every field, top level and inside ``sensitive``."""
        out: list[tuple[str, ...]] = [(name,) for name in event]
        sensitive = event.get("sensitive")
        if isinstance(sensitive, dict):
            out += [("sensitive", name) for name in sensitive]
        return out

    def replace(self, event: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
        target = event
        for name in path[:-1]:
            target = target[name]
        target[path[-1]] = value

    def value_of_type(self, kind: str) -> Any:
        rng = self.rng
        if kind == "string":
            return rng.choice(["credit", "", "0.5", "1", "true", "null", "2024-05-01T12:00:00Z"])
        if kind == "number":
            return rng.choice([0, 1, -1, 2, 0.5, 1.5, -0.1, 1714564800, 10**18])
        if kind == "bool":
            return rng.choice([True, False])
        if kind == "null":
            return None
        if kind == "list":
            return rng.choice([[], ["credit"], [0, 1], [None], [{"sex": "Female"}]])
        return rng.choice([{}, {"sex": "Female"}, {"value": 1}, {"a": {"b": []}}])

    def type_of(self, value: Any) -> str:
        if isinstance(value, bool):
            return "bool"
        if isinstance(value, int | float):
            return "number"
        if isinstance(value, str):
            return "string"
        if value is None:
            return "null"
        return "list" if isinstance(value, list) else "object"

    # -- the kinds --

    def valid(self, family: str) -> bytes | None:
        return self.dumps(self.event(family))

    def field_deleted(self, family: str) -> bytes | None:
        event = self.event(family)
        for path in self.rng.sample(self.paths(event), self.rng.randint(1, 2)):
            target = event
            for name in path[:-1]:
                target = target.get(name, {})
            target.pop(path[-1], None)
        return self.dumps(event)

    def type_swapped(self, family: str) -> bytes | None:
        event = self.event(family)
        for path in self.rng.sample(self.paths(event), self.rng.randint(1, 2)):
            target = event
            for name in path[:-1]:
                target = target[name]
            if not isinstance(target, dict) or path[-1] not in target:
                continue
            current = self.type_of(target[path[-1]])
            kind = self.rng.choice([kind for kind in TYPES if kind != current])
            target[path[-1]] = self.value_of_type(kind)
        return self.dumps(event)

    def odd_unicode(self, family: str) -> bytes | None:
        event = self.event(family)
        strings = [path for path in self.paths(event) if path[0] != "sensitive" or len(path) > 1]
        path = self.rng.choice(strings)
        value: Any = (
            self.rng.choice(ODD_STRINGS)
            if self.rng.random() < 0.4
            else orjson.Fragment(self.rng.choice(BAD_STRINGS))
        )
        if self.rng.random() < 0.2:  # in a field nobody reads
            event["note"] = value
        else:
            self.replace(event, path, value)
        return self.dumps(event)

    def huge_number(self, family: str) -> bytes | None:
        event = self.event(family)
        name = self.rng.choice(["timestamp", "score", "prediction", "label", "prediction_id"])
        if family == LABELS and name in ("score", "prediction"):
            name = "label"
        event[name] = orjson.Fragment(self.rng.choice(SPECIAL_NUMBERS))
        return self.dumps(event)

    def deep_nesting(self, family: str) -> bytes | None:
        depth = self.rng.choice(
            [MAX_NESTING - 2, MAX_NESTING - 1, MAX_NESTING, MAX_NESTING + 1, 3000, 10_000]
        )
        nested = deep(self.rng, depth)
        if self.rng.random() < 0.5:
            return nested
        event = self.event(family)
        event[self.rng.choice(["note", "sensitive", "prediction_id", "label"])] = orjson.Fragment(
            nested
        )
        return self.dumps(event)

    def byte_damage(self, family: str) -> bytes | None:
        rng = self.rng
        raw = bytearray(self.dumps(self.event(family)))
        for _ in range(rng.randint(1, 3)):
            action = rng.randrange(4)
            at = rng.randrange(len(raw)) if raw else 0
            if action == 0 and raw:
                raw[at] ^= rng.randint(1, 255)  # flip bits of a byte
            elif action == 1:
                del raw[at:]  # truncate
            elif action == 2:
                raw[at:at] = rng.randbytes(rng.randint(1, 8))  # insert
            else:
                del raw[at : at + rng.randint(1, 8)]  # cut out
        return bytes(raw)

    def key_mangled(self, family: str) -> bytes | None:
        raw = self.dumps(self.event(family))
        names = [b"prediction_id", b"model_id", b"timestamp", b"label", b"sex", b"sensitive"]
        present = [name for name in names if b'"' + name + b'"' in raw] or [b"prediction_id"]
        name = self.rng.choice(present)
        replacement = self.rng.choice(
            [
                b'"' + name[:2] + b"\xa6" + name[2:] + b'"',  # invalid UTF-8 in a key
                b'"\\ud800' + name + b'"',  # a lone surrogate in a key
                b"1",  # a number as a key: not JSON
                b"null",
                name,  # an unquoted key
                b'""',
                b'"' + name.upper() + b'"',
            ]
        )
        raw = raw.replace(b'"' + name + b'"', replacement, 1)
        if self.rng.random() < 0.3:  # a key given twice, the second time with another type
            raw = raw[:-1] + b',"prediction_id":5}'
        return raw

    def random_bytes(self, family: str) -> bytes | None:
        rng = self.rng
        if rng.random() < 0.5:
            return rng.randbytes(rng.randint(0, 300))
        tokens = [b"{", b"}", b"[", b"]", b":", b",", b'"a"', b"1", b"-", b"e", b"null", b"true"]
        tokens += [b" ", b'"', b"\\", b"\xa6", b"\x00", b'"prediction_id"', b'"label"']
        return b"".join(rng.choice(tokens) for _ in range(rng.randint(1, 80)))

    def framing(self, family: str) -> bytes | None:
        rng = self.rng
        raw = self.dumps(self.event(family))
        return rng.choice(
            [
                None,  # a tombstone
                b"",
                b" ",
                b"\n",
                b"\r\n\t ",
                b"\xef\xbb\xbf" + raw,  # a byte order mark
                raw.decode().encode("utf-16"),
                raw.decode().encode("utf-32"),
                raw + b" " + raw,  # two objects in one message
                raw + b"\n" + raw,
                raw + b"x",
                b"[" + raw + b"]",
                orjson.dumps(orjson.loads(raw), option=orjson.OPT_INDENT_2),  # pretty: valid
                b"  " + raw + b"\n",  # surrounding whitespace: valid
                raw[:-1] + b',"padding":"' + b"x" * rng.choice([100, 70_000]) + b'"}',
                b"\x00" + raw,
                b'"' + raw.replace(b'"', b'\\"') + b'"',  # an event as a JSON string
            ]
        )


# -- checks ------------------------------------------------------------------------------------


@dataclass
class Tally:
    """What the run saw; the checks fail when a failure list is not empty."""

    messages: int = 0
    batches: int = 0
    accepted: Counter[str] = field(default_factory=Counter)
    reasons: Counter[tuple[str, str]] = field(default_factory=Counter)  # (topic, reason)
    kinds: Counter[tuple[str, str]] = field(default_factory=Counter)  # (kind, outcome)
    crashes: list[str] = field(default_factory=list)
    accounting: list[str] = field(default_factory=list)
    bad_reasons: list[str] = field(default_factory=list)
    bad_accepted: list[str] = field(default_factory=list)
    disagreements: list[str] = field(default_factory=list)
    verified: int = 0  # messages decoded alone and compared
    seconds: dict[str, float] = field(default_factory=dict)  # CPU seconds by path
    wall: dict[str, float] = field(default_factory=dict)

    def fail(self, where: list[str], text: str) -> None:
        if len(where) < 1000:
            where.append(text)


def utf8_strings(items: Sequence[object], empty: bool = False) -> bool:
    """All are strings (non-empty unless ``empty``) with a UTF-8 form (no lone surrogate)."""
    strings = [item for item in items if type(item) is str and (empty or item)]
    if len(strings) != len(items):
        return False
    try:
        "\x00".join(strings).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def check_predictions(events: Predictions, where: str, tally: Tally) -> None:
    n = len(events)
    columns = [
        len(events.model_id),
        len(events.timestamp),
        len(events.prediction),
        len(events.score),
        len(events.label),
        len(events.partition),
        *map(len, events.sensitive.values()),
    ]
    problems = []
    if any(length != n for length in columns):
        problems.append(f"column lengths {columns} for {n} events")
    if not utf8_strings(events.prediction_id) or not utf8_strings(events.model_id):
        problems.append("a prediction_id or model_id is not a non-empty UTF-8 string")
    if not set(events.model_id) <= set(RULES.thresholds):
        problems.append("an unknown model was accepted")
    if sorted(events.sensitive) != sorted(RULES.attributes) or not all(
        utf8_strings(values, empty=True) for values in events.sensitive.values()
    ):
        problems.append("a sensitive attribute is missing or not a UTF-8 string")
    if n and not np.isfinite(events.timestamp).all():
        problems.append("an event time is not finite")
    if n and not np.isin(events.prediction, (0, 1)).all():
        problems.append("a decision is not 0/1")
    if n and not np.isin(events.label, (-1, 0, 1)).all():
        problems.append("a label is not -1/0/1")
    score = events.score
    if n and not (np.isnan(score) | ((score >= 0) & (score <= 1))).all():
        problems.append("a score is outside [0, 1]")
    for problem in problems:
        tally.fail(tally.bad_accepted, f"{where}: {problem}")


def check_labels(labels: Labels, where: str, tally: Tally) -> None:
    n = len(labels)
    problems = []
    if not len(labels.label) == len(labels.timestamp) == len(labels.partition) == n:
        problems.append("column lengths differ")
    if not utf8_strings(labels.prediction_id):
        problems.append("a prediction_id is not a non-empty UTF-8 string")
    if not set(labels.label) <= {0, 1} or not all(type(label) is int for label in labels.label):
        problems.append("a label is not 0/1")
    if any(math.isinf(stamp) for stamp in labels.timestamp):
        problems.append("an event time is infinite")
    for problem in problems:
        tally.fail(tally.bad_accepted, f"{where}: {problem}")


def check_rejected(
    errors: list[InvalidEvent], originals: dict[Key, Record], where: str, tally: Tally
) -> dict[Key, str]:
    """Reason by message; every rejected message once, with a known reason, a detail and its
    original bytes."""
    out: dict[Key, str] = {}
    for error in errors:
        record = error.record
        key = (record.topic, record.partition, record.offset)
        if not isinstance(error.reason, Reason):
            tally.fail(tally.bad_reasons, f"{where} {key}: unknown reason {error.reason!r}")
        if not isinstance(error.detail, str) or not error.detail.strip():
            tally.fail(tally.bad_reasons, f"{where} {key}: empty detail ({error.reason})")
        original = originals.get(key)
        if original is None or original.value != record.value or original.key != record.key:
            tally.fail(tally.bad_reasons, f"{where} {key}: not the original record")
        if key in out:
            tally.fail(tally.bad_reasons, f"{where} {key}: rejected twice")
        out[key] = error.reason
    return out


def timed(tally: Tally, path: str, function: Callable[[], Any]) -> Any:
    start, start_cpu = time.perf_counter(), time.thread_time()
    try:
        return function()
    finally:
        tally.seconds[path] = tally.seconds.get(path, 0.0) + time.thread_time() - start_cpu
        tally.wall[path] = tally.wall.get(path, 0.0) + time.perf_counter() - start


def crash_text(error: BaseException) -> str:
    return f"{type(error).__name__}: {str(error)[:160]}"


def find_culprits(records: list[Record], topic: str, tally: Tally) -> None:
    """After a batch raised: which of its messages raise alone (printed for a reproduction)."""
    decode: Callable[..., Any] = decode_predictions if topic == PREDICTIONS else decode_labels
    found = 0
    for record in records:
        try:
            decode([record], RULES)
        except Exception as error:
            found += 1
            tally.fail(tally.crashes, f"  alone: {crash_text(error)} on {record.value!r:.200}")
            if found >= 3:
                return


def decode_batch_directly(
    records: dict[str, list[Record]], where: str, tally: Tally
) -> dict[str, tuple[int, dict[Key, str]]] | None:
    """(accepted, reasons by message) per topic, or None after a crash."""
    out = {}
    originals = {
        (record.topic, record.partition, record.offset): record
        for topic_records in records.values()
        for record in topic_records
    }
    for topic, decode in ((PREDICTIONS, decode_predictions), (LABELS, decode_labels)):
        topic_records = records[topic]
        try:
            events, errors = timed(tally, "decoders", partial(decode, topic_records, RULES))
        except Exception as error:
            tally.fail(tally.crashes, f"{where} {topic}: {crash_text(error)}")
            find_culprits(topic_records, topic, tally)
            return None
        if len(events) + len(errors) != len(topic_records):
            tally.fail(
                tally.accounting,
                f"{where} {topic}: {len(events)} accepted + {len(errors)} rejected "
                f"!= {len(topic_records)} messages",
            )
        if topic == PREDICTIONS:
            check_predictions(events, f"{where} {topic}", tally)
        else:
            check_labels(events, f"{where} {topic}", tally)
        out[topic] = (len(events), check_rejected(errors, originals, f"{where} {topic}", tally))
    return out


def runs_of(records: dict[str, list[Record]]) -> list[tuple[Any, ...]]:
    """The batch as the consumer process hands it over: one run per topic partition."""
    runs = []
    for topic, topic_records in records.items():
        by_partition: dict[int, list[Record]] = {}
        for record in topic_records:
            by_partition.setdefault(record.partition, []).append(record)
        for partition, items in sorted(by_partition.items()):
            runs.append(
                (
                    topic,
                    partition,
                    [item.offset for item in items],
                    [item.key for item in items],
                    [item.value for item in items],
                )
            )
    return runs


def decode_batch_as_runs(
    records: dict[str, list[Record]],
    direct: dict[str, tuple[int, dict[Key, str]]],
    where: str,
    tally: Tally,
) -> None:
    runs = runs_of(records)
    try:
        batch = timed(tally, "decode_runs", partial(decode_runs, runs, RULES, PREDICTIONS, LABELS))
    except Exception as error:
        tally.fail(tally.crashes, f"{where} decode_runs: {crash_text(error)}")
        return
    originals = {
        (record.topic, record.partition, record.offset): record
        for topic_records in records.values()
        for record in topic_records
    }
    reasons = check_rejected(batch.rejected, originals, f"{where} decode_runs", tally)
    total = sum(map(len, records.values()))
    accepted = len(batch.predictions) + len(batch.labels)
    if accepted + len(batch.rejected) != total:
        tally.fail(
            tally.accounting,
            f"{where} decode_runs: {accepted} accepted + {len(batch.rejected)} rejected "
            f"!= {total} messages",
        )
    check_predictions(batch.predictions, f"{where} decode_runs", tally)
    check_labels(batch.labels, f"{where} decode_runs", tally)
    expected = {
        key: reason
        for _n, topic_reasons in direct.values()
        for key, reason in topic_reasons.items()
    }
    if reasons != expected or (len(batch.predictions), len(batch.labels)) != (
        direct[PREDICTIONS][0],
        direct[LABELS][0],
    ):
        differing = sorted(set(reasons.items()) ^ set(expected.items()))[:3]
        tally.fail(
            tally.disagreements, f"{where} decode_runs differs from the decoders: {differing}"
        )


def verify_alone(
    records: dict[str, list[Record]],
    direct: dict[str, tuple[int, dict[Key, str]]],
    where: str,
    tally: Tally,
) -> None:
    """Each message decoded alone is decided as in its batch."""
    for topic, decode in ((PREDICTIONS, decode_predictions), (LABELS, decode_labels)):
        reasons = direct[topic][1]
        for record in records[topic]:
            key = (record.topic, record.partition, record.offset)
            try:
                events, errors = decode([record], RULES)
            except Exception as error:
                tally.fail(tally.crashes, f"{where} alone {key}: {crash_text(error)}")
                continue
            alone = errors[0].reason if errors else None
            if alone != reasons.get(key) or len(events) + len(errors) != 1:
                tally.fail(
                    tally.disagreements,
                    f"{where} {key}: alone {alone}, in its batch {reasons.get(key)}: "
                    f"{record.value!r:.160}",
                )
            tally.verified += 1


# -- the run -----------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> Tally:
    generator = Generator(args.seed)
    tally = Tally()
    batches = math.ceil(args.messages / args.batch)
    generation = 0.0
    started = time.perf_counter()
    for number in range(batches):
        size = min(args.batch, args.messages - number * args.batch)
        began = time.perf_counter()
        records: dict[str, list[Record]] = {PREDICTIONS: [], LABELS: []}
        kinds: dict[Key, str] = {}
        offsets: Counter[tuple[str, int]] = Counter()
        for index in range(size):
            topic, kind, value = generator.message()
            partition = index % args.partitions
            offset = number * args.batch + offsets[(topic, partition)]
            offsets[(topic, partition)] += 1
            key = b"k-%d" % offset if index % 7 else None
            records[topic].append(Record(topic, partition, offset, key, value))
            kinds[(topic, partition, offset)] = kind
        generation += time.perf_counter() - began
        where = f"batch {number} (seed {args.seed})"
        direct = decode_batch_directly(records, where, tally)
        tally.messages += size
        tally.batches += 1
        if direct is None:
            continue
        decode_batch_as_runs(records, direct, where, tally)
        if args.verify_every and number % args.verify_every == 0:
            verify_alone(records, direct, where, tally)
        for topic, (accepted, reasons) in direct.items():
            tally.accepted[topic] += accepted
            tally.reasons.update((topic, reason) for reason in reasons.values())
        rejected = {
            key: reason
            for _n, topic_reasons in direct.values()
            for key, reason in topic_reasons.items()
        }
        tally.kinds.update(
            (kind, "rejected" if key in rejected else "accepted") for key, kind in kinds.items()
        )
        if (number + 1) % max(1, batches // 10) == 0 or number + 1 == batches:
            print(
                f"  {tally.messages:>10,} messages, {number + 1}/{batches} batches, "
                f"{len(tally.crashes)} crashes, {time.perf_counter() - started:.0f} s",
                file=sys.stderr,
                flush=True,
            )
    tally.seconds["generation"] = generation
    return tally


def report(tally: Tally, args: argparse.Namespace) -> dict[str, Any]:
    rejected = sum(tally.reasons.values())
    accepted = sum(tally.accepted.values())
    checks = {
        "crashes (exceptions escaping a decoder)": tally.crashes,
        "accepted + rejected == messages, every batch and topic": tally.accounting,
        "rejected: a Reason, non-empty detail, original record": tally.bad_reasons,
        "accepted events hold what the contract promises": tally.bad_accepted,
        "decode_runs and each message alone decide as the batch": tally.disagreements,
        "valid events are all accepted": [
            f"{tally.kinds[('valid', 'rejected')]:,} valid events rejected"
        ]
        if tally.kinds[("valid", "rejected")]
        else [],
    }
    print(
        f"\n{tally.messages:,} messages in {tally.batches:,} batches of {args.batch:,} "
        f"(seed {args.seed}, {args.partitions} partitions per topic in decode_runs): "
        f"{accepted:,} accepted, {rejected:,} rejected"
    )
    for topic in (PREDICTIONS, LABELS):
        topic_rejected = sum(n for (name, _r), n in tally.reasons.items() if name == topic)
        print(
            f"  {topic:<11} {tally.accepted[topic] + topic_rejected:>9,} messages: "
            f"{tally.accepted[topic]:>9,} accepted, {topic_rejected:>9,} rejected"
        )
    print("\nrejected by reason            predictions     labels      total")
    for reason in Reason:
        counts = [tally.reasons[(PREDICTIONS, reason)], tally.reasons[(LABELS, reason)]]
        if sum(counts):
            print(f"  {reason:<25} {counts[0]:>11,} {counts[1]:>10,} {sum(counts):>10,}")
    print("\nby kind of message            accepted   rejected")
    names = sorted({kind for kind, _outcome in tally.kinds})
    for kind in names:
        print(
            f"  {kind:<25} {tally.kinds[(kind, 'accepted')]:>10,} "
            f"{tally.kinds[(kind, 'rejected')]:>10,}"
        )
    print("\nspeed (CPU time of this thread; wall time in brackets)")
    rates = {}
    for path, label in (
        ("decoders", "decode_predictions + decode_labels"),
        ("decode_runs", f"decode_runs ({args.partitions} partitions per topic)"),
    ):
        cpu, wall = tally.seconds.get(path, math.nan), tally.wall.get(path, math.nan)
        rates[path] = {
            "seconds_cpu": cpu,
            "seconds_wall": wall,
            "messages_per_second_cpu": tally.messages / cpu if cpu else None,
            "messages_per_second_wall": tally.messages / wall if wall else None,
        }
        print(
            f"  {label:<45} {tally.messages / max(cpu, 1e-9):>10,.0f} messages/s "
            f"({tally.messages / max(wall, 1e-9):,.0f}/s wall; {cpu:.1f} s CPU)"
        )
    print(f"  (generating the messages took {tally.seconds['generation']:.1f} s wall)")
    print(f"\nchecks ({tally.verified:,} messages also decoded alone and compared)")
    failed = False
    for name, failures in checks.items():
        failed |= bool(failures)
        print(f"  {'FAIL' if failures else 'ok  '} {name}: {len(failures)}")
        for failure in failures[:5]:
            print(f"       {failure}")
    print("\nresult:", "FAILED" if failed else "all checks passed")
    return {
        "messages": tally.messages,
        "batches": tally.batches,
        "batch": args.batch,
        "seed": args.seed,
        "partitions": args.partitions,
        "accepted": dict(tally.accepted),
        "rejected_by_reason": {
            topic: {
                reason: tally.reasons[(topic, reason)]
                for reason in Reason
                if tally.reasons[(topic, reason)]
            }
            for topic in (PREDICTIONS, LABELS)
        },
        "by_kind": {
            kind: {
                "accepted": tally.kinds[(kind, "accepted")],
                "rejected": tally.kinds[(kind, "rejected")],
            }
            for kind in names
        },
        "speed": rates,
        "verified_alone": tally.verified,
        "checks": {
            name: {"failures": len(items), "first": items[:5]} for name, items in checks.items()
        },
        "passed": not failed,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--batch", type=int, default=5000, help="messages per batch")
    parser.add_argument("--partitions", type=int, default=4, help="per topic, in decode_runs")
    parser.add_argument(
        "--verify-every",
        type=int,
        default=10,
        help="decode each message of every N-th batch alone too (0: never)",
    )
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    print(
        f"fuzzing the decoder: {args.messages:,} messages, seed {args.seed}; orjson "
        f"{orjson.__version__}, msgspec {msgspec.__version__}, Python {sys.version.split()[0]}"
    )
    tally = run(args)
    figures = report(tally, args)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0 if figures["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
