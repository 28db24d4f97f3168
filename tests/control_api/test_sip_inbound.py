"""``closerr serve --sip-port``: inbound SIP calls run the started campaign whose caller ID was dialed."""

from __future__ import annotations

import asyncio
import socket
import sys

from control_api.sip_inbound import campaign_resolver
from engine.telephony.sip.message import SipResponse, parse_message
from tests.control_api.helpers import create_campaign, demo_script, fund
from tests.sip.peer import Peer
from tests.sip.sipp import free_port


async def test_the_dialed_number_picks_the_started_campaign(client, tenant, db):
    script = demo_script(company="Dialed Solar")
    campaign = await create_campaign(client, tenant, script=script, caller_id="+911400000001")
    other = await create_campaign(client, tenant, caller_id="+911400000002")
    resolve = campaign_resolver(db)
    # Not started yet: the demo script answers.
    assert await resolve("01400000001") == (None, None)
    await fund(db, tenant)
    r = await client.post(f"/v1/campaigns/{campaign['id']}/start", headers=tenant.headers)
    assert r.status_code == 200, r.text
    found_script, found_id = await resolve("+91 1400000001")
    assert found_id == campaign["id"] and found_script["company"] == "Dialed Solar"
    assert await resolve("1400000002") == (None, None)  # the other campaign is still a draft
    assert other["id"] != campaign["id"]
    assert await resolve("") == (None, None)


async def test_serve_with_a_sip_port_answers_sip(tmp_path):
    http_port, sip_port = free_port(), free_port()
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "closerr.cli",
        "serve",
        "--port",
        str(http_port),
        "--sip-port",
        str(sip_port),
        "--no-worker",
        "--data-dir",
        str(tmp_path),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        reply = None
        for _ in range(120):
            await asyncio.sleep(0.5)
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
                sock.settimeout(0.5)
                sock.sendto(Peer().request("OPTIONS"), ("127.0.0.1", sip_port))
                try:
                    reply = parse_message(sock.recv(65535))
                    break
                except (TimeoutError, ConnectionRefusedError):
                    continue
        assert isinstance(reply, SipResponse) and reply.status == 200
    finally:
        proc.terminate()
        await asyncio.wait_for(proc.wait(), 30)
