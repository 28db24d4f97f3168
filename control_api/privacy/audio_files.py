"""Call audio under ``<data_dir>/audio/<call_id>.ogg`` (the engine's recordings; ``.flac`` at a rate Opus does not
take): finding and deleting it off the event loop."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

AUDIO_SUFFIXES = (".ogg", ".flac", ".wav", ".ulaw", ".raw", ".mp3")


def audio_dir(data_dir: Path) -> Path:
    return data_dir / "audio"


def audio_paths(data_dir: Path, call_id: str) -> list[Path]:
    # The call id comes from our own rows, but never let one escape the audio directory.
    if not call_id or "/" in call_id or "\\" in call_id or call_id.startswith("."):
        return []
    base = audio_dir(data_dir)
    return [p for p in (base / f"{call_id}{s}" for s in AUDIO_SUFFIXES) if p.is_file()]


def _overwrite_and_unlink(path: Path) -> bool:
    """Zero the bytes before unlinking, so the recording is not left in a reused block of a plain filesystem
    (best effort: copy-on-write filesystems and SSD wear levelling keep their own copies)."""
    try:
        size = path.stat().st_size
        with path.open("r+b") as fh:
            remaining = size
            chunk = b"\0" * 65536
            while remaining > 0:
                n = min(remaining, len(chunk))
                fh.write(chunk[:n])
                remaining -= n
            fh.flush()
            os.fsync(fh.fileno())
        path.unlink()
        return True
    except FileNotFoundError:
        return False


def _delete_sync(data_dir: Path, call_ids: Iterable[str]) -> int:
    return sum(_overwrite_and_unlink(p) for cid in call_ids for p in audio_paths(data_dir, cid))


async def delete_audio(data_dir: Path, call_ids: Sequence[str]) -> int:
    if not call_ids:
        return 0
    return await asyncio.to_thread(_delete_sync, data_dir, list(call_ids))


def _list_sync(data_dir: Path, min_age_s: float) -> dict[str, Path]:
    base = audio_dir(data_dir)
    if not base.is_dir():
        return {}
    cutoff = time.time() - min_age_s
    out: dict[str, Path] = {}
    for entry in os.scandir(base):
        if entry.is_file() and entry.name.endswith(AUDIO_SUFFIXES) and entry.stat().st_mtime < cutoff:
            out[Path(entry.name).stem] = Path(entry.path)
    return out


async def list_audio(data_dir: Path, *, min_age_s: float = 0.0) -> dict[str, Path]:
    """call id -> file, for files older than ``min_age_s`` (a call being recorded may not have its row yet)."""
    return await asyncio.to_thread(_list_sync, data_dir, min_age_s)


async def delete_paths(paths: Sequence[Path]) -> int:
    def _run() -> int:
        return sum(_overwrite_and_unlink(p) for p in paths)

    return await asyncio.to_thread(_run) if paths else 0
