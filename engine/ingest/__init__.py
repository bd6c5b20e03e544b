"""Ingestion of Segment-compatible calls into profiles and events (idempotent by messageId)."""
