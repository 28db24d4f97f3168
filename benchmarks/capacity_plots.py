"""The capacity benchmark's PNG plots: latency percentiles vs concurrent calls, memory vs concurrent calls."""

from __future__ import annotations

from pathlib import Path
from typing import Any

STYLE = {"closerr": "-", "pipecat_baseline": "--"}
LABEL = {"closerr": "Closerr", "pipecat_baseline": "pipecat baseline"}


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")  # files only; never a display
    import matplotlib.pyplot as plt

    return plt


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
            ax.plot(calls, [s[key] for s in steps], style, marker=marker, label=label)
    ax.axhline(target_s, color="red", linewidth=0.8, label=f"target p95 {target_s:g} s")
    ax.set_xlabel("concurrent calls")
    ax.set_ylabel("caller-side voice-to-voice (s)")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
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
        ax.plot(calls, [s["rss_mb"] for s in steps], style, marker="o", label=f"{LABEL[system]} peak RSS")
        ax.plot(calls, [s["rss_after_mb"] for s in steps], style, marker="x", alpha=0.6, label=f"{LABEL[system]} after")
    ax.set_xlabel("concurrent calls")
    ax.set_ylabel("server resident memory (MiB)")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7)
    ax.set_title("Server memory vs concurrent calls")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
