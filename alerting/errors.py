"""Typed errors of the alert manager.

An invalid ``alerting:`` section raises the configuration's one ``ConfigError``
(``monitor.config.errors``, re-exported here), naming the key path and the expected form, e.g.
``alerting.rules[0].condition.op: Input should be '>', '>=', '<' or '<='``.

Receiver failures are classified the way an operator acts on them:

* ``auth``: the credential is wrong or revoked; fix the secret. Not retried.
* ``rate_limited``: the receiver asked us to slow down (HTTP 429); retried after ``Retry-After``.
* ``client``: the receiver rejected the request (other 4xx); fix the config. Not retried.
* ``server``: the receiver failed (5xx); retried with backoff.
* ``timeout`` / ``connection``: the receiver did not answer; retried with backoff.
"""

from __future__ import annotations

from typing import Literal

from monitor.config.errors import ConfigError

__all__ = [
    "RETRYABLE",
    "AlertingError",
    "ConfigError",
    "FailureKind",
    "ReceiverError",
    "classify_status",
    "parse_retry_after",
]

FailureKind = Literal["auth", "rate_limited", "client", "server", "timeout", "connection"]

RETRYABLE: frozenset[str] = frozenset({"rate_limited", "server", "timeout", "connection"})


class AlertingError(Exception):
    """Base class of every error raised by ``alerting`` but ``ConfigError`` (a ``ValueError``,
    the same class for every section of the configuration)."""


class ReceiverError(AlertingError):
    """A receiver could not deliver a notification.

    ``kind`` classifies the failure (see the module docstring); ``retry_after`` is the delay in
    seconds the receiver asked for, when it said so; ``status`` is the HTTP status if any.
    """

    def __init__(
        self,
        kind: FailureKind,
        message: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"{kind}: {message}")
        self.kind: FailureKind = kind
        self.status = status
        self.retry_after = retry_after

    @property
    def retryable(self) -> bool:
        return self.kind in RETRYABLE


def classify_status(status: int) -> FailureKind | None:
    """The failure kind of an HTTP status code, or ``None`` for a success (2xx/3xx)."""
    if status < 400:
        return None
    if status in (401, 403):
        return "auth"
    if status == 429:
        return "rate_limited"
    if status >= 500:
        return "server"
    return "client"


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header given in seconds (HTTP-dates are ignored)."""
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return max(seconds, 0.0)
