"""What the decoder checks beyond the contract's shapes: :class:`DecodeRules`, from the
configuration (:func:`decode_rules`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from monitor.config import MonitorConfig
from monitor.config.pipeline import DEFAULT_MAX_EVENT_BYTES
from monitor.config.sections import DEFAULT_THRESHOLD


@dataclass(frozen=True)
class DecodeRules:
    """What the decoder checks beyond the contract's shapes, from the configuration.

    ``thresholds`` maps each known model to its decision threshold; when ``known_models_only`` is
    set, any other model is rejected as ``unknown_model``. ``attributes`` lists the sensitive
    attributes every prediction must carry.
    """

    thresholds: Mapping[str, float] = field(default_factory=dict)
    default_threshold: float = DEFAULT_THRESHOLD
    known_models_only: bool = False
    attributes: tuple[str, ...] = ()
    max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES


def decode_rules(config: MonitorConfig) -> DecodeRules:
    """What the decoder checks, from the configuration."""
    return DecodeRules(
        thresholds=config.thresholds,
        default_threshold=config.default_threshold,
        known_models_only=bool(config.models) and not config.accept_unknown_models,
        attributes=tuple(config.sensitive.attributes),
        max_event_bytes=config.pipeline.max_event_bytes,
    )
