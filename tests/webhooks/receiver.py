"""A webhook receiver for tests: a tiny FastAPI app, served by uvicorn on 127.0.0.1, that
verifies every request with the `standardwebhooks` library (the reference implementation
receivers use) and answers with scripted status codes."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request, Response
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    verified: bool  # by at least one of the receiver's secrets
    payload: Any


def verifies(secret: str, request: Received) -> bool:
    """Whether `secret` alone verifies `request` (signature and timestamp)."""
    try:
        Webhook(secret).verify(request.body, request.headers)
    except WebhookVerificationError:
        return False
    return True


@dataclass
class Receiver:
    """Records every request; answers `answers` in order (a status, or a status and
    headers), then 200."""

    url: str = ""
    secrets: list[str] = field(default_factory=list)
    answers: list[int | tuple[int, dict[str, str]]] = field(default_factory=list)
    requests: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def reset(self, *secrets: str) -> None:
        with self.lock:
            self.secrets = list(secrets)
            self.answers.clear()
            self.requests.clear()

    def hits(self, path: str) -> list[Received]:
        with self.lock:
            return [r for r in self.requests if r.path == path]

    async def _record(self, request: Request) -> Received:
        body = await request.body()
        headers = dict(request.headers)
        with self.lock:
            secrets = list(self.secrets)
        probe = Received(request.url.path, headers, body, False, None)
        verified = any(verifies(s, probe) for s in secrets)
        payload = Webhook(secrets[0]).verify(body, headers) if verified else None
        received = Received(request.url.path, headers, body, verified, payload)
        with self.lock:
            self.requests.append(received)
        return received

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/hook")
        async def hook(request: Request) -> Response:
            await self._record(request)
            with self.lock:
                answer = self.answers.pop(0) if self.answers else 200
            status, headers = answer if isinstance(answer, tuple) else (answer, {})
            return Response(f"answer {status}", status_code=status, headers=headers)

        @app.post("/redirect")
        async def redirect(request: Request) -> Response:
            await self._record(request)
            return Response(status_code=307, headers={"location": f"{self.url}/elsewhere"})

        @app.post("/elsewhere")
        async def elsewhere(request: Request) -> Response:
            await self._record(request)
            return Response("should never be reached")

        return app
