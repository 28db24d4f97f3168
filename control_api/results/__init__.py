"""What a client takes home: a campaign's results, one row per lead with its latest call, as CSV or NDJSON."""
