"""The dashboard: server-rendered pages over the engine's data (see docs/dashboard.md)."""
