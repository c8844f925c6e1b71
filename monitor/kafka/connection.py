"""Connecting to Kafka without hanging and without flooding the log.

Every process that talks to Kafka (the daemon, the consumer child process) uses both parts:

- :func:`create_client` builds a kafka-python client (consumer, producer, admin client) waiting at
  most ``timeout`` seconds for the cluster to answer, and gives up at once when ``interrupted`` is
  set (SIGTERM while connecting). kafka-python's constructors block until the cluster answers
  (``bootstrap_timeout_ms``) and, when they give up, leave their network thread behind; here the
  network client is closed instead.
- :class:`ConnectionLog` stands in for kafka-python's own log lines. While a broker is away
  kafka-python writes about 150 ERROR/WARNING lines a minute; the daemon writes one line when the
  cluster becomes unreachable, ``event=kafka_unreachable bootstrap=kafka:9092
  since=2026-01-05T10:00:00Z action=retrying error="..."``, and one when it is back,
  ``event=kafka_reachable bootstrap=kafka:9092 down_for=42s suppressed=117``.

  Until the first connection succeeds it writes nothing: the bounded start-up wait reports
  instead (``fairwatch run`` exits 4 with one line naming the servers, or, when the cluster
  answers late, ``kafka_reachable`` says how long it took). kafka-python's warnings that are not
  about connections are passed on while the cluster is reachable, the same one at most once a
  minute.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from monitor.config import KafkaSettings
from monitor.types import Flag, StartInterrupted

logger = logging.getLogger(__name__)

Client = TypeVar("Client")

# Templates of kafka-python's log messages (3.x) that mean a connection failed or succeeded.
_FAILURE = re.compile(
    r"connect|bootstrap|not ready|disconnected|no node available|timed out|metadata refresh",
    re.IGNORECASE,
)
_SUCCESS = re.compile(r": Connected$|^Bootstrap complete")
# kafka-python's other warnings are passed on, the same one at most once in this many seconds.
REPEAT_INTERVAL = 60.0


def _iso(timestamp: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(timestamp))


def _quoted(text: str, limit: int = 200) -> str:
    text = " ".join(text.split()).replace('"', "'")
    return '"' + (text if len(text) <= limit else text[: limit - 1] + "…") + '"'


class ConnectionLog(logging.Handler):
    """Handler of the ``kafka`` loggers: one line per change between reachable and unreachable.

    States: ``new`` (never connected), ``up``, ``out`` (connections fail) and ``recovering`` (a
    connection succeeded during an outage). The cluster counts as back once a connection has held
    for ``settle`` seconds without a failure: a broker that is still starting accepts connections
    before it can serve them. While ``out`` or ``recovering``, kafka-python's warnings are
    counted (``suppressed``), not written; with ``level`` DEBUG everything is written as well.
    With ``report`` false the state lines are left to another process (the daemon's, while the
    consumer process reports them).
    """

    def __init__(
        self,
        bootstrap: str,
        level: int = logging.INFO,
        settle: float = 5.0,
        report: bool = True,
    ) -> None:
        super().__init__(logging.DEBUG)
        self.bootstrap = bootstrap
        self.report = report
        self.passthrough_level = max(logging.WARNING, level)
        self.verbose = level <= logging.DEBUG
        self.settle = settle
        self.state = "new"
        self.since = 0.0  # when the outage began
        self.recovered_at = 0.0  # when the connection that may end it succeeded
        self.suppressed = 0
        self._timer: threading.Timer | None = None
        self._last_shown: dict[tuple[str, str], float] = {}

    def emit(self, record: logging.LogRecord) -> None:
        template = str(record.msg)
        self._settle_if_due(record.created)
        shown = False
        if record.levelno >= logging.WARNING and _FAILURE.search(template):
            self._failed(record.created, record.getMessage())
        elif record.levelno <= logging.INFO and _SUCCESS.search(template):
            self._connected(record.created)
        elif record.levelno >= logging.WARNING and self.state in ("out", "recovering"):
            self.suppressed += 1
        elif record.levelno >= self.passthrough_level:
            shown = self._first_in_a_while(record)
        if shown or self.verbose:
            logging.getLogger().handle(record)

    def _first_in_a_while(self, record: logging.LogRecord) -> bool:
        """Whether to pass on another warning of kafka-python's: the same message (template) at
        most once every ``REPEAT_INTERVAL`` seconds."""
        key = (record.name, str(record.msg))
        if record.created < self._last_shown.get(key, -REPEAT_INTERVAL) + REPEAT_INTERVAL:
            return False
        self._last_shown[key] = record.created
        return True

    def failure(self, detail: str) -> None:
        """A failure fairwatch saw itself (e.g. a poll that raised)."""
        self.acquire()
        try:
            now = time.time()
            self._settle_if_due(now)
            self._failed(now, detail)
        finally:
            self.release()

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        super().close()

    def _failed(self, when: float, detail: str) -> None:
        if self.state in ("out", "recovering"):
            self.state = "out"  # a recovery that did not hold: the same outage goes on
            self.suppressed += 1
            return
        first_contact = self.state == "new"
        self.state, self.since, self.suppressed = "out", when, 0
        if first_contact or not self.report:
            return  # the bounded start-up wait reports a failure before the first connection
        logger.warning(
            "event=kafka_unreachable bootstrap=%s since=%s action=retrying error=%s",
            self.bootstrap,
            _iso(when),
            _quoted(detail),
        )

    def _connected(self, when: float) -> None:
        if self.state == "new":
            self.state = "up"
        elif self.state == "out":
            self.state, self.recovered_at = "recovering", when
            if self._timer is not None:
                self._timer.cancel()
            # Says so after ``settle`` seconds even if kafka-python logs nothing more by then.
            self._timer = threading.Timer(self.settle, self._settle_now, args=(when,))
            self._timer.daemon = True
            self._timer.start()

    def _settle_now(self, recovered_at: float) -> None:
        self.acquire()
        try:
            if self.recovered_at == recovered_at:  # not a recovery that failed since
                self._settle_if_due(recovered_at + self.settle)
        finally:
            self.release()

    def _settle_if_due(self, now: float) -> None:
        if self.state != "recovering" or now < self.recovered_at + self.settle:
            return
        self.state = "up"
        if not self.report:
            return
        logger.info(
            "event=kafka_reachable bootstrap=%s down_for=%.0fs suppressed=%d",
            self.bootstrap,
            max(0.0, self.recovered_at - self.since),
            self.suppressed,
        )


def install_connection_log(
    bootstrap_servers: Sequence[str], level: int, report: bool = True
) -> ConnectionLog:
    """Route the ``kafka`` loggers of this process through a :class:`ConnectionLog` (replacing
    one installed before); ``level`` is the process's log level; ``report`` false leaves the
    state lines to another process."""
    kafka = logging.getLogger("kafka")
    for handler in list(kafka.handlers):
        if isinstance(handler, ConnectionLog):
            kafka.removeHandler(handler)
    handler = ConnectionLog(",".join(bootstrap_servers), level, report=report)
    kafka.addHandler(handler)
    kafka.propagate = False
    # INFO is needed to see connections succeed (a few lines per connection, not per fetch).
    kafka.setLevel(min(logging.INFO, level))
    return handler


def connection_failed(detail: str) -> None:
    """Report a failure to this process's :class:`ConnectionLog` (a warning without one)."""
    for handler in logging.getLogger("kafka").handlers:
        if isinstance(handler, ConnectionLog):
            handler.failure(detail)
            return
    logger.warning("event=kafka_error error=%s", _quoted(detail))


def kafka_client_settings(settings: KafkaSettings) -> dict[str, Any]:
    """Connection settings shared by the consumer, the producer and the admin client."""
    return {
        "bootstrap_servers": list(settings.bootstrap_servers),
        "client_id": settings.client_id,
        **settings.security,
    }


def create_client(
    factory: Callable[..., Client],
    configs: dict[str, Any],
    timeout: float,
    interrupted: Flag | None = None,
) -> Client:
    """``factory(**configs)`` (``KafkaConsumer``, ``KafkaProducer``, ``KafkaAdminClient``) once
    the cluster answers.

    Raises what kafka-python raises, e.g. ``KafkaTimeoutError`` when the cluster did not answer
    within ``timeout`` seconds, and :class:`StartInterrupted` as soon as ``interrupted`` is set.
    The constructor runs in a helper thread so that the caller can give up: closing its network
    client makes it return at once.
    """
    default_client = getattr(factory, "DEFAULT_CONFIG", {}).get("kafka_client")
    clients: list[Any] = []

    def network_client(**client_configs: Any) -> Any:
        client = default_client(**client_configs)  # type: ignore[misc]
        clients.append(client)
        return client

    def close_clients() -> None:
        for client in clients:
            try:
                client.close()
            except Exception as error:  # closing is best effort: the process goes on or exits
                logger.debug("event=kafka_client_close_failed error=%s", error)

    outcome: list[Any] = []

    def construct() -> None:
        try:
            extra = {"kafka_client": network_client} if default_client is not None else {}
            outcome.append(
                factory(**configs, bootstrap_timeout_ms=max(1, int(timeout * 1000)), **extra)
            )
        except BaseException as error:
            outcome.append(error)

    if interrupted is not None and interrupted.is_set():
        raise StartInterrupted("stop requested before connecting to Kafka")
    thread = threading.Thread(target=construct, name="kafka-connect", daemon=True)
    thread.start()
    while thread.is_alive():
        thread.join(0.1)
        if interrupted is not None and interrupted.is_set():
            close_clients()
            thread.join(2.0)
            if outcome and not isinstance(outcome[0], BaseException):
                _close(outcome[0])
            raise StartInterrupted("stop requested while connecting to Kafka")
    if not outcome:
        raise RuntimeError("the Kafka client constructor ended without a result")
    if isinstance(outcome[0], BaseException):
        close_clients()
        raise outcome[0]
    return outcome[0]


def _close(client: Any) -> None:
    try:
        client.close()
    except Exception as error:
        logger.debug("event=kafka_client_close_failed error=%s", error)
