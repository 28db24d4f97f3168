"""Running sipp (Debian package sip-tester) from the tests: scenarios from tests/sip/scenarios/ with
placeholders filled in, ports chosen free on loopback, output kept for the failure message."""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass
from pathlib import Path

from tests.sip.conftest import require_binary

SCENARIOS = Path(__file__).parent / "scenarios"
DTMF_PCAP_DIR = Path("/usr/share/sip-tester")


def free_port(kind: int = socket.SOCK_DGRAM) -> int:
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def free_media_port() -> int:
    """sipp uses the media port and the next ones (RTP/RTCP, audio/video): find a free run of four."""
    for _ in range(50):
        base = free_port() & ~1
        socks = []
        try:
            for offset in range(4):
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                socks.append(s)
                s.bind(("127.0.0.1", base + offset))
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no free media ports")


def scenario(name: str, tmp: Path, **values: str) -> Path:
    text = (SCENARIOS / name).read_text()
    for key, value in values.items():
        text = text.replace(f"@{key}@", value)
    path = tmp / name
    path.write_text(text)
    return path


@dataclass
class SippResult:
    returncode: int
    output: str
    errors: str

    def explain(self) -> str:
        return (
            f"sipp exited {self.returncode}\n--- errors ---\n{self.errors[-3000:]}\n"
            f"--- output ---\n{self.output[-2000:]}"
        )


class Sipp:
    def __init__(self, args: list[str], tmp: Path) -> None:
        self.args = args
        self.tmp = tmp
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> Sipp:
        binary = require_binary("sipp")
        self.proc = await asyncio.create_subprocess_exec(
            binary,
            *self.args,
            "-nostdin",
            "-nd",
            "-trace_err",
            "-error_file",
            str(self.tmp / "sipp_errors.log"),
            "-timeout",
            "40",
            "-timeout_error",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            cwd=self.tmp,
        )
        return self

    async def wait(self, timeout: float = 45.0) -> SippResult:
        assert self.proc is not None
        try:
            out, _ = await asyncio.wait_for(self.proc.communicate(), timeout)
        except TimeoutError:
            self.proc.kill()
            out, _ = await self.proc.communicate()
        errors_file = self.tmp / "sipp_errors.log"
        errors = errors_file.read_text(errors="replace") if errors_file.exists() else ""
        return SippResult(self.proc.returncode or 0, out.decode(errors="replace"), errors)

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()


def uac_args(scenario_path: Path, target_port: int, transport: str = "u1", service: str = "+919876543210") -> list[str]:
    return [
        "-sf",
        str(scenario_path),
        "-m",
        "1",
        "-t",
        transport,
        "-i",
        "127.0.0.1",
        "-p",
        str(free_port(socket.SOCK_STREAM if transport.startswith("t") else socket.SOCK_DGRAM)),
        "-mi",
        "127.0.0.1",
        "-mp",
        str(free_media_port()),
        "-s",
        service,
        f"127.0.0.1:{target_port}",
    ]


def uas_args(scenario_path: Path, port: int) -> list[str]:
    return [
        "-sf",
        str(scenario_path),
        "-m",
        "1",
        "-i",
        "127.0.0.1",
        "-p",
        str(port),
        "-mi",
        "127.0.0.1",
        "-mp",
        str(free_media_port()),
    ]
