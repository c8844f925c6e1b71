"""The in-memory source and dead letters (the pipeline without Kafka)."""

from __future__ import annotations

from monitor.stream.decode import BatchDecoder, DecodeRules, InvalidEvent, Reason, Record
from monitor.stream.memory import EmbeddedSource, MemoryDeadLetters


def test_embedded_source_resumes_from_positions_and_pauses() -> None:
    records = [Record("predictions", p, o, None, b"{}") for o in range(3) for p in range(2)]
    source = EmbeddedSource(records)
    source.start({("predictions", 0): 2})
    source.pause()
    assert source.poll(100, 0.0) == []
    source.resume()
    got = source.poll(100, 0.0)
    assert [(r.partition, r.offset) for r in got] == [(1, 0), (1, 1), (0, 2), (1, 2)]
    assert source.is_idle()


def test_embedded_source_hands_out_decoded_batches_and_none_when_drained() -> None:
    value = (
        b'{"prediction_id":"a","model_id":"m","timestamp":1,"prediction":1,"sensitive":{"sex":"F"}}'
    )
    source = EmbeddedSource(
        [Record("predictions", 0, 0, None, value), Record("labels", 0, 0, None, b"{bad")]
    )
    source.start({})
    decoder = BatchDecoder(DecodeRules(), "predictions", "labels")
    batch = source.poll_decoded(100, 0.0, decoder)
    assert batch is not None
    assert batch.predictions.prediction_id == ["a"]
    assert [error.reason for error in batch.rejected] == [Reason.INVALID_JSON]
    assert batch.positions == {("predictions", 0): 1, ("labels", 0): 1}
    assert source.poll_decoded(100, 0.0, decoder) is None
    assert source.lag({}) == {("predictions", 0): 0, ("labels", 0): 0}


def test_memory_dead_letters_keep_every_letter_and_are_always_acknowledged() -> None:
    letters = MemoryDeadLetters()
    error = InvalidEvent(Record("labels", 0, 3, None, b""), Reason.EMPTY, "no value")
    letters.send([error])
    assert letters.flush(0.0) and letters.letters == [error]
    letters.close(0.0)
