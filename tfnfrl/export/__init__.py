"""tfnfrl.export."""
