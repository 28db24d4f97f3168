"""Persona files for the call simulator, validated with errors that name the field and the line."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator


class PersonaError(ValueError):
    def __init__(self, path: str, errors: list[dict[str, Any]]) -> None:
        self.errors = errors
        lines = [
            f"{path}:{e['line']}: {e['field']}: {e['message']}"
            if e.get("line")
            else f"{path}: {e['field']}: {e['message']}"
            for e in errors
        ]
        super().__init__("\n".join(lines))


class PersonaLead(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1)
    phone: str = Field(min_length=1)
    metadata: dict[str, Any] = Field(default_factory=dict)


class PersonaTurn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # One line, or the parts of one turn said with ``gap_s`` of silence between them ("Salaried..." "in IT..."):
    # the lead has not finished at a gap, and an agent that answers there has cut in.
    say: str | list[Annotated[str, Field(min_length=1)]] | None = Field(default=None, min_length=1)
    gap_s: float = Field(default=0.6, gt=0, le=5)
    barge_in_after_s: float | None = Field(default=None, ge=0, le=60)
    silence_s: float | None = Field(default=None, gt=0, le=120)
    hangup: bool = False

    @model_validator(mode="after")
    def one_action(self) -> PersonaTurn:
        actions = [self.say is not None, self.silence_s is not None, self.hangup]
        if sum(actions) != 1:
            raise ValueError("each turn needs exactly one of say, silence_s, hangup")
        if self.barge_in_after_s is not None and self.say is None:
            raise ValueError("barge_in_after_s goes with say")
        return self

    @property
    def parts(self) -> list[str]:
        if self.say is None:
            return []
        return [self.say] if isinstance(self.say, str) else list(self.say)

    @property
    def text(self) -> str:
        """What the lead says in this turn, as one line."""
        return " ".join(self.parts)


class Persona(BaseModel):
    model_config = ConfigDict(extra="forbid")
    script: str | None = None
    lead: PersonaLead
    voice: Literal["piper", "espeak"] = "piper"
    answering_machine: bool = False
    carrier: Literal["twilio", "exotel", "plivo"] = "twilio"
    # The stream's negotiated rate; only Exotel's applet offers others than 8000.
    sample_rate: Literal[8000, 16000, 24000] = 8000
    policy: Literal["script", "llm"] = "script"  # the engine's dialogue policy for this call
    recording: bool = False  # ask the engine to record the call (where it keeps recordings)
    pause_s: float = Field(default=0.6, ge=0.1, le=5)
    turns: list[PersonaTurn] = Field(default_factory=list)
    expect: dict[str, Any] | None = None  # for tests; the simulator ignores it

    source: Path | None = Field(default=None, exclude=True)

    @model_validator(mode="after")
    def _rate_fits_carrier(self) -> Persona:
        if self.sample_rate != 8000 and self.carrier != "exotel":
            raise ValueError(
                f"sample_rate {self.sample_rate} is offered by Exotel only (this persona's carrier: {self.carrier})"
            )
        return self

    def script_path(self) -> Path | None:
        if self.script is None:
            return None
        path = Path(self.script)
        if not path.is_absolute() and self.source is not None:
            path = self.source.parent / path
        return path


def _node_line(node: yaml.Node | None, loc: tuple[int | str, ...]) -> int | None:
    line = node.start_mark.line + 1 if node is not None else None
    for key in loc:
        if isinstance(node, yaml.MappingNode):
            match = next((v for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == key), None)
            if match is None:
                return line
            node = match
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
        else:
            return line
        line = node.start_mark.line + 1
    return line


def _field(loc: tuple[int | str, ...]) -> str:
    out = ""
    for key in loc:
        out += f"[{key}]" if isinstance(key, int) else (f".{key}" if out else str(key))
    return out or "(file)"


def load_persona(path: str | Path) -> Persona:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PersonaError(str(path), [{"field": "(file)", "line": None, "message": exc.strerror or str(exc)}]) from exc
    return parse_persona(text, source=path)


def parse_persona(text: str, source: Path | None = None) -> Persona:
    name = str(source) if source else "<persona>"
    try:
        node = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise PersonaError(name, [{"field": "(file)", "line": line, "message": f"invalid YAML: {exc}"}]) from exc
    if not isinstance(data, dict):
        raise PersonaError(name, [{"field": "(file)", "line": 1, "message": "a persona is a mapping"}])
    try:
        persona = Persona.model_validate(data)
    except ValidationError as exc:
        errors = []
        for err in exc.errors():
            loc = tuple(k for k in err["loc"] if not (isinstance(k, str) and k.startswith("function-")))
            errors.append({"field": _field(loc), "line": _node_line(node, loc), "message": err["msg"]})
        raise PersonaError(name, errors) from exc
    persona.source = source
    return persona
