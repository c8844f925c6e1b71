"""The retraining receiver's own dedup: one trigger per alert episode, one per model per cooldown.

A retraining request starts an expensive job: an alert that keeps firing must not start a second
one (the episode is remembered per receiver), and a model whose alerts fire one after another
is retrained at most once per ``cooldown``.
"""

from __future__ import annotations

from alerting.metrics import NOTIFICATIONS_SUPPRESSED
from alerting.notify.batch import Batch
from alerting.types import TriggerLog
from monitor.counters import Counters


class OncePerEpisode:
    """Stops a trigger for an alert episode that has triggered this receiver already (not
    counted: the alert just fired again in a later window)."""

    def __init__(self, triggers: TriggerLog) -> None:
        self._triggers = triggers

    def process(self, batch: Batch) -> Batch | None:
        assert batch.episode is not None, "a retraining trigger names its alert episode"
        return None if self._triggers.episode_seen(batch.receiver, batch.episode) else batch


class Cooldown:
    """Stops a trigger within ``cooldown`` seconds of the model's last one, counted
    (``fairwatch_alert_notifications_suppressed_total{reason="cooldown"}``)."""

    def __init__(self, triggers: TriggerLog, cooldown: float, counters: Counters) -> None:
        self._triggers = triggers
        self._cooldown = cooldown
        self._counters = counters

    def process(self, batch: Batch) -> Batch | None:
        last = self._triggers.last_trigger(batch.receiver, model_of(batch))
        if last is not None and batch.now - last < self._cooldown:
            self._counters.inc(NOTIFICATIONS_SUPPRESSED, reason="cooldown")
            return None
        return batch


def model_of(trigger: Batch) -> str:
    """The model a retraining trigger asks to retrain (a trigger is about one alert)."""
    [alert] = trigger.alerts
    return alert.state.key.model_id
