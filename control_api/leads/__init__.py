"""Lead uploads (CSV / NDJSON) with consent checks, and the lead list."""
