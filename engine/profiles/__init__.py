"""Read and erase profiles and their events (admin API)."""
