"""The DND registry simulation, the clients' own suppression lists, and the dial-time check."""
