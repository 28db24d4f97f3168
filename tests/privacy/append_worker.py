"""Run as a separate process by the concurrency test: appends N audit entries, each in its own transaction."""

from __future__ import annotations

import asyncio
import sys

from config.settings import Settings
from control_api.audit import append, pseudonym
from control_api.storage.db import create_database


async def _main(url: str, worker: int, n: int) -> None:
    # Like every process of a deployment: the audit key from the environment (the chain is keyed with it).
    pseudonym.use_key(Settings().audit_hmac_key.get_secret_value())
    db = create_database(url)
    try:
        for i in range(n):
            async with db.sessions() as session:
                await append(session, actor=f"worker:{worker}", tenant_id="t", action="test.append", details={"i": i})
                await session.commit()
    finally:
        await db.dispose()


if __name__ == "__main__":
    asyncio.run(_main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))
