"""Parcours: a self-hosted onboarding automation engine."""

__version__ = "0.1.0"
