"""The ``alerting:`` section of the daemon's YAML config, declared once with its defaults.

``parse_alerting_config(data)`` validates a mapping (``${ENV}`` already substituted by the
daemon's loader) and raises ``ConfigError`` naming the key path and the expected form. Secrets
are never in this section: receivers name the environment variables that hold them, and
``unset_secrets(config)`` lists those that are not set.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from fnmatch import fnmatchcase
from typing import Annotated, Any, Literal, get_args

from pydantic import ConfigDict, Field, ValidationError, model_validator

from alerting.for_spec import ForSpec
from alerting.receivers import ReceiverConfig
from alerting.receivers.advice_topic import ADVICE_RECEIVER, AdviceConfig
from alerting.receivers.retraining import RetrainingConfig
from alerting.sequential import METRIC_RATES, DetectorSpec
from monitor.config.durations import Duration, format_duration
from monitor.config.errors import ConfigError, describe
from monitor.config.sections import Section
from monitor.config.windows import WindowSpec, parse_window

Op = Literal[">", ">=", "<", "<="]
_CONDITION = re.compile(
    r"^\s*(?:([A-Za-z_][\w*?\[\]]*)\s+)?(>=|<=|>|<)\s*(-?\d+(?:\.\d*)?(?:e-?\d+)?)\s*$"
)
_GLOB = re.compile(r"[*?\[\]]")
# The ``type`` of each receiver config: pydantic names it in the location of a receiver's errors.
RECEIVER_TYPES: tuple[str, ...] = tuple(
    str(model.model_fields["type"].default) for model in get_args(ReceiverConfig)
)

#: A sequential rule's defaults: a false alarm of its detector at most once per 12 hours on
#: average per alert instance at a gap right at the threshold (far rarer below it; a firing alert
#: is not paged again), and a false resolve at most once a day on average. 12 hours is what meets
#: the alert-quality targets of docs/alerting.md ("Measured"): at most one page per 30 days at a
#: gap of 0.08 below a 0.10 threshold, a jump to 0.15 paged in 1.25 h (median).
DEFAULT_ARL = 12 * 3600.0
DEFAULT_RESOLVE_ARL = 86400.0


class Selector(Section):
    """Which disparities a rule watches; every field is a glob (``*``, ``?``, ``[..]``).

    ``group`` selects the group of a per-group metric (``*_ratio_to_reference``); ``None``
    (default) accepts any group and metrics without one.
    """

    model_id: str = "*"
    attribute: str = "*"
    metric: str = "*"
    window: str = "*"
    group: str | None = None

    def matches(
        self, model_id: str, attribute: str, metric: str, window: str, group: str | None
    ) -> bool:
        if self.group is not None and (group is None or not fnmatchcase(group, self.group)):
            return False
        return (
            fnmatchcase(model_id, self.model_id)
            and fnmatchcase(attribute, self.attribute)
            and fnmatchcase(metric, self.metric)
            and fnmatchcase(window, self.window)
        )


class Condition(Section):
    """``value op threshold`` breaches; written ``{op: ">", threshold: 0.1}`` or as a string
    ``"demographic_parity_difference > 0.10"`` (the metric then narrows the selector)."""

    metric: str | None = None
    op: Op
    threshold: float

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, data: Any) -> Any:
        if isinstance(data, str):
            match = _CONDITION.match(data)
            if not match:
                raise ValueError(
                    "expected 'METRIC OP NUMBER' or 'OP NUMBER' with OP one of >, >=, <, <= "
                    f"(e.g. 'demographic_parity_difference > 0.10'), got {data!r}"
                )
            metric, op, threshold = match.groups()
            return {"metric": metric, "op": op, "threshold": float(threshold)}
        return data

    def breached(self, value: float, threshold: float | None = None) -> bool:
        limit = self.threshold if threshold is None else threshold
        return {
            ">": value > limit,
            ">=": value >= limit,
            "<": value < limit,
            "<=": value <= limit,
        }[self.op]

    @property
    def upward(self) -> bool:
        return self.op in (">", ">=")


class Annotations(Section):
    """Free-text annotations; the known ones are shown as links or names by the receivers."""

    model_config = ConfigDict(frozen=True, extra="allow")
    owner: str | None = None
    runbook_url: str | None = None
    dashboard_url: str | None = None
    summary: str | None = None

    def as_dict(self) -> dict[str, str]:
        return {key: str(value) for key, value in self.model_dump().items() if value is not None}


class LowVolumeConfig(Section):
    """Raise the rule's own ``low_volume`` alert when every matched disparity of a model's
    attribute stays ``not_computable`` for ``after``."""

    after: Duration = Field(gt=0)
    severity: Literal["info", "warning", "critical"] = "warning"


class RuleConfig(Section):
    """One alerting rule. ``mode: sequential`` rules also take ``arl`` (mean time between false
    alarms of one alert instance, default 12h), ``resolve_arl`` (mean time between false
    resolves, default 1d) and ``monitors`` (how many instances the ``arl`` covers together,
    default 1); they watch one tumbling window (see ``alerting.sequential``)."""

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.:-]+$")
    selector: Selector = Selector()
    condition: Condition
    # omitted: sequential where the rule can be (a difference above a threshold on one tumbling
    # window, every group), else point (docs/alerting.md, "Which mode")
    mode: Literal["point", "confident", "sequential"] | None = None
    for_: ForSpec = Field(default=ForSpec(), alias="for")
    arl: Duration | None = None
    resolve_arl: Duration | None = None
    monitors: int | None = Field(default=None, ge=1)
    clear_threshold: float | None = None
    severity: Literal["info", "warning", "critical"] = "warning"
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: Annotations = Annotations()
    receivers: list[str] = Field(default_factory=list)
    low_volume: LowVolumeConfig | None = None

    @model_validator(mode="after")
    def _check(self) -> RuleConfig:
        if self.condition.metric is not None:
            if self.selector.metric not in ("*", self.condition.metric):
                raise ValueError(
                    f"condition metric {self.condition.metric!r} differs from selector.metric "
                    f"{self.selector.metric!r}: give the metric once"
                )
            object.__setattr__(
                self, "selector", self.selector.model_copy(update={"metric": self.condition.metric})
            )
        clear = self.clear_threshold
        if clear is not None:
            threshold = self.condition.threshold
            if (self.condition.upward and clear > threshold) or (
                not self.condition.upward and clear < threshold
            ):
                side = "at or below" if self.condition.upward else "at or above"
                raise ValueError(
                    f"clear_threshold {clear:g} must be {side} the threshold {threshold:g} "
                    "(it resolves the alert once the value is back past it)"
                )
        if self.mode is None:
            try:
                self._check_sequential()
            except ValueError:
                object.__setattr__(self, "mode", "point")
            else:
                object.__setattr__(self, "mode", "sequential")
        if self.mode == "sequential":
            self._check_sequential()
        else:
            for key in ("arl", "resolve_arl", "monitors"):
                if getattr(self, key) is not None:
                    raise ValueError(f"{key}: applies only to mode: sequential")
        return self

    def _check_sequential(self) -> None:
        metric = self.selector.metric
        if metric not in METRIC_RATES:
            raise ValueError(
                f"selector.metric: mode sequential watches one difference metric, named in the "
                f"condition or the selector (one of {', '.join(METRIC_RATES)}), got {metric!r}"
            )
        if not self.condition.upward:
            raise ValueError("condition: mode sequential alarms on a difference above a threshold")
        if self.selector.group is not None:
            raise ValueError("selector.group: mode sequential compares every group of an attribute")
        if not 0.0 <= self.condition.threshold < 1.0:
            raise ValueError("condition: a difference threshold must be at least 0 and below 1")
        if self.clear <= 0.0:
            raise ValueError(
                "clear_threshold: must be above 0 for mode sequential (it resolves once the data "
                "show every gap below it, and no data can show a gap below 0)"
            )
        step = _tumbling_step(self.selector.window)
        for key, seconds in (("arl", self.arl), ("resolve_arl", self.resolve_arl)):
            if seconds is not None and seconds < step:
                raise ValueError(
                    f"{key}: must be at least one step of the window "
                    f"({format_duration(step)}), got {format_duration(seconds)}"
                )

    @property
    def clear(self) -> float:
        return self.condition.threshold if self.clear_threshold is None else self.clear_threshold

    @property
    def step_seconds(self) -> float:
        """The length of one step of a sequential rule: its tumbling window."""
        return _tumbling_step(self.selector.window)

    def detector(self) -> DetectorSpec:
        """The sequential detector's parameters, durations converted to steps of the window."""
        step = self.step_seconds
        arl = DEFAULT_ARL if self.arl is None else self.arl
        resolve_arl = DEFAULT_RESOLVE_ARL if self.resolve_arl is None else self.resolve_arl
        return DetectorSpec(
            threshold=self.condition.threshold,
            clear=self.clear,
            alarm_level=float(max(1, round(arl / step)) * (self.monitors or 1)),
            resolve_level=float(max(1, round(resolve_arl / step))),
        )


def _tumbling_step(window: str) -> float:
    """Seconds of the tumbling window named by ``window`` (``5m``, ``1h``, ``5m/5m``); a glob
    or a sliding window (``1h/5m``) is refused, naming the fix."""
    if _GLOB.search(window):
        raise ValueError(
            "selector.window: mode sequential watches one tumbling window, named exactly "
            f"(e.g. 5m), got the pattern {window!r}"
        )
    try:
        spec = parse_window(window)
    except ValueError:
        raise ValueError(
            f"selector.window: expected a window name such as 5m or 1h, got {window!r}"
        ) from None
    if spec.sliding:
        step = format_duration(spec.step)
        raise ValueError(
            f"selector.window: mode sequential needs a tumbling window, so that each event is "
            f"counted in one step only, but {window!r} slides by {step} over "
            f"{format_duration(spec.size)}; add a tumbling window such as {step!r} "
            "to `windows` and select it"
        )
    return spec.step


class RouteTiming(Section):
    group_by: list[str] | None = None
    group_wait: Duration | None = None
    group_interval: Duration | None = None
    repeat_interval: Duration | None = None


class RouteOverride(RouteTiming):
    """Alerts whose labels match every glob in ``match`` use this route's timing and also go to
    its ``receivers``; the first matching route wins."""

    match: dict[str, str] = Field(default_factory=dict)
    receivers: list[str] = Field(default_factory=list)

    def matches(self, labels: Mapping[str, str]) -> bool:
        return all(fnmatchcase(labels.get(key, ""), pattern) for key, pattern in self.match.items())


class RoutingConfig(Section):
    """Alerts of a receiver sharing the values of ``group_by`` form one group and one message."""

    group_by: list[str] = Field(default_factory=lambda: ["rule", "model_id"])
    group_wait: Duration = 30.0
    group_interval: Duration = 300.0
    repeat_interval: Duration = 14400.0
    routes: list[RouteOverride] = Field(default_factory=list)


class StorageConfig(Section):
    """The SQLite file (relative to the state dir) holding alerts, the notification log,
    the outbox and silences."""

    path: str = "alerting.sqlite"


class SilencesConfig(Section):
    max_duration: Duration = Field(default=30 * 86400.0, gt=0)


class AlertingConfig(Section):
    enabled: bool = True
    rules: list[RuleConfig] = Field(default_factory=list)
    routing: RoutingConfig = RoutingConfig()
    receivers: list[Annotated[ReceiverConfig, Field(discriminator="type")]] = Field(
        default_factory=list
    )
    storage: StorageConfig = StorageConfig()
    silences: SilencesConfig = SilencesConfig()
    tick_interval: Duration = Field(default=5.0, gt=0)
    resolved_retention: Duration = 900.0
    advice: AdviceConfig = AdviceConfig()

    @model_validator(mode="after")
    def _check_references(self) -> AlertingConfig:
        names = [receiver.name for receiver in self.receivers]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"receiver names must be unique, repeated: {', '.join(duplicates)}")
        if ADVICE_RECEIVER in names:
            raise ValueError(
                f"receiver name {ADVICE_RECEIVER!r} is reserved for the advice topic "
                "(alerting.advice)"
            )
        rule_names = [rule.name for rule in self.rules]
        repeated = sorted({name for name in rule_names if rule_names.count(name) > 1})
        if repeated:
            raise ValueError(f"rule names must be unique, repeated: {', '.join(repeated)}")
        kinds = {receiver.name: receiver for receiver in self.receivers}
        for index, rule in enumerate(self.rules):
            for name in rule.receivers:
                _check_receiver(kinds, name, f"rules[{index}].receivers")
        for index, route in enumerate(self.routing.routes):
            for name in route.receivers:
                _check_receiver(kinds, name, f"routing.routes[{index}].receivers")
        return self

    def rule(self, name: str) -> RuleConfig | None:
        return next((rule for rule in self.rules if rule.name == name), None)

    def receiver(self, name: str) -> ReceiverConfig | None:
        return next((receiver for receiver in self.receivers if receiver.name == name), None)


def _check_receiver(kinds: Mapping[str, ReceiverConfig], name: str, where: str) -> None:
    if name not in kinds:
        known = ", ".join(sorted(kinds)) or "none configured"
        raise ValueError(f"{where}: unknown receiver {name!r} (known: {known})")
    if isinstance(kinds[name], RetrainingConfig):
        raise ValueError(
            f"{where}: {name!r} is a retraining webhook; list the rule in its `rules` instead"
        )


def parse_alerting_config(data: Mapping[str, Any] | None) -> AlertingConfig:
    """Validate the ``alerting:`` mapping; ``ConfigError`` names each bad key path."""
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise ConfigError(f"alerting: expected a mapping, got {type(data).__name__}")
    try:
        return AlertingConfig.model_validate(dict(data))
    except ValidationError as error:
        # receivers' values may hold tokens (a webhook URL): rejected values are not echoed
        raise ConfigError(
            describe(
                error,
                root="alerting",
                keys_documented_in="docs/alerting.md",
                tags=RECEIVER_TYPES,
                echo_input=False,
            )
        ) from None


def overlap_warnings(config: AlertingConfig, windows: Sequence[WindowSpec]) -> list[str]:
    """One warning per rule whose ``for: N evaluations`` (N above 1) counts evaluations of a
    sliding window it selects: they overlap, so most of their data is the same. The form keeps
    its meaning (older files); ``N windows`` or a duration counts distinct data."""
    warnings = []
    for index, rule in enumerate(config.rules):
        count = rule.for_.evaluations
        if count < 2 or rule.mode == "sequential":
            continue
        for spec in windows:
            if not spec.sliding or not fnmatchcase(spec.name, rule.selector.window):
                continue
            held = format_duration(spec.size + (count - 1) * spec.step)
            new = format_duration((count - 1) * spec.step)
            warnings.append(
                f"alerting.rules[{index}].for: {count} evaluations of the sliding window "
                f"{spec.name} overlap: together they hold {held} of data, of which only {new} "
                f"is new; write `for: {count} windows` for {count} windows of distinct data "
                "(docs/alerting.md, Rules)"
            )
    return warnings


def unset_secrets(config: AlertingConfig, environ: Mapping[str, str] | None = None) -> list[str]:
    """One problem per receiver secret whose environment variable is unset or empty: every
    ``*_env`` key a receiver sets is read when the daemon starts (``build_receiver``), so the
    daemon checks them all before it starts rather than fail on the first one half-way."""
    env = os.environ if environ is None else environ
    problems = []
    for index, receiver in enumerate(config.receivers):
        for field in type(receiver).model_fields:
            name = getattr(receiver, field)
            if field.endswith("_env") and isinstance(name, str) and not env.get(name):
                problems.append(
                    f"alerting.receivers[{index}].{field}: environment variable {name} is not set "
                    f"(a secret of receiver {receiver.name!r})"
                )
    return problems
