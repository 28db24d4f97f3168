"""The privacy engine: data-principal rights, retention purge, grievances, audit verification routes."""
