"""One engine's inference services for the tests that run the real models in the pytest process: loading and
warming them up takes seconds and hundreds of MiB, so every such test in a run shares them."""

from __future__ import annotations

from functools import cache

from engine.facade import Engine
from engine.services import EngineServices


@cache
def shared_services() -> EngineServices:
    return Engine().services
