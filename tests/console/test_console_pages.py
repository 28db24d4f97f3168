"""The console's pages in a real headless Chromium: sign-in, campaigns, lead upload, a call's transcript, data
rights. Screenshots of every page go to test-artifacts/console/."""

from __future__ import annotations

import csv
import io
import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import numpy as np
import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from control_api.calls.tables import Call
from control_api.campaigns import service as campaigns_service
from control_api.campaigns.lifecycle import State
from control_api.campaigns.tables import Campaign
from control_api.console.pages_campaigns import example_script
from control_api.credits import ledger
from control_api.leads.tables import Lead
from control_api.privacy.audio_files import audio_dir
from control_api.storage.db import Database, session_scope
from engine.audio.recorder import CallRecorder
from tests.console.conftest import ConsoleServer, Tenant, register, screenshot, sign_in


def create_campaign(server: ConsoleServer, tenant: Tenant, name: str = "Rooftop solar, Pune") -> str:
    response = server.api("POST", "/v1/campaigns", tenant.api_key, json={"name": name, "script": example_script()})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def upload_csv(server: ConsoleServer, tenant: Tenant, campaign_id: str, body: str) -> dict[str, Any]:
    response = server.api(
        "POST",
        f"/v1/campaigns/{campaign_id}/leads?no_minors_attested=true&consent_source=web+form&consent_purpose=solar+call",
        tenant.api_key,
        content=body.encode(),
        headers={"Content-Type": "text/csv"},
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


def insert_finished_call(
    server: ConsoleServer,
    tenant: Tenant,
    campaign_id: str,
    lead_id: int | None = None,
    recording_dropped_frames: int | None = None,
) -> str:
    """A finished call as the dispatcher files it: the engine's record dict in the calls table."""
    call_id = str(uuid.uuid4())
    transcript = [
        {
            "role": "bot",
            "text": "Hello Asha, this is Priya from SunRoof Solar. Is this a good time?",
            "start_s": 0.4,
            "end_s": 4.9,
            "interrupted": False,
        },
        {"role": "lead", "text": "Yes, speaking.", "start_s": 5.6, "end_s": 6.5, "interrupted": False},
        {
            "role": "bot",
            "text": "Would you like to cut your electricity bill with rooftop",
            "start_s": 7.3,
            "end_s": 9.0,
            "interrupted": True,
        },
        {"role": "lead", "text": "Yes, definitely.", "start_s": 8.8, "end_s": 9.9, "interrupted": False},
        {
            "role": "bot",
            "text": "Do you own the house you live in?",
            "start_s": 10.6,
            "end_s": 12.4,
            "interrupted": False,
        },
    ]
    turns = [
        {"endpoint_s": 0.21, "stt_s": 0.38, "policy_s": 0.01, "tts_s": 0.19, "v2v_s": 0.82, "stt_queue_s": 0.0},
        {"endpoint_s": 0.24, "stt_s": 0.41, "policy_s": 0.02, "tts_s": 0.22, "v2v_s": 0.91, "stt_queue_s": 0.0},
        {"endpoint_s": 0.62, "stt_s": 0.93, "policy_s": 0.35, "tts_s": 0.41, "v2v_s": 2.35, "stt_queue_s": 0.4},
    ]
    slots = {"interested": True, "owns_home": True, "monthly_bill": 3500}
    record = {
        "call_id": call_id,
        "outcome": "qualified",
        "ended_by": "bot",
        "opted_out": False,
        "slots": slots,
        "callback_at": None,
        "transcript": transcript,
        "turns": turns,
        "duration_s": 13.2,
        "interruptions": 1,
        "latency": {"v2v_p50_s": 0.91, "v2v_p95_s": 2.2},
        "error": None,
        "notes": [],
        "policy": "llm",
        "fallback_turns": 1,
    }
    if recording_dropped_frames is not None:
        record["recording"] = {
            "file": f"{call_id}.ogg",
            "complete": not recording_dropped_frames,
            "dropped_frames": recording_dropped_frames,
            "error": None,
        }
    started = datetime.now(UTC) - timedelta(minutes=5)

    async def work(db: Database) -> None:
        async with db.sessions() as session:
            session.add(
                Call(
                    id=call_id,
                    account_id=tenant.account_id,
                    campaign_id=campaign_id,
                    lead_id=lead_id,
                    attempt=1,
                    status="completed",
                    outcome="qualified",
                    started_at=started,
                    ended_at=started + timedelta(seconds=13.2),
                    duration_s=13.2,
                    transcript=transcript,
                    turns=turns,
                    slots=slots,
                    record=record,
                )
            )
            await session.commit()

    server.run_db(work)
    return call_id


# -- sign-in -----------------------------------------------------------------------------------------------
def test_sign_in_rejects_a_bad_key_next_to_the_field_then_signs_in_and_out(
    page: Page, console_server: ConsoleServer, tenant: Tenant
) -> None:
    base = console_server.base_url
    page.goto(base + "/console/campaigns")
    expect(page).to_have_url(base + "/console/login")  # pages need a session
    page.fill("#api_key", "clr_not_a_real_key_000000000000")
    page.click("button[type=submit]")
    expect(page.locator('[data-field="api_key"]')).to_contain_text("unknown, revoked or mistyped")
    screenshot(page, "01-login-error")

    page.fill("#api_key", tenant.api_key)
    page.click("button[type=submit]")
    expect(page).to_have_url(base + "/console/campaigns")
    expect(page.locator("h1")).to_contain_text("Campaigns")
    screenshot(page, "02-campaigns-empty")
    cookies = {c["name"]: c for c in page.context.cookies()}
    assert cookies["closerr_console"]["httpOnly"] is True
    assert tenant.api_key not in str(cookies)  # the key itself never sits in the browser

    page.click("text=Sign out")
    expect(page).to_have_url(base + "/console/login")
    page.goto(base + "/console/campaigns")
    expect(page).to_have_url(base + "/console/login")


def test_forms_without_the_csrf_token_are_refused(page: Page, console_server: ConsoleServer, tenant: Tenant) -> None:
    sign_in(page, console_server, tenant)
    campaign_id = create_campaign(console_server, tenant)
    # A cross-site form post carries the session cookie but not the CSRF token.
    response = page.request.post(
        f"{console_server.base_url}/console/campaigns/{campaign_id}/cancel", form={"next": "/console/campaigns"}
    )
    assert response.status == 403
    state = console_server.api("GET", f"/v1/campaigns/{campaign_id}", tenant.api_key).json()["state"]
    assert state == "draft"


def test_revoking_the_key_ends_the_console_session(page: Page, console_server: ConsoleServer, tenant: Tenant) -> None:
    spare = console_server.api("POST", "/v1/api-keys/", tenant.api_key, json={"label": "console"}).json()
    sign_in(page, console_server, Tenant(tenant.account_id, spare["api_key"]))
    assert console_server.api("DELETE", f"/v1/api-keys/{spare['id']}", tenant.api_key).status_code == 200
    page.goto(console_server.base_url + "/console/campaigns")
    expect(page).to_have_url(console_server.base_url + "/console/login")


# -- campaigns ---------------------------------------------------------------------------------------------
def test_create_campaign_shows_script_errors_next_to_the_field_then_creates_it(
    page: Page, console_server: ConsoleServer, tenant: Tenant
) -> None:
    sign_in(page, console_server, tenant)
    page.click("text=New campaign")
    page.fill("#name", "Rooftop solar, Pune")
    broken = example_script().replace("category: 5", "category: 12").replace("type: amount_inr", "type: amount")
    page.fill("#script", broken)
    page.click("button:has-text('Create campaign')")
    error = page.locator('[data-field="script"]')
    expect(error).to_be_visible()
    expect(error).to_contain_text("line")
    expect(error).to_contain_text("category")
    expect(page.locator("#script")).to_have_class("code invalid")
    expect(page.locator("#name")).to_have_value("Rooftop solar, Pune")  # what was typed is kept
    screenshot(page, "03-campaign-new-error")

    page.fill("#script", example_script())
    page.fill("#name", "")
    page.click("button:has-text('Create campaign')")
    expect(page.locator('[data-field="name"]')).to_contain_text("name")

    # Recording is on by default, so the greeting must say the call is recorded; with recording off it need not.
    expect(page.locator("#recording")).to_have_value("on")
    page.fill("#name", "Rooftop solar, Pune")
    page.fill("#script", example_script().replace("This call is recorded. ", ""))
    page.click("button:has-text('Create campaign')")
    expect(page.locator('[data-field="script"]')).to_contain_text("greeting: a recorded call's greeting must say so")
    page.select_option("#recording", "off")
    page.select_option("#policy", "llm")
    page.click("button:has-text('Create campaign')")
    expect(page.locator("h1")).to_contain_text("Rooftop solar, Pune")
    expect(page.locator(".page-head p.muted")).to_contain_text("answered by an LLM guarded by the script")
    expect(page.locator("#campaign-state")).to_have_text("draft")
    expect(page.locator(".flash")).to_contain_text("created as a draft")
    campaigns = console_server.api("GET", "/v1/campaigns", tenant.api_key).json()["items"]
    assert [c["name"] for c in campaigns] == ["Rooftop solar, Pune"]
    assert campaigns[0]["category"] == 5 and campaigns[0]["recording"] == "off"
    assert campaigns[0]["policy"] == "llm"


def test_campaign_list_shows_state_progress_and_drives_the_lifecycle(
    page: Page, console_server: ConsoleServer, tenant: Tenant
) -> None:
    campaign_id = create_campaign(console_server, tenant, "Car insurance renewals")
    upload_csv(console_server, tenant, campaign_id, "phone,name\n9876543210,Asha\n9876543211,Ravi\n9876543212,Meena\n")
    sign_in(page, console_server, tenant)
    row = page.locator(f'tr[data-campaign="{campaign_id}"]')
    expect(row.locator(".badge")).to_have_text("draft")
    row.locator("button:has-text('Start')").click()  # no credits yet: refused, and the console says why
    expect(page.locator(".flash")).to_contain_text("credit balance is 0")
    expect(row.locator(".badge")).to_have_text("draft")

    async def top_up(db: Database) -> None:
        async with session_scope(db) as s:
            await ledger.top_up(s, tenant.account_id, 100_000)

    console_server.run_db(top_up)
    expect(row.locator('[data-k="remaining"]')).to_have_text("3")
    expect(row.locator('[data-k="dialed"]')).to_have_text("0")
    row.locator("button:has-text('Start')").click()
    expect(page.locator(".flash")).to_contain_text("is now scheduled")
    expect(row.locator(".badge")).to_have_text("scheduled")
    screenshot(page, "04-campaigns-list")
    # The lifecycle is the service's: pause is not offered for a scheduled campaign, cancel is.
    expect(row.locator("button:has-text('Pause')")).to_have_count(0)

    async def dispatcher_starts_it(db: Database) -> None:
        async with db.sessions() as session:
            campaign = await session.get(Campaign, campaign_id)
            assert campaign is not None
            await campaigns_service.transition(session, campaign, State.RUNNING)
            await session.commit()

    console_server.run_db(dispatcher_starts_it)
    page.reload()
    expect(row.locator(".badge")).to_have_text("running")
    row.locator("button:has-text('Pause')").click()
    expect(row.locator(".badge")).to_have_text("paused")
    page.goto(f"{console_server.base_url}/console/campaigns/{campaign_id}")
    expect(page.locator("#dispatch-state")).to_contain_text("Paused: by you")
    expect(page.locator("#dispatch-balance")).to_have_text("100000")
    with page.expect_download() as got:
        page.locator("#download-results").click()
    with open(got.value.path(), encoding="utf-8") as results:
        text = results.read()
    assert text.startswith("lead_id,name,phone,status") and "Asha" in text and "'+919876543210" in text
    page.go_back()
    row.locator("button:has-text('Resume')").click()
    expect(row.locator(".badge")).to_have_text("running")
    row.locator("button:has-text('Cancel')").click()
    expect(row.locator(".badge")).to_have_text("cancelled")
    assert console_server.api("GET", f"/v1/campaigns/{campaign_id}", tenant.api_key).json()["state"] == "cancelled"


def test_upload_reports_bad_rows_and_the_report_downloads_as_csv(
    page: Page, console_server: ConsoleServer, tenant: Tenant, tmp_path: Any
) -> None:
    campaign_id = create_campaign(console_server, tenant)
    rows = ["phone,name"] + [f"98765{43300 + i},Lead {i}" for i in range(40)]
    rows[5] = "12345,Too short"
    rows[9] = "not-a-number,Nobody"
    rows[17] = "9876543300,Duplicate of line 2"
    lead_file = tmp_path / "leads.csv"
    lead_file.write_text("\n".join(rows) + "\n")

    sign_in(page, console_server, tenant)
    page.goto(f"{console_server.base_url}/console/campaigns/{campaign_id}")
    page.set_input_files("#lead-file", str(lead_file))
    page.check("#no_minors")
    page.fill("#consent_source", "website form")
    page.fill("#consent_purpose", "a call about rooftop solar")
    page.click("#upload-button")
    expect(page.locator("#upload-report")).to_be_visible()
    expect(page.locator("#upload-bar")).to_have_attribute("style", "width: 100%;")
    expect(page.locator("#accepted-count")).to_have_text("37 accepted")
    expect(page.locator("#rejected-count")).to_have_text("3 rejected")
    expect(page.locator('[data-stat="leads"]')).to_have_text("37")
    lines = page.locator("#rejections tbody tr td.num").all_inner_texts()
    assert lines == ["6", "10", "18"]
    screenshot(page, "05-upload-report")

    with page.expect_download() as download_info:
        page.click("#download-report")
    download = download_info.value
    assert download.suggested_filename.endswith(".csv")
    report = list(csv.DictReader(io.StringIO(download.path().read_text())))
    assert [int(r["line"]) for r in report] == [6, 10, 18]
    assert all(r["reason"] for r in report)
    leads = console_server.api("GET", f"/v1/campaigns/{campaign_id}/leads?limit=100", tenant.api_key).json()
    assert len(leads["items"]) == 37


def test_upload_without_the_minors_attestation_is_refused_with_the_reason(
    page: Page, console_server: ConsoleServer, tenant: Tenant, tmp_path: Any
) -> None:
    campaign_id = create_campaign(console_server, tenant)
    lead_file = tmp_path / "leads.csv"
    lead_file.write_text("phone,name\n9876543210,Asha\n")
    sign_in(page, console_server, tenant)
    page.goto(f"{console_server.base_url}/console/campaigns/{campaign_id}")
    page.set_input_files("#lead-file", str(lead_file))
    page.fill("#consent_source", "website form")
    page.fill("#consent_purpose", "a call about rooftop solar")
    page.click("#upload-button")
    expect(page.locator("#upload-error")).to_be_visible()
    expect(page.locator("#upload-report")).to_be_hidden()


def test_progress_counts_follow_the_dispatchers_records(
    page: Page, console_server: ConsoleServer, tenant: Tenant
) -> None:
    campaign_id = create_campaign(console_server, tenant, "Progress check")
    phones = ["9876511001", "9876511002", "9876511003", "9876511004", "9876511005"]
    upload_csv(console_server, tenant, campaign_id, "phone\n" + "\n".join(phones) + "\n")
    # What the dispatcher leaves behind: lead statuses and one call row per attempt (skips included).
    plan = [  # (lead status, call status, outcome)
        ("completed", "completed", "qualified"),
        ("completed", "completed", "opted_out"),
        ("retry", "no_answer", None),
        ("dnd_blocked", "dnd_blocked", None),
        ("pending", None, None),
    ]

    async def work(db: Database) -> None:
        async with db.sessions() as session:
            leads = (
                await session.scalars(select(Lead).where(Lead.campaign_id == campaign_id).order_by(Lead.line))
            ).all()
            for lead, (lead_status, call_status, outcome) in zip(leads, plan, strict=True):
                lead.status = lead_status
                if call_status is not None:
                    session.add(
                        Call(
                            id=str(uuid.uuid4()),
                            account_id=tenant.account_id,
                            campaign_id=campaign_id,
                            lead_id=lead.id,
                            status=call_status,
                            outcome=outcome,
                        )
                    )
            await session.commit()

    console_server.run_db(work)
    insert_finished_call(console_server, tenant, campaign_id)  # a test call (no lead) is not progress
    sign_in(page, console_server, tenant)
    row = page.locator(f'tr[data-campaign="{campaign_id}"]')
    counts = {
        k: row.locator(f'[data-k="{k}"]').inner_text()
        for k in ("dialed", "answered", "qualified", "opted_out", "remaining")
    }
    assert counts == {"dialed": "3", "answered": "2", "qualified": "1", "opted_out": "1", "remaining": "2"}
    expect(row.locator(".progress-cell")).to_contain_text("3 / 5 leads")


# -- a finished call ---------------------------------------------------------------------------------------
def test_call_detail_shows_the_conversation_slots_outcome_and_latency_chart(
    page: Page, console_server: ConsoleServer, tenant: Tenant
) -> None:
    campaign_id = create_campaign(console_server, tenant)
    upload_csv(console_server, tenant, campaign_id, "phone,name\n9876543210,Asha Verma\n9876543211,Ravi\n")
    leads = console_server.api("GET", f"/v1/campaigns/{campaign_id}/leads", tenant.api_key).json()["items"]
    call_id = insert_finished_call(console_server, tenant, campaign_id, lead_id=leads[0]["id"])
    sign_in(page, console_server, tenant)
    page.goto(f"{console_server.base_url}/console/campaigns/{campaign_id}")
    # The campaign page lists its leads with their status and next attempt.
    lead_rows = page.locator("#leads tbody tr")
    expect(lead_rows).to_have_count(2)
    expect(lead_rows.nth(0)).to_contain_text("Asha Verma")
    expect(lead_rows.nth(0)).to_contain_text("pending")
    page.click(f"a[href='/console/calls/{call_id}']")
    expect(page.locator("#call-outcome")).to_have_text("Qualified")
    # Who was called, and when in the lead's own time (IST), not an id and UTC.
    expect(page.locator("#lead-name")).to_have_text("Asha Verma")
    expect(page.locator(".page-head p.muted")).to_contain_text("IST")
    turns = page.locator("#transcript li")
    expect(turns).to_have_count(5)
    expect(turns.nth(1)).to_have_attribute("data-role", "lead")
    expect(turns.nth(1)).to_contain_text("Yes, speaking.")
    expect(turns.nth(1).locator("time")).to_have_text("0:05.6–0:06.5")
    expect(turns.nth(2)).to_have_class("turn bot interrupted")
    expect(turns.nth(2).locator(".cut")).to_have_text("interrupted")
    expect(page.locator("#slots")).to_contain_text("monthly bill")
    expect(page.locator("#slots")).to_contain_text("3500")
    chart = page.locator("#latency-chart")
    expect(chart.locator("rect")).to_have_count(12)  # 3 replies x 4 stages
    widths = [
        float(w)
        for w in chart.locator("rect[data-stage=stt_s]").evaluate_all("els => els.map(e => e.getAttribute('width'))")
    ]
    assert widths[2] > 2 * widths[0]  # the slow reply's STT bar is visibly longer
    expect(chart).to_contain_text("v2v 2350 ms")
    expect(page.locator("#call-policy")).to_have_text("LLM · 1 script fallback")
    expect(page.locator("audio")).to_have_count(0)  # no recording kept for this call
    screenshot(page, "06-call-detail")


def test_a_recorded_call_has_an_audio_player_and_each_line_plays_from_where_it_was_said(
    page: Page, console_server: ConsoleServer, tenant: Tenant
) -> None:
    campaign_id = create_campaign(console_server, tenant)
    call_id = insert_finished_call(console_server, tenant, campaign_id, recording_dropped_frames=3)
    # The engine's recorder writes it: 13 s, both sides, stereo Ogg/Opus.
    recorder = CallRecorder(audio_dir(console_server.settings.data_dir) / f"{call_id}.ogg", 8000, origin=0.0)
    recorder.start()
    frame = (np.sin(np.arange(160) / 8000 * 2 * np.pi * 440) * 4000).astype("<i2").tobytes()
    for i in range(650):
        recorder.lead(frame, at=0.02 * (i + 1))
    assert recorder.close().complete
    sign_in(page, console_server, tenant)
    page.goto(f"{console_server.base_url}/console/calls/{call_id}")
    player = page.locator("audio.player")
    expect(player).to_have_attribute("src", f"/console/calls/{call_id}/audio")
    expect(page.locator("#recording-incomplete")).to_contain_text("3 audio frame(s)")
    # The browser can load and decode it: the call's 13 seconds.
    duration = player.evaluate(
        "a => new Promise(r => { if (a.readyState >= 1) r(a.duration); "
        "a.addEventListener('loadedmetadata', () => r(a.duration)); a.load(); })"
    )
    assert abs(float(duration) - 13.0) < 0.1
    # Clicking a line of the conversation plays the recording from where that line was said.
    page.locator("#transcript li").nth(3).locator("button.seek").click()
    position = player.evaluate("a => a.currentTime")
    assert 8.8 <= float(position) < 9.8, position  # "Yes, definitely." starts at 8.8 s
    response = page.request.get(
        f"{console_server.base_url}/console/calls/{call_id}/audio", headers={"Range": "bytes=0-99"}
    )
    assert response.status == 206 and response.headers["content-type"].startswith("audio/ogg")
    assert response.headers["content-range"].startswith("bytes 0-99/")
    # Signed out, the recording is not served.
    assert httpx.get(f"{console_server.base_url}/console/calls/{call_id}/audio").status_code in (303, 401)


def test_another_tenants_call_is_not_found(page: Page, console_server: ConsoleServer, tenant: Tenant) -> None:
    other = register(console_server, "Other Co")
    call_id = insert_finished_call(console_server, other, create_campaign(console_server, other))
    sign_in(page, console_server, tenant)
    response = page.goto(f"{console_server.base_url}/console/calls/{call_id}")
    assert response is not None and response.status == 404
    expect(page.locator("h1")).to_have_text("Not found")
    assert "Yes, speaking" not in page.content()


# -- data rights -------------------------------------------------------------------------------------------
def test_data_rights_search_export_withdraw_and_erase(
    page: Page, console_server: ConsoleServer, tenant: Tenant, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    campaign_id = create_campaign(console_server, tenant)
    upload_csv(console_server, tenant, campaign_id, "phone,name\n9876500001,Kavya Iyer\n9876500002,Arjun\n")
    sign_in(page, console_server, tenant)
    page.click("text=Data rights")
    page.fill("#phone", "12")
    page.click("button:has-text('Search')")
    expect(page.locator('[data-field="phone"]')).to_contain_text("not a valid phone number")

    page.fill("#phone", "098765 00001")
    page.click("button:has-text('Search')")
    expect(page.locator("#subject h2")).to_have_text("+919876500001")
    expect(page.locator("#lead-count")).to_have_text("1")
    expect(page.locator("#subject-leads")).to_contain_text("Kavya Iyer")
    screenshot(page, "07-data-rights")

    with page.expect_download() as download_info:
        page.click("#export-button")
    download = download_info.value
    assert "9876500001" not in download.suggested_filename
    exported = download.path().read_text()
    assert "Kavya Iyer" in exported and "+919876500001" in exported

    # Destructive actions need the confirmation box ticked (the browser enforces it; so does the server).
    page.click("#withdraw-button")
    expect(page.locator("#rights-done")).to_have_count(0)
    page.locator("form[action='/console/rights/withdraw'] input[name=confirm]").check()
    page.click("#withdraw-button")
    expect(page.locator("#rights-done")).to_contain_text("Consent withdrawn")
    dnd = console_server.api("GET", "/v1/dnd/+919876500001", tenant.api_key).json()
    assert dnd["listed"] is True

    page.fill("#phone", "+919876500001")
    page.click("button:has-text('Search')")
    page.locator("form[action='/console/rights/erase'] input[name=confirm]").check()
    page.click("#erase-button")
    expect(page.locator("#rights-done")).to_contain_text("Erased 1 lead record")
    screenshot(page, "08-data-rights-erased")
    leads = console_server.api("GET", f"/v1/campaigns/{campaign_id}/leads", tenant.api_key).json()["items"]
    assert [lead["name"] for lead in leads] == ["Arjun"]
    # The number and the name went through forms and pages, never into the server's logs.
    assert caplog.records and "9876500001" not in caplog.text and "Kavya" not in caplog.text


def test_erase_is_refused_without_confirmation(page: Page, console_server: ConsoleServer, tenant: Tenant) -> None:
    campaign_id = create_campaign(console_server, tenant)
    upload_csv(console_server, tenant, campaign_id, "phone,name\n9876500009,Kavya\n")
    sign_in(page, console_server, tenant)
    page.goto(console_server.base_url + "/console/rights")
    page.fill("#phone", "+919876500009")
    page.click("button:has-text('Search')")
    # Bypass the browser's `required` check: the server must refuse too.
    page.locator("form[action='/console/rights/erase'] input[name=confirm]").evaluate("e => e.required = false")
    page.click("#erase-button")
    expect(page.locator('[data-field="erase"]')).to_contain_text("confirm")
    leads = console_server.api("GET", f"/v1/campaigns/{campaign_id}/leads", tenant.api_key).json()["items"]
    assert len(leads) == 1
