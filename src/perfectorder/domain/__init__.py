"""The pure core: no I/O, no frameworks, no clock of its own."""
