"""What every receiver shares: its base config, the delivery context and HTTP error mapping.

The ``Receiver`` interface itself is declared in ``alerting.types``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

import httpx
from pydantic import Field, ValidationInfo, field_validator

from alerting.errors import ConfigError, ReceiverError, classify_status, parse_retry_after
from monitor.config.durations import Duration
from monitor.config.sections import Section

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class RetryConfig(Section):
    """Exponential backoff with jitter between delivery attempts of one notification.

    Attempt ``k`` (1-based) waits ``min(max_backoff, initial_backoff * 2**(k-1))``, jittered to
    between half and all of it, and at least the receiver's ``Retry-After``. A notification still
    undelivered ``max_age`` after it was queued is dropped and counted (reason ``expired``).
    """

    initial_backoff: Duration = 1.0
    max_backoff: Duration = 300.0
    max_age: Duration = 86400.0


class RateLimitConfig(Section):
    """At most ``max_notifications`` deliveries per ``per`` to this receiver; the excess waits in
    the outbox (it is delayed, not dropped)."""

    max_notifications: int = Field(gt=0)
    per: Duration = Field(gt=0)


class ReceiverConfigBase(Section):
    name: str = Field(min_length=1)
    send_resolved: bool = True
    timeout: Duration = Field(default=10.0, gt=0)
    retry: RetryConfig = RetryConfig()
    rate_limit: RateLimitConfig | None = None


def check_env_name(value: str | None) -> str | None:
    if value is not None and not _ENV_NAME.match(value):
        raise ValueError(f"expected the NAME of an environment variable, got {value!r}")
    return value


class EnvNameValidated(ReceiverConfigBase):
    """Base for configs holding ``*_env`` fields: the names of variables holding secrets."""

    @field_validator("*", mode="after")
    @classmethod
    def _env_names(cls, value: object, info: ValidationInfo) -> object:
        name = info.field_name or ""
        if name.endswith("_env") and (value is None or isinstance(value, str)):
            return check_env_name(value)
        return value


def check_http_url(value: str | None) -> str | None:
    """``value`` when it is an absolute http(s) URL (else ``ValueError``; the URL is not echoed,
    it may hold a token)."""
    if value is not None:
        try:
            url = httpx.URL(value)
        except Exception:
            raise ValueError("expected an absolute http:// or https:// URL") from None
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError("expected an absolute http:// or https:// URL")
    return value


def read_secret(receiver: str, field: str, env_name: str) -> str:
    """The value of the environment variable ``env_name``; the value is never logged."""
    value = os.environ.get(env_name)
    if not value:
        raise ConfigError(
            f"alerting.receivers[{receiver}].{field}: environment variable {env_name} is not set"
        )
    return value


@dataclass(frozen=True)
class DeliveryContext:
    """Per-attempt facts the outbox hands a receiver.

    ``idempotency_key`` is stable across retries of one notification; ``thread_ref`` is what the
    receiver returned for an earlier message of the same alert group (Slack's ``ts``).
    """

    idempotency_key: str
    attempt: int = 1
    now: float = 0.0
    thread_ref: str | None = None


@dataclass(frozen=True)
class DeliveryResult:
    """A successful delivery. ``thread_ref`` is remembered for later messages of the group;
    ``clear_thread`` forgets it (the group resolved)."""

    detail: str = ""
    thread_ref: str | None = None
    clear_thread: bool = False


def post_json(
    client: httpx.Client, url: str, body: bytes, headers: dict[str, str]
) -> httpx.Response:
    """POST ``body``; map transport failures and error statuses to ``ReceiverError``."""
    try:
        response = client.post(
            url, content=body, headers={"Content-Type": "application/json", **headers}
        )
    except httpx.TimeoutException as error:
        raise ReceiverError(
            "timeout", f"no answer from {_host(url)}: {type(error).__name__}"
        ) from None
    except httpx.TransportError as error:
        raise ReceiverError(
            "connection", f"cannot reach {_host(url)}: {type(error).__name__}"
        ) from None
    raise_for_status(response.status_code, response.headers.get("Retry-After"), response.text, url)
    return response


def raise_for_status(status: int, retry_after: str | None, text: str, url: str) -> None:
    kind = classify_status(status)
    if kind is None:
        return
    raise ReceiverError(
        kind,
        f"{_host(url)} answered HTTP {status}: {text[:200]}",
        status=status,
        retry_after=parse_retry_after(retry_after),
    )


def _host(url: str) -> str:
    """Scheme, host and port of a URL: paths can hold secrets (webhook tokens); never log them."""
    try:
        parsed = httpx.URL(url)
    except Exception:  # an unparsable URL is reported without its text
        return "<invalid url>"
    port = f":{parsed.port}" if parsed.port else ""
    return f"{parsed.scheme}://{parsed.host}{port}"
