"""The security tests reuse the privacy tests' database fixtures: a migrated database on SQLite and on the
session's PostgreSQL server."""

from tests.privacy.conftest import backend, database_url, db  # noqa: F401
