"""Cross-flow guardrails: a frequency cap per profile and channel, and quiet hours."""
