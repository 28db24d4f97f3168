"""Fixtures for the SIP endpoint tests: real peers (sipp, baresip) are started by the tests themselves."""

from __future__ import annotations

import shutil

import pytest


def require_binary(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed: run scripts/install.sh (scripts/apt-packages.txt lists it)")
    return path
