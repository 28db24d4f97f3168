"""A tiny real run of the harness: one one-turn call to Closerr and one to the pipecat baseline, through the real
servers, caller process and result summary. Checks that the pieces fit, never how fast they are."""

from __future__ import annotations

import pytest

from benchmarks.call_batch import WARMUP_PERSONA, call_spec, run_batch
from benchmarks.call_fleet import CallFleet
from benchmarks.servers import SYSTEMS, start_server

pytestmark = pytest.mark.e2e


@pytest.mark.timeout(300)
def test_one_call_to_each_system() -> None:
    with CallFleet([WARMUP_PERSONA]) as fleet:
        for system in SYSTEMS:
            server = start_server(system)
            try:
                summary, calls, records = run_batch(fleet, server, [[call_spec(system, WARMUP_PERSONA)]])
            finally:
                server.stop()
            assert summary["calls"] == 1, system
            assert summary["failed_calls"] == 0, (system, summary["errors"], server.log_tail())
            assert summary["turns"] == 1, (system, calls)
            assert summary["v2v_p50_s"] is not None and summary["v2v_p50_s"] > 0
            assert summary["rss_mb"] is not None and summary["rss_mb"] > 0
            record = records[calls[0]["call_id"]]
            assert record is not None and record["turns"], system
            assert record["turns"][0]["stt_s"] is not None
