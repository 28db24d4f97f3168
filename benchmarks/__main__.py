"""``python -m benchmarks`` (``make bench``): run every benchmark module present, each in its own process.

Each benchmark writes its own files under ``benchmarks/results/``. A benchmark that fails (or is missing) is
reported and the others still run; the exit code is non-zero if any failed.

    .venv/bin/python -m benchmarks                    # all of them
    .venv/bin/python -m benchmarks latency capacity   # a selection
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from benchmarks.report import exit_on_sigterm

HERE = Path(__file__).parent
# Order: the per-call view first, then the per-machine view, then the other helpers' benchmarks.
BENCHMARKS = ("latency", "capacity", "rtp_media", "lead_import", "outbound_chunks")


def available() -> list[str]:
    return [name for name in BENCHMARKS if (HERE / f"{name}.py").exists() or (HERE / name / "__main__.py").exists()]


def run_one(name: str) -> tuple[int, float]:
    started = time.monotonic()
    print(f"== benchmark {name} ==", flush=True)
    child = subprocess.Popen([sys.executable, "-m", f"benchmarks.{name}"], cwd=HERE.parent)
    try:
        code = child.wait()
    finally:
        if child.poll() is None:  # we are being stopped: stop the benchmark (it stops its own servers)
            child.terminate()
            try:
                child.wait(timeout=30)
            except subprocess.TimeoutExpired:
                child.kill()
    return code, time.monotonic() - started


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    present = available()
    chosen = args or present
    unknown = [name for name in chosen if name not in present]
    if unknown:
        print(f"unknown or missing benchmark(s): {', '.join(unknown)}; available: {', '.join(present)}")
        return 2
    exit_on_sigterm()
    outcomes: list[tuple[str, int, float]] = []
    for name in chosen:
        try:
            code, took = run_one(name)
        except KeyboardInterrupt:
            print(f"benchmark {name} interrupted")
            return 130
        outcomes.append((name, code, took))
    print("\n== benchmarks ==")
    for name, code, took in outcomes:
        status = "ok" if code == 0 else f"FAILED (exit {code})"
        print(f"{name:12s} {status:18s} {took:7.1f} s")
    print(f"results in {HERE / 'results'}")
    return 0 if all(code == 0 for _, code, _ in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
