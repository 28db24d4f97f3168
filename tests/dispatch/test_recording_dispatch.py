"""The campaign's recording setting reaches the engine: each dial asks for a recording only when the campaign
records its calls."""

from __future__ import annotations

from pathlib import Path

import pytest

from control_api.dispatch import service
from control_api.dispatch.service import DispatchConfig
from control_api.storage.db import Database
from tests.dispatch.seed import ANY_HOUR, demo_script, phone, seed
from tests.dispatch.test_dispatcher import advance

CFG = DispatchConfig(worker_id="recording", hours=ANY_HOUR)


@pytest.mark.parametrize("recording", ["on", "off"])
async def test_a_dial_asks_for_a_recording_only_when_its_campaign_records(
    db: Database, database_url: str, tmp_path: Path, recording: str
) -> None:
    script = demo_script()
    if recording == "off":  # a campaign that does not record need not say it does
        script["greeting"] = script["greeting"].replace("This call is recorded. ", "")
    sd = await seed(database_url, tmp_path, [{"phone": phone(1)}], script=script, recording=recording)
    await advance(db)
    [job] = (await service.claim(db, CFG, sd.campaign_id, sd.account_id, slots=1)).jobs
    assert job.record_audio is (recording == "on")
