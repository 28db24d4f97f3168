"""A tiny Litestar server that exposes our metrics and records simulated calls on demand.

It stands in for the engine server in the real-Prometheus test so the scrape and query path is proven on its own;
``POST /simulate`` records exactly what the engine records for a call (``metrics.turn.observe_turn`` per bot
reply, ``metrics.call.record_call_finished`` per call). Run: ``python -m uvicorn tests.telemetry.metrics_app:app``.
"""

from __future__ import annotations

import os

from litestar import Litestar, post
from pydantic import BaseModel, Field

from metrics import call, turn
from metrics.litestar import loop_lag_lifespan, metrics_endpoint


class SimulatedCalls(BaseModel):
    calls: int = Field(ge=1, le=100)
    turns_per_call: int = Field(ge=0, le=50)
    voice_to_voice_s: float = Field(default=0.7, ge=0)
    status: str = "completed"
    outcome: str | None = "qualified"
    duration_s: float = Field(default=30.0, ge=0)


@post("/simulate", sync_to_thread=False)
def simulate(data: SimulatedCalls) -> dict[str, int]:
    # The pid tells the test which worker process recorded the calls.
    for _ in range(data.calls):
        with call.track_active_call():
            for _ in range(data.turns_per_call):
                turn.observe_turn(
                    voice_to_voice_s=data.voice_to_voice_s,
                    endpointing_s=0.2,
                    stt_s=0.3,
                    llm_first_token_s=0.05,
                    tts_first_audio_s=0.1,
                )
        call.record_call_finished(data.status, data.outcome, data.duration_s)
    return {"calls": data.calls, "turns": data.calls * data.turns_per_call, "pid": os.getpid()}


app = Litestar(route_handlers=[metrics_endpoint, simulate], lifespan=[loop_lag_lifespan])
