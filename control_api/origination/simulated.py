"""The simulated carrier (embedded default): "dials" by playing the lead with a persona through the engine's real
WebSocket media path (the Twilio protocol, exactly as ``closerr simulate``), and simulates no-answer, busy and
failed calls at configurable rates.

The persona comes from the lead's metadata: ``{"persona": "qualified"}`` names a bundled persona
(``control_api/origination/personas/*.yaml``), a mapping is a persona inline; ``{"sim": "busy"}`` forces a carrier
result. Leads without either get a default mix, stable per call.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import uuid
from collections import OrderedDict
from importlib import resources
from typing import Any

import yaml
from loguru import logger

from config.settings import Settings
from control_api.origination.base import CarrierError, Dial, Origination
from engine.facade import CallerResult, Engine, Persona, parse_persona

FATES = ("answer", "no_answer", "busy", "failed")
KEEP_RESULTS = 500  # caller-side measurements kept per process (the demo reads them)
DEFAULT_MIX = ("qualified", "not_qualified", "callback", "voicemail", "opt_out")
_PLACEHOLDER_LEAD = {"name": "Simulated Lead", "phone": "+919800000000"}


def bundled_personas() -> list[str]:
    folder = resources.files("control_api.origination").joinpath("personas")
    return sorted(p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml"))


def load_persona(spec: str | dict[str, Any]) -> Persona:
    """A bundled persona by name, or an inline persona mapping (its ``lead`` is optional here)."""
    if isinstance(spec, str):
        if spec not in bundled_personas():
            raise CarrierError(f"unknown simulated persona {spec!r}", disposition="error")
        text = resources.files("control_api.origination").joinpath("personas", f"{spec}.yaml").read_text("utf-8")
        return parse_persona(text)
    data = {"lead": dict(_PLACEHOLDER_LEAD), **spec}
    data.pop("script", None)  # the campaign's script is the one the engine runs
    return parse_persona(yaml.safe_dump(data))


class SimulatedCarrier:
    name = "simulated"
    protocol = "twilio"

    def __init__(self, settings: Settings, engine: Engine) -> None:
        self._engine = engine
        self.rates = {
            "no_answer": settings.sim_no_answer_rate,
            "busy": settings.sim_busy_rate,
            "failed": settings.sim_failed_rate,
        }
        self.ring_s = settings.sim_ring_s
        self._calls: dict[str, asyncio.Task[None]] = {}
        # What the simulated lead measured at its side of the transport (voice-to-voice), by our call id.
        self.results: OrderedDict[str, CallerResult] = OrderedDict()

    def fate(self, dial: Dial) -> str:
        forced = dial.metadata.get("sim")
        if isinstance(forced, str):
            if forced not in FATES:
                raise CarrierError(f"unknown simulated result {forced!r}", disposition="error")
            return forced
        roll = random.Random(dial.call_id).random()
        for fate, rate in self.rates.items():
            if roll < rate:
                return fate
            roll -= rate
        return "answer"

    def persona_for(self, dial: Dial) -> Persona:
        spec = dial.metadata.get("persona")
        if isinstance(spec, str | dict):
            return load_persona(spec)
        return load_persona(DEFAULT_MIX[random.Random(dial.call_id).randrange(len(DEFAULT_MIX))])

    async def originate(self, dial: Dial) -> Origination:
        fate = self.fate(dial)
        persona = self.persona_for(dial) if fate == "answer" else None
        await asyncio.sleep(self.ring_s)
        if persona is None:
            return Origination(carrier_call_id=None, disposition=fate)
        carrier_id = f"SIM{uuid.uuid4().hex}"
        task = asyncio.create_task(self._play(persona, dial), name=f"sim-{dial.call_id}")
        self._calls[carrier_id] = task
        task.add_done_callback(lambda _t: self._calls.pop(carrier_id, None))
        return Origination(carrier_call_id=carrier_id)

    async def _play(self, persona: Persona, dial: Dial) -> None:
        try:
            result = await self._engine.play_simulated_lead(persona, dial.media_url, dial.call_id, dial.stream_token)
            self.results[dial.call_id] = result
            while len(self.results) > KEEP_RESULTS:
                self.results.popitem(last=False)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            logger.warning("simulated call {} failed: {}", dial.call_id, type(exc).__name__)

    async def hangup(self, carrier_call_id: str) -> None:
        task = self._calls.pop(carrier_call_id, None)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def aclose(self) -> None:
        for carrier_id in list(self._calls):
            await self.hangup(carrier_id)
