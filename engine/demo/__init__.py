"""`parcours demo`: a simulated SaaS onboarding, end to end, through the real HTTP API."""
