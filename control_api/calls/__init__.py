"""Reading call records (the dispatcher writes them)."""
