"""The one configuration error, and how a pydantic validation failure becomes its message.

Every section (``monitor.config``'s and the ``alerting:`` section) raises :class:`ConfigError`
with one line: ``key.path: problem`` per problem, several joined by ``; ``. Commands print it
after the file name and exit with status 2 (``fairwatch/commands/_config.py``).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from typing import Any

from pydantic import ValidationError

# A check of a whole section names the key it is about first: ``selector.window: ...``, or an
# item of a list: ``[1]: ...``; the key then extends the error's location.
_NESTED_KEY = re.compile(
    r"^((?:[A-Za-z_]\w*|\[\d+\])(?:\[\d+\]|\.[A-Za-z_]\w*)*): (.*)$", re.DOTALL
)


class ConfigError(ValueError):
    """The configuration is invalid; the message names each bad key and what was expected."""


def describe(
    error: ValidationError,
    *,
    root: str = "",
    keys_documented_in: str = "docs/configuration.md",
    tags: Collection[str] = (),
    echo_input: bool = True,
) -> str:
    """One line naming each problem of ``error``: ``root.key.path: problem; ...``.

    ``tags`` are the values of a discriminated union's tag that pydantic inserts into error
    locations (they are not keys of the file). ``echo_input`` adds the rejected value to a type
    error (``(got 'eighty')``); a section whose values may hold secrets turns it off.
    """
    lines = []
    for item in error.errors(include_url=False):
        location = _location(root, item["loc"], tags)
        message = str(item["msg"]).removeprefix("Value error, ")
        kind = item["type"]
        nested = _NESTED_KEY.match(message) if kind == "value_error" else None
        if nested:
            location, message = _join(location, nested.group(1)), nested.group(2)
        if kind == "extra_forbidden":
            message = f"unknown key (check its spelling; {keys_documented_in} lists the keys)"
        elif kind == "missing":
            message = "is required"
        elif kind == "union_tag_invalid":
            context = item.get("ctx", {})
            tag = str(context.get("discriminator", "")).strip("'")
            expected = str(context.get("expected_tags", "")).replace("'", "")
            message = f"expected {tag} to be one of {expected}"
        elif echo_input and kind != "value_error" and "input" in item:
            message = f"{message} (got {_shorten(repr(item['input']))})"
        lines.append(f"{location or '(top level)'}: {message}")
    return "; ".join(lines)


def _location(root: str, parts: Sequence[Any], tags: Collection[str]) -> str:
    location = root
    for part in parts:
        if isinstance(part, int):
            location += f"[{part}]"
        elif part in tags or "[" in str(part) or str(part).startswith("function-"):
            continue  # a union member or validator pydantic names in the location: not a key
        else:
            location = _join(location, str(part))
    return location


def _join(location: str, key: str) -> str:
    if not location or key.startswith("["):
        return location + key
    return f"{location}.{key}"


def _shorten(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
