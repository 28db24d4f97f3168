"""Shared test plugins. Each area keeps its own fixtures in tests/<area>/conftest.py."""

pytest_plugins = ["tests.fixtures.postgres"]
