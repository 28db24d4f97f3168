#!/usr/bin/env bash
# Runs the whole suite. Services the tests need (PostgreSQL, Prometheus, SIP peers, Chromium) are started by
# the test fixtures on loopback; see tests/conftest.py.
set -euo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1
mkdir -p test-artifacts
.venv/bin/python -m pytest -q -p no:cacheprovider --junitxml=test-artifacts/junit.xml "$@"
