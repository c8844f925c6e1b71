"""Event-time windows of the ``windows:`` key: ``1h`` (tumbling), ``1d/1h`` (size/step) or
``{size: 1d, step: 1h}``; the name (``1h``, ``1d/1h``) is the ``window`` tag of every result."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from monitor.config.durations import format_duration, parse_duration

DEFAULT_WINDOW = "1h"


@dataclass(frozen=True)
class WindowSpec:
    """A window specification: tumbling when ``step == size``, else sliding; seconds."""

    name: str
    size: float
    step: float

    @property
    def sliding(self) -> bool:
        return self.step != self.size


def parse_window(value: Any) -> WindowSpec:
    """``"1h"`` (tumbling), ``"1d/1h"`` (size/step) or ``{size: 1d, step: 1h}``."""
    if isinstance(value, Mapping):
        if "size" not in value:
            raise ValueError("a window object needs size (and optionally step)")
        size = parse_duration(value["size"])
        step = parse_duration(value.get("step", value["size"]))
    elif isinstance(value, str) and "/" in value:
        size_text, step_text = value.split("/", 1)
        size, step = parse_duration(size_text), parse_duration(step_text)
    else:
        size = step = parse_duration(value)
    if size <= 0 or step <= 0:
        raise ValueError("window size and step must be positive")
    if step > size or (size / step) != int(size / step):
        raise ValueError("window size must be a whole multiple of its step")
    name = (
        format_duration(size)
        if step == size
        else f"{format_duration(size)}/{format_duration(step)}"
    )
    return WindowSpec(name=name, size=size, step=step)


def parse_windows(value: Any) -> list[WindowSpec]:
    """The ``windows:`` list; a problem names the item (``[1]: expected a duration ...``)."""
    if not isinstance(value, list) or not value:
        raise ValueError("expected a non-empty list of windows such as [1h, 1d/1h]")
    specs = []
    for index, item in enumerate(value):
        if isinstance(item, WindowSpec):
            specs.append(item)
            continue
        try:
            specs.append(parse_window(item))
        except ValueError as error:
            raise ValueError(f"[{index}]: {error}") from None
    names = [spec.name for spec in specs]
    if len(set(names)) != len(names):
        raise ValueError(f"windows are listed twice: {names}")
    return specs
