"""What every long-running pyantrea program shares: logging, named tasks, health and metrics HTTP."""
