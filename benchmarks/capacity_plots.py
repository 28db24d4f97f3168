"""The capacity benchmark's PNG plots: latency percentiles vs concurrent calls, memory vs concurrent calls."""

from __future__ import annotations

from pathlib import Path
from typing import Any

STYLE = {"closerr": "-", "pipecat_baseline": "--"}
COLOR = {"closerr": "tab:blue", "pipecat_baseline": "tab:orange"}
LABEL = {"closerr": "Closerr", "pipecat_baseline": "pipecat baseline"}


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")  # files only; never a display
    import matplotlib.pyplot as plt

    return plt


def _plain_ticks(ax: Any, results: dict[str, Any]) -> None:
    from matplotlib.ticker import FixedLocator, NullFormatter, ScalarFormatter

    calls = sorted({s["calls"] for system in STYLE for s in results.get(system, [])})
    if calls:
        ax.xaxis.set_major_locator(FixedLocator(calls))
        ax.xaxis.set_major_formatter(ScalarFormatter())
        ax.xaxis.set_minor_formatter(NullFormatter())
    ax.yaxis.set_major_locator(FixedLocator([0.25, 0.5, 1, 2, 4, 8, 16]))
    ax.yaxis.set_major_formatter(ScalarFormatter())
    ax.yaxis.set_minor_formatter(NullFormatter())


def plot_latency(results: dict[str, Any], target_s: float, path: Path) -> Path:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=110)
    for system, style in STYLE.items():
        steps = [s for s in results.get(system, []) if s.get("v2v_p50_s") is not None]
        if not steps:
            continue
        calls = [s["calls"] for s in steps]
        for key, marker in (("v2v_p50_s", "o"), ("v2v_p95_s", "s"), ("v2v_p99_s", "^")):
            label = f"{LABEL[system]} {key.split('_')[1]}"
            ax.plot(calls, [s[key] for s in steps], style, color=COLOR[system], marker=marker, label=label)
    ax.axhline(target_s, color="red", linewidth=0.8, label=f"target p95 {target_s:g} s")
    ax.set_xlabel("concurrent calls")
    ax.set_ylabel("caller-side voice-to-voice (s)")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    _plain_ticks(ax, results)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    ax.set_title("Voice-to-voice vs concurrent calls")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def plot_memory(results: dict[str, Any], path: Path) -> Path:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=110)
    for system, style in STYLE.items():
        steps = [s for s in results.get(system, []) if s.get("rss_mb") is not None]
        if not steps:
            continue
        calls = [s["calls"] for s in steps]
        color = COLOR[system]
        ax.plot(calls, [s["rss_mb"] for s in steps], style, color=color, marker="o", label=f"{LABEL[system]} peak RSS")
        after = [s["rss_after_mb"] for s in steps]
        ax.plot(calls, after, ":", color=color, marker="x", alpha=0.7, label=f"{LABEL[system]} after the calls")
    ax.set_xlabel("concurrent calls")
    ax.set_ylabel("server resident memory (MiB)")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7)
    ax.set_title("Server memory vs concurrent calls")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
