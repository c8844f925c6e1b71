"""The list of the Flink job's documented differences agrees with the decoder's own verdicts
(without a cluster; the integration test asserts the job's side)."""

from __future__ import annotations

import pytest

from tests.fairwatch.flink.integration.differences import DIFFERENCES
from tests.monitor.stream.decode.cases import BY_NAME

PIPELINE_ONLY = ("too_late", "future_timestamp")  # reasons the pipeline gives after decoding


@pytest.mark.parametrize("name", sorted(DIFFERENCES))
def test_a_difference_starts_from_the_decoders_verdict(name: str) -> None:
    difference, case = DIFFERENCES[name], BY_NAME[name]
    if case.reason is None:  # accepted by the decoder: counted, or refused by event time
        assert difference.in_process in (None, *PIPELINE_ONLY)
    else:
        assert difference.in_process == case.reason
    assert not (difference.uncounted and difference.in_process is not None)
    assert not (difference.counted_as is not None and difference.flink is not None)
