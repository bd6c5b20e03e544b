"""Flow runs: the pure step interpreter, triggers, durable timers and the journey log."""
