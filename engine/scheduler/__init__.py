"""APScheduler wiring: thin periodic jobs over work that lives in the database."""
