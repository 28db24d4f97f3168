"""``closerr simulate``: synthesize the persona's lines, call the engine, and report what happened."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import time
import urllib.error
import urllib.request
from typing import Any

from engine.audio.pcm import silence
from engine.records import percentile
from engine.simulator.caller import SimulatedCaller
from engine.simulator.persona import Persona
from engine.simulator.voices import RATE, synthesize


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_healthy(base_url: str, timeout_s: float = 90.0, process: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"engine server exited with code {process.returncode}")
        try:
            with urllib.request.urlopen(f"{base_url}/health", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    raise TimeoutError(f"engine at {base_url} did not become healthy")


def fetch_record(base_url: str, call_id: str, timeout_s: float = 15.0) -> dict[str, Any] | None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{base_url}/engine/calls/{call_id}", timeout=5) as response:
                return json.loads(response.read())  # type: ignore[no-any-return]
        except urllib.error.HTTPError as exc:
            if exc.code != 404:
                raise
        except (urllib.error.URLError, ConnectionError):
            pass
        time.sleep(0.2)
    return None


def custom_parameters(persona: Persona) -> dict[str, str]:
    params = {
        "lead_name": persona.lead.name,
        "lead_phone": persona.lead.phone,
        "lead_metadata": json.dumps(persona.lead.metadata),
        "policy": persona.policy,
    }
    if persona.recording:
        params["recording"] = "on"
    script_path = persona.script_path()
    if script_path is not None:
        from engine.agent.script import load_script_file

        params["script"] = load_script_file(script_path).model_dump_json()
    return params


MACHINE_GREETING = "Hi, you have reached Ravi. I am not available right now. Please leave a message after the beep."


def lead_lines(persona: Persona) -> list[str]:
    """What the lead says, one line per turn."""
    lines = [t.text for t in persona.turns if t.say is not None]
    if persona.answering_machine and not lines:
        lines = [MACHINE_GREETING]
    return lines


def lead_utterances(persona: Persona) -> list[bytes]:
    """The audio of each turn ``lead_lines`` lists (8 kHz PCM): a turn said in parts has its gaps of silence."""
    turns = [(t.parts, t.gap_s) for t in persona.turns if t.say is not None]
    if persona.answering_machine and not turns:
        turns = [([MACHINE_GREETING], 0.0)]
    audio = iter(synthesize(persona.voice, [part for parts, _ in turns for part in parts]))
    return [silence(RATE, gap_s).join(next(audio) for _ in parts) for parts, gap_s in turns]


async def simulate(persona: Persona, base_url: str) -> dict[str, Any]:
    params = custom_parameters(persona)
    utterances = lead_utterances(persona)
    ws_url = base_url.replace("http://", "ws://").replace("https://", "wss://") + f"/media/{persona.carrier}"
    if persona.sample_rate != 8000:
        ws_url += f"?sample-rate={persona.sample_rate}"  # as Exotel's applet asks for it
    caller = SimulatedCaller(persona, utterances, ws_url)
    result = await caller.run(params)
    record = await asyncio.get_running_loop().run_in_executor(None, fetch_record, base_url, caller.call_id)
    return report(result.v2v_s, record, caller_error=result.error)


def report(v2v: list[float], record: dict[str, Any] | None, caller_error: str | None = None) -> dict[str, Any]:
    record = record or {}
    engine_turns = record.get("turns", [])
    turns = []
    for index, turn in enumerate(engine_turns):
        turns.append(
            {
                "v2v_s": v2v[index] if index < len(v2v) else None,
                "engine_v2v_s": turn.get("v2v_s"),
                "endpoint_s": turn.get("endpoint_s"),
                "stt_s": turn.get("stt_s"),
                "policy_s": turn.get("policy_s"),
                "tts_s": turn.get("tts_s"),
                "turn_end": turn.get("turn_end"),
            }
        )
    return {
        "call_id": record.get("call_id"),
        "outcome": record.get("outcome", "error"),
        "slots": record.get("slots", {}),
        "ended_by": record.get("ended_by", "error"),
        "opted_out": record.get("opted_out", False),
        "transcript": record.get("transcript", []),
        "turns": turns,
        "latency": {"v2v_p50_s": percentile(v2v, 50), "v2v_p95_s": percentile(v2v, 95)},
        "interruptions": record.get("interruptions", 0),
        "notes": record.get("notes", []),
        "underruns": record.get("underruns", 0),
        "recording": record.get("recording"),
        "error": record.get("error") or caller_error or (None if record else "no call record from the engine"),
    }
