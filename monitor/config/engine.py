"""The ``engine:`` section, generated from :class:`monitor.engine.config.EngineConfig`.

Each field of ``EngineConfig`` is a key of the section with the field's own type, default and
check (``FIELD_CHECKS``), so a setting is declared once, in the engine. Two fields are set per
model instead (:data:`FROM_MODELS`); one key is kept only so that older files still load
(``small_groups``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Annotated, Any, Literal, get_type_hints

from pydantic import AfterValidator, BaseModel, Field, create_model, model_validator

from monitor.config.sections import Section
from monitor.engine.config import FIELD_CHECKS, EngineConfig

#: EngineConfig fields configured per model, in ``models.<id>.favourable_prediction``.
FROM_MODELS = ("favourable_prediction", "favourable_predictions")


class _EngineSection(Section):
    # Deprecated, ignored: groups below min_group_size are always left out of the disparities
    # they cannot support (and listed as small); kept so that older files still load.
    small_groups: Literal["gate", "exclude"] | None = None

    @model_validator(mode="before")
    @classmethod
    def _per_model(cls, data: Any) -> Any:
        for key in FROM_MODELS:
            if isinstance(data, Mapping) and key in data:
                raise ValueError(f"{key}: is set per model, in models.<id>.favourable_prediction")
        return data


def _checked(check: Callable[[Any], str | None]) -> AfterValidator:
    def validate(value: Any) -> Any:
        problem = check(value)
        if problem is not None:
            raise ValueError(problem)
        return value

    return AfterValidator(validate)


def _section_model() -> type[BaseModel]:
    hints = get_type_hints(EngineConfig)
    keys: dict[str, Any] = {}
    for field in dataclasses.fields(EngineConfig):
        if field.name in FROM_MODELS:
            continue
        kind = hints[field.name]
        if field.name in FIELD_CHECKS:
            kind = Annotated[kind, _checked(FIELD_CHECKS[field.name])]
        if field.default_factory is not dataclasses.MISSING:
            keys[field.name] = (kind, Field(default_factory=field.default_factory))
        else:
            keys[field.name] = (kind, field.default)
    return create_model("EngineSection", __base__=_EngineSection, **keys)


ENGINE_SECTION = _section_model()
#: The keys of the section that are EngineConfig fields (all but the deprecated one).
ENGINE_KEYS: tuple[str, ...] = tuple(
    field.name for field in dataclasses.fields(EngineConfig) if field.name not in FROM_MODELS
)


def engine_config(value: Any) -> EngineConfig:
    """The ``engine:`` mapping validated into an :class:`EngineConfig` (its fields' defaults for
    keys not given); errors name the key (``engine.ci_level: must lie in (0, 1), got 1.5``)."""
    if isinstance(value, EngineConfig):
        return value
    section = ENGINE_SECTION.model_validate(value)
    return EngineConfig(**{name: getattr(section, name) for name in ENGINE_KEYS})
