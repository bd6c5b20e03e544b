"""Parallel senders through a real server: no error, one profile per user (both backends)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
from fastapi import FastAPI
from sqlalchemy import Engine, func, select

from engine.ingest.repository import events, profiles
from tests.conftest import WRITE_KEY
from tests.support.server import live_server


def test_parallel_batches_about_the_same_new_users(app: FastAPI, db_engine: Engine) -> None:
    users = [f"user-{i}" for i in range(60)]

    def send(sender: int) -> list[int]:
        statuses = []
        with httpx.Client(base_url=base, auth=(WRITE_KEY, ""), timeout=30) as client:
            for round_ in range(5):
                batch = [
                    {
                        "type": "track",
                        "userId": user,
                        "anonymousId": f"anon-{user}",
                        "event": "e",
                        "messageId": f"{sender}-{round_}-{user}",
                    }
                    for user in users
                ]
                statuses.append(client.post("/v1/batch", json={"batch": batch}).status_code)
        return statuses

    with live_server(app) as base, ThreadPoolExecutor(4) as pool:
        results = list(pool.map(send, range(4)))
    assert all(status == 200 for statuses in results for status in statuses)
    with db_engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(profiles)).scalar() == len(users)
        assert conn.execute(select(func.count()).select_from(events)).scalar() == 4 * 5 * 60
