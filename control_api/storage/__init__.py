"""The database the features share: the async engine and session factory, migrations, column types, bulk driver
access and the registry of every feature's tables. Each feature keeps its own tables and queries."""
