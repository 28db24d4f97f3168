"""``closerr sip``: bad input exits 2 with a message; ``serve`` answers a real OPTIONS ping on its port."""

from __future__ import annotations

import asyncio
import socket
import sys

from typer.testing import CliRunner

from closerr.cli import app
from engine.telephony.sip.message import SipResponse, parse_message
from tests.sip.peer import Peer
from tests.sip.sipp import free_port

runner = CliRunner()


def test_serve_rejects_a_bad_port() -> None:
    result = runner.invoke(app, ["sip", "serve", "--sip-port", "70000"])
    assert result.exit_code == 2
    assert "--sip-port" in result.output


def test_serve_needs_advertise_for_wildcard_host() -> None:
    result = runner.invoke(app, ["sip", "serve", "--host", "0.0.0.0"])
    assert result.exit_code == 2 and "--advertise" in result.output


def test_call_without_a_trunk_is_a_clear_error() -> None:
    from config.settings import get_settings

    get_settings.cache_clear()
    try:
        result = runner.invoke(app, ["sip", "call", "+919876543210"], env={"CLOSERR_SIP_TRUNK_HOST": ""})
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2 and "CLOSERR_SIP_TRUNK_HOST" in result.output


async def test_serve_answers_options_on_udp() -> None:
    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "closerr.cli",
        "sip",
        "serve",
        "--sip-port",
        str(port),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        assert proc.stdout is not None
        while b"SIP endpoint on" not in (line := await asyncio.wait_for(proc.stdout.readline(), 120)):
            assert line, "closerr sip serve exited before listening"
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.settimeout(5)
            sock.sendto(Peer().request("OPTIONS"), ("127.0.0.1", port))
            reply = parse_message(sock.recv(65535))
        assert isinstance(reply, SipResponse) and reply.status == 200
        assert "INVITE" in reply.headers.get("Allow", "")
    finally:
        proc.terminate()
        assert await asyncio.wait_for(proc.wait(), 20) == 0


def test_serve_rejects_a_bad_rtp_range() -> None:
    from config.settings import get_settings

    get_settings.cache_clear()
    try:
        result = runner.invoke(
            app,
            ["sip", "serve", "--sip-port", str(free_port())],
            env={"CLOSERR_SIP_RTP_PORT_MIN": "5000", "CLOSERR_SIP_RTP_PORT_MAX": "4000"},
        )
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2 and "CLOSERR_SIP_RTP_PORT_MIN" in result.output


def test_call_rejects_an_undialable_number() -> None:
    from config.settings import get_settings

    get_settings.cache_clear()
    try:
        result = runner.invoke(
            app, ["sip", "call", "12 34"], env={"CLOSERR_SIP_TRUNK_HOST": "127.0.0.1", "CLOSERR_SIP_TRUNK_PORT": "9"}
        )
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2 and "to_number" in result.output
