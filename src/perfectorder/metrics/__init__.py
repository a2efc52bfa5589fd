"""Pure metrics: order facts in, verdicts and figures out. No clock of its own, no database."""
