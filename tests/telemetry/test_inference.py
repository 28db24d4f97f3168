"""metrics.inference: queue wait and run time per model, and a queue-depth gauge that never drifts."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from prometheus_client import REGISTRY

from metrics import inference


def _value(name: str, model: str) -> float:
    return REGISTRY.get_sample_value(name, {"model": model}) or 0.0


def _blocking(seconds: float, result: str) -> str:
    time.sleep(seconds)
    return result


async def test_second_job_on_a_busy_worker_records_its_queue_wait() -> None:
    before_wait = _value("closerr_inference_queue_wait_seconds_sum", "stt")
    before_runs = _value("closerr_inference_seconds_count", "stt")
    before_run_sum = _value("closerr_inference_seconds_sum", "stt")
    with ThreadPoolExecutor(max_workers=1) as pool:
        first = asyncio.create_task(inference.run_in_executor("stt", pool, functools.partial(_blocking, 0.2, "a")))
        await asyncio.sleep(0.02)
        second = asyncio.create_task(inference.run_in_executor("stt", pool, functools.partial(_blocking, 0.0, "b")))
        await asyncio.sleep(0.02)
        assert _value("closerr_inference_queue_depth", "stt") == 1  # the second job waits for the worker
        assert await first == "a" and await second == "b"
    assert _value("closerr_inference_queue_depth", "stt") == 0
    assert _value("closerr_inference_seconds_count", "stt") == before_runs + 2
    assert _value("closerr_inference_seconds_sum", "stt") - before_run_sum >= 0.19
    # The second job waited for most of the first one's 0.2 s.
    assert _value("closerr_inference_queue_wait_seconds_sum", "stt") - before_wait >= 0.15


async def test_cancelled_queued_job_leaves_the_depth_gauge_at_zero() -> None:
    release = threading.Event()
    before_runs = _value("closerr_inference_seconds_count", "tts")
    with ThreadPoolExecutor(max_workers=1) as pool:
        busy = asyncio.create_task(inference.run_in_executor("tts", pool, lambda: release.wait(5)))
        await asyncio.sleep(0.02)
        queued = asyncio.create_task(inference.run_in_executor("tts", pool, lambda: "never"))
        await asyncio.sleep(0.02)
        assert _value("closerr_inference_queue_depth", "tts") == 1
        queued.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await queued
        assert _value("closerr_inference_queue_depth", "tts") == 0
        release.set()
        assert await busy is True
    assert _value("closerr_inference_queue_depth", "tts") == 0
    assert _value("closerr_inference_seconds_count", "tts") == before_runs + 1  # the cancelled job never ran


def test_queued_job_is_counted_once_whatever_the_order() -> None:
    job = inference.QueuedJob("vad")
    assert _value("closerr_inference_queue_depth", "vad") == 1
    job.abandon()
    assert job.started() is False  # a worker picking it up afterwards must skip it
    job.finished()
    job.abandon()
    assert _value("closerr_inference_queue_depth", "vad") == 0
