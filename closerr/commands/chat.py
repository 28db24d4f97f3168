"""``closerr chat SCRIPT.yaml``: talk to an agent script by typing, or replay a file of lead lines, with no audio."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, NoReturn

import typer

MAX_LEAD_LINES_BYTES = 1_000_000


def register(app: typer.Typer) -> None:
    @app.command("chat")
    def chat_command(
        script_file: Path = typer.Argument(..., help="Agent script, YAML or JSON (engine/agent/scripts/README.md)."),
        policy: str = typer.Option("script", "--policy", help="Dialogue policy: script or llm (CLOSERR_LLM_*)."),
        lead_lines: Path | None = typer.Option(
            None, "--lead-lines", help="The lead's lines, one a line (an empty line is a silence); default: stdin."
        ),
        as_json: bool = typer.Option(False, "--json", help="Print one JSON object at the end instead of the talk."),
        lead_name: str = typer.Option("Ravi Kumar", "--lead-name", help="The lead's name, for {lead.name}."),
    ) -> None:
        """Run an agent script's dialogue policy on typed lead lines: each agent line is printed, nothing is spoken."""
        from closerr.build import llm_endpoint
        from config.settings import get_settings
        from engine.agent.factory import POLICIES, make_policy
        from engine.agent.script import ScriptError, load_script_file

        if policy not in POLICIES:
            _fail(f"--policy must be one of {', '.join(POLICIES)}, not {policy!r}")
        try:
            script = load_script_file(script_file)
        except ScriptError as exc:
            _fail(str(exc))
        lines = _read_lead_lines(lead_lines) if lead_lines is not None else None
        llm = llm_endpoint(get_settings())
        dialogue = make_policy(
            json.loads(script.model_dump_json()),
            policy,
            llm_base_url=llm.base_url,
            llm_model=llm.model,
            llm_api_key=llm.api_key,
            llm_first_token_timeout_s=llm.first_token_timeout_s,
        )
        turns = iter(lines) if lines is not None else _stdin_lines(prompt=not as_json and sys.stdin.isatty())
        result = asyncio.run(_chat(dialogue, lead_name, turns, show=not as_json, echo_lead=lines is not None))
        if as_json:
            typer.echo(json.dumps(result, default=str))
        else:
            typer.echo(f"[call ended: {result['outcome']}, ended by {result['ended_by']}]")
            typer.echo(f"slots: {json.dumps(result['slots'], default=str)}")
            if result["opted_out"]:
                typer.echo("opted out: the number would be suppressed")


def _fail(message: str) -> NoReturn:
    typer.echo(message, err=True)
    raise typer.Exit(2)


def _read_lead_lines(path: Path) -> list[str]:
    try:
        with path.open("rb") as f:
            data = f.read(MAX_LEAD_LINES_BYTES + 1)
    except OSError as exc:
        _fail(f"cannot read {path}: {exc.strerror}")
    if len(data) > MAX_LEAD_LINES_BYTES:
        _fail(f"{path} is larger than {MAX_LEAD_LINES_BYTES} bytes")
    try:
        return data.decode("utf-8").splitlines()
    except UnicodeDecodeError:
        _fail(f"cannot read {path}: not UTF-8 text")


def _stdin_lines(*, prompt: bool) -> Iterator[str]:
    while True:
        if prompt:
            typer.echo("you: ", nl=False, err=True)
        line = sys.stdin.readline()
        if not line:
            return
        yield line.rstrip("\r\n")


async def _chat(policy: Any, lead_name: str, turns: Iterator[str], *, show: bool, echo_lead: bool) -> dict[str, Any]:
    """Each line is a lead turn (empty: a silence); the end of the lines is the lead hanging up."""
    from engine.agent.policy import Say
    from engine.agent.slots import IST
    from engine.agent.text_call import Silence, TextCall
    from engine.records import Lead

    call = TextCall(policy, Lead(name=lead_name, phone=""), datetime.now(IST), call_id="chat")

    def say(actions: list[Any]) -> None:
        for action in actions:
            if show and isinstance(action, Say) and action.text.strip():
                typer.echo(f"agent: {action.text}")

    try:
        say(await call.start())
        while not call.ended:
            line = next(turns, None)
            if line is None:
                call.hang_up()
                break
            if show and echo_lead:
                typer.echo(f"lead: {line}")
            say(await call.take(line.strip() or Silence()))
    finally:
        closer = getattr(policy, "aclose", None)  # the LLM policy holds an HTTP connection pool
        if closer is not None:
            await closer()
    record = call.record.to_dict()
    keys = ("outcome", "slots", "ended_by", "opted_out", "callback_at", "transcript")
    return {key: record[key] for key in keys}
