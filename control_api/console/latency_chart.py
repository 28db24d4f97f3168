"""The per-turn latency chart of a call, drawn server-side as SVG (no chart library, readable without JS).

One horizontal bar per agent reply, stacked endpoint / STT / policy / TTS, so a slow reply shows where it lost its
time; the engine's voice-to-voice figure is printed at the end of each bar.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

STAGES: tuple[tuple[str, str, str], ...] = (
    ("endpoint_s", "End of turn", "#8b5cf6"),
    ("stt_s", "Speech to text", "#0ea5e9"),
    ("policy_s", "Agent policy", "#f59e0b"),
    ("tts_s", "Text to speech", "#10b981"),
)


@dataclass(frozen=True)
class Segment:
    stage: str
    label: str
    color: str
    x: float
    width: float
    seconds: float


@dataclass(frozen=True)
class Bar:
    index: int
    y: float
    segments: list[Segment]
    total_s: float
    v2v_s: float | None


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    left: int
    plot_width: int
    bars: list[Bar]
    ticks: list[tuple[float, float]]  # (x, seconds)
    legend: tuple[tuple[str, str, str], ...] = STAGES


def _num(value: Any) -> float:
    try:
        return max(0.0, float(value))
    except (TypeError, ValueError):
        return 0.0


def build_chart(turns: list[dict[str, Any]] | None, *, width: int = 720, row: int = 30) -> Chart | None:
    if not turns:
        return None
    left, right = 70, 190  # room for the totals printed after each bar
    plot = width - left - right
    totals = [sum(_num(t.get(key)) for key, _, _ in STAGES) for t in turns]
    scale_max = max([*totals, *(_num(t.get("v2v_s")) for t in turns), 0.1])
    # A round axis: 0.5 s steps up to 2 s, 1 s steps beyond.
    step = 0.25 if scale_max <= 1 else 0.5 if scale_max <= 3 else 1.0
    top = step * (int(scale_max / step) + 1)
    bars = []
    for i, (turn, total) in enumerate(zip(turns, totals, strict=True)):
        x = float(left)
        segments = []
        for key, label, color in STAGES:
            seconds = _num(turn.get(key))
            w = plot * seconds / top
            segments.append(Segment(key, label, color, round(x, 1), round(w, 1), seconds))
            x += w
        v2v = turn.get("v2v_s")
        bars.append(Bar(i + 1, 10 + i * row, segments, total, None if v2v is None else _num(v2v)))
    ticks = []
    value = 0.0
    while value <= top + 1e-9:
        ticks.append((round(left + plot * value / top, 1), round(value, 2)))
        value += step
    return Chart(width, 10 + len(turns) * row + 30, left, plot, bars, ticks)
