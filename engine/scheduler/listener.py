"""The worker's own /metrics: a small HTTP listener on 127.0.0.1 (a worker has no API), with
the API's token rule (PARCOURS_METRICS_TOKEN or the admin key as a bearer token)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from engine.api.system import bearer_token

UNAUTHORIZED = {
    "code": "unauthorized",
    "message": "/metrics needs 'Authorization: Bearer <PARCOURS_METRICS_TOKEN or admin key>'",
}
NOT_FOUND = {"code": "not_found", "message": "only /metrics is served here"}


def serve_metrics(
    registry: CollectorRegistry, may_read: Callable[[str], bool], port: int
) -> ThreadingHTTPServer:
    """Start answering on 127.0.0.1:`port` in a daemon thread; `shutdown()` stops it."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.partition("?")[0] != "/metrics":
                self._answer(404, json.dumps(NOT_FOUND).encode(), "application/json")
            elif not may_read(bearer_token(self.headers.get("authorization", ""))):
                self._answer(401, json.dumps(UNAUTHORIZED).encode(), "application/json")
            else:
                self._answer(200, generate_latest(registry), CONTENT_TYPE_LATEST)

        def _answer(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            """Scrapes are not logged: one line per Prometheus scrape is noise."""

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
    return server
