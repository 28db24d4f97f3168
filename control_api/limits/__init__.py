"""Abuse limits: request rates per client address and per key, counted in the database so that every API process
shares one count."""
