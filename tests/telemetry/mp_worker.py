"""A worker process for the multiprocess test: records calls, holds one call active, and waits for "exit".

It quits with ``os._exit`` while the call is still active, like a crashed worker, so the test can show that
``mark_process_dead`` drops its live gauges while its counters survive.
Usage: PROMETHEUS_MULTIPROC_DIR=... python -m tests.telemetry.mp_worker CALLS TURNS_PER_CALL
"""

from __future__ import annotations

import os
import sys

from metrics import call, dispatch, turn


def main() -> None:
    calls, turns = int(sys.argv[1]), int(sys.argv[2])
    for _ in range(calls):
        for _ in range(turns):
            turn.observe_turn(voice_to_voice_s=0.65, stt_s=0.3)
        call.record_call_finished("completed", "qualified", 20.0)
    dispatch.set_campaign_queue_depth("7", 10 + calls)
    call.ACTIVE_CALLS.inc()
    print(f"ready {os.getpid()}", flush=True)
    sys.stdin.readline()
    os._exit(0)


if __name__ == "__main__":
    main()
