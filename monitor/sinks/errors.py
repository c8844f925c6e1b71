"""Errors raised by the sinks; each message says what to check."""

from __future__ import annotations


class SinkError(Exception):
    """Base class of every sink error."""


class SinkUnavailableError(SinkError):
    """The sink could not write everything within the time given; the rows are still buffered.

    The server is down, unreachable or refusing the writes (wrong token, missing database or
    bucket). The message carries the last error; a later ``flush()`` retries.
    """


class SinkRejectedError(SinkError):
    """The server rejected rows as invalid (HTTP 400); they will not be retried.

    This points at a schema conflict in the target bucket (e.g. a field written with another type
    by another writer); the message carries the server's explanation.
    """


class SinkClosedError(SinkError):
    """A write or flush was attempted after ``close()``."""
