"""Campaigns: script, TRAI category, calling window, retry policy, lifecycle."""
