"""tfnfrl.agents."""
