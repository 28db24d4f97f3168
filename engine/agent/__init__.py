"""Turn-taking and dialogue: the turn manager, dialogue policies, agent scripts and their NLU."""
