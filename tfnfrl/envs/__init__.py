"""tfnfrl.envs."""
