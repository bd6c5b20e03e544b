"""Real uvicorn for end-to-end tests (the same helper `parcours demo` uses)."""

from engine.demo.server import serve_in_thread as live_server

__all__ = ["live_server"]
