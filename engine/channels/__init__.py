"""Channels: how a delivery leaves Parcours (email, webhook; in-app items are stored rows)."""
