"""Adapters: the outside world (database, clock, files) behind the services' ports."""
