"""Client accounts and their API keys."""
