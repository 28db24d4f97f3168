"""Running baresip headless from the tests: a temporary config dir, aufile as microphone and speaker."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.sip.conftest import require_binary
from tests.sip.sipp import free_port

MODULE_PATH = "/usr/lib/baresip/modules"


def write_config(config_dir: Path, *, voice_wav: Path, heard_dir: Path, rtp_base: int) -> int:
    """A config with no sound card and no registration; returns the SIP port baresip listens on."""
    config_dir.mkdir(parents=True, exist_ok=True)
    heard_dir.mkdir(parents=True, exist_ok=True)
    sip_port = free_port()
    (config_dir / "config").write_text(
        "\n".join(
            [
                "poll_method\t\tepoll",
                f"sip_listen\t\t127.0.0.1:{sip_port}",
                "sip_trans_def\t\tudp",
                f"module_path\t\t{MODULE_PATH}",
                "module\t\t\tg711.so",
                "module\t\t\taufile.so",
                # baresip 1.0's aufile is a source only; sndfile dumps each call's decoded audio to a WAV.
                "module\t\t\tsndfile.so",
                f"snd_path\t\t{heard_dir}",
                "module_app\t\taccount.so",
                "module_app\t\tmenu.so",
                f"audio_source\t\taufile,{voice_wav}",
                "audio_alert\t\taufile,/dev/null",
                "audio_srate\t\t8000",
                "audio_channels\t\t1",
                f"rtp_ports\t\t{rtp_base}-{rtp_base + 10}",
                "",
            ]
        )
    )
    (config_dir / "accounts").write_text("<sip:baresip@127.0.0.1>;regint=0;audio_codecs=PCMU,PCMA\n")
    (config_dir / "contacts").write_text("")
    return sip_port


class Baresip:
    def __init__(self, config_dir: Path) -> None:
        self.config_dir = config_dir
        self.proc: asyncio.subprocess.Process | None = None
        self.output = ""
        self._reader: asyncio.Future[None] | None = None

    async def dial(self, uri: str, quit_after_s: int) -> Baresip:
        binary = require_binary("baresip")
        self.proc = await asyncio.create_subprocess_exec(
            binary,
            "-4",
            "-f",
            str(self.config_dir),
            "-e",
            f"/dial {uri}",
            "-t",
            str(quit_after_s),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        self._reader = asyncio.ensure_future(self._read())
        return self

    async def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        while chunk := await self.proc.stdout.read(4096):
            self.output += chunk.decode(errors="replace")

    async def wait(self, timeout: float) -> int:
        """Wait for baresip to quit; past ``timeout`` ask it to (SIGTERM: it still closes its WAV files)."""
        assert self.proc is not None
        try:
            await asyncio.wait_for(self.proc.wait(), timeout)
        except TimeoutError:
            self.proc.terminate()
            await self.proc.wait()
        if self._reader is not None:
            await self._reader
        return self.proc.returncode or 0
