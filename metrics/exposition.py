"""Rendering the metrics for a scrape, in single-process or prometheus_client multiprocess mode.

Multiprocess mode is on when ``PROMETHEUS_MULTIPROC_DIR`` is set *before* prometheus_client is first
imported (it picks its value storage at import): each process then writes its samples to mmap files in that
directory and any process can render the merged view, so worker processes on one host never overwrite each
other's counters. The supervisor empties the directory before starting workers (``prepare_multiprocess_dir``)
and calls ``mark_process_dead`` when a worker exits.
"""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path
from wsgiref.simple_server import WSGIServer

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    disable_created_metrics,
    generate_latest,
    multiprocess,
    start_http_server,
)
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

# The 0.0.4 text format: every Prometheus 2.x and 3.x parses it, and promtool check metrics reads it.
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

# *_created series double the series count and no dashboard or alert uses them.
disable_created_metrics()


def multiprocess_dir() -> Path | None:
    value = os.environ.get(MULTIPROC_ENV)
    return Path(value) if value else None


def _registry(multiproc_dir: Path | None) -> CollectorRegistry:
    directory = multiproc_dir or multiprocess_dir()
    if directory is None:
        return REGISTRY
    # A fresh registry per scrape: the collector lists the directory's files each time it is collected.
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=str(directory))
    return registry


def render(multiproc_dir: Path | None = None) -> tuple[bytes, str]:
    """The exposition body and its Content-Type.

    Reads files in multiprocess mode: call it from a thread, not the event loop (``metrics.litestar`` does).
    """
    return generate_latest(_registry(multiproc_dir)), CONTENT_TYPE


def serve_http(port: int, host: str = "127.0.0.1") -> tuple[WSGIServer, threading.Thread]:
    """Serve ``/metrics`` from a daemon thread, for processes that run no Litestar app (e.g. a bare worker).

    Litestar apps mount ``metrics.litestar.metrics_endpoint`` instead. Stop with ``server.shutdown()``.
    """
    return start_http_server(port, addr=host, registry=_registry(None))


def prepare_multiprocess_dir(directory: Path) -> None:
    """Empty (or create) the directory before any worker starts; stale files would resurrect old counts."""
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)


def mark_process_dead(pid: int, multiproc_dir: Path | None = None) -> None:
    """Drop a dead worker's live gauges (active calls, queue depths); its counters and histograms stay."""
    directory = multiproc_dir or multiprocess_dir()
    if directory is not None:
        multiprocess.mark_process_dead(pid, str(directory))
