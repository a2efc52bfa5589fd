"""A store simulated in simulated time, through the real services."""
