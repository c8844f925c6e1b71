"""Idempotency key: what every delivery attempt of one notification carries, so that a receiver
folds repeats (a retry after a lost answer, a resend after a crash between the receiver's
answer and the outbox's commit)."""

from __future__ import annotations

import hashlib
from dataclasses import replace

from alerting.notify.batch import Batch


class IdempotencyKey:
    """Keys the batch's notification: a retraining trigger by its alert episode (one episode
    never starts two retrainings), a group notification by its receiver, group, time and the
    alerts it tells about."""

    def process(self, batch: Batch) -> Batch | None:
        if batch.notification is None:
            return batch
        if batch.episode is not None:
            key = digest(batch.receiver, batch.episode)
        else:
            key = digest(
                batch.receiver,
                batch.group_key,
                f"{batch.now:.6f}",
                *sorted(batch.firing),
                "|",
                *sorted(batch.resolved),
            )
        return replace(batch, idempotency_key=key)


def digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]
