"""tfnfrl.training."""
