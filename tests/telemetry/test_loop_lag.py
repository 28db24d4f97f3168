"""metrics.loop_lag: a blocked event loop shows up as lag."""

from __future__ import annotations

import asyncio
import time

import pytest
from prometheus_client import REGISTRY

from metrics import loop_lag


def _sample(name: str) -> float:
    value = REGISTRY.get_sample_value(name)
    assert value is not None
    return value


async def test_blocking_the_loop_is_measured_as_lag() -> None:
    count_before = _sample("closerr_event_loop_lag_seconds_count")
    sum_before = _sample("closerr_event_loop_lag_seconds_sum")
    async with loop_lag.running(0.01):
        await asyncio.sleep(0.05)
        time.sleep(0.2)  # deliberately block the loop, as a sync model call would
        await asyncio.sleep(0.05)
        assert _sample("closerr_event_loop_lag_last_seconds") < 0.2  # later wakeups are on time again
    assert _sample("closerr_event_loop_lag_seconds_count") > count_before + 3
    lag_total = _sample("closerr_event_loop_lag_seconds_sum") - sum_before
    assert 0.15 <= lag_total < 1.0
    over_160ms = _sample("closerr_event_loop_lag_seconds_count") - (
        REGISTRY.get_sample_value("closerr_event_loop_lag_seconds_bucket", {"le": "0.16"}) or 0.0
    )
    assert over_160ms >= 1  # the blocked wakeup landed in a high bucket


async def test_monitor_stops_when_cancelled() -> None:
    task = loop_lag.start(0.01)
    await asyncio.sleep(0.03)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert task.cancelled()


async def test_monitor_rejects_a_non_positive_interval() -> None:
    with pytest.raises(ValueError, match="interval"):
        await loop_lag.monitor(0)
