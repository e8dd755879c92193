"""tfnfrl.networks."""
