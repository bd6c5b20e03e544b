"""A TCP proxy that loses the server's answer to the first N requests.

The request reaches the server (and is stored), but the client sees the connection drop, as
after a network failure, so a real SDK retries the very same batch.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from tests.support.postgres import free_port


def _read_message(sock: socket.socket) -> bytes:
    """One HTTP message (head and Content-Length body); empty if the peer closed first."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        body += sock.recv(65536)
    return head + b"\r\n\r\n" + body


class AnswerLosingProxy:
    def __init__(self, target_port: int, lose_first: int) -> None:
        self.target_port = target_port
        self.to_lose = lose_first
        self.requests = 0
        self.port = free_port()
        self._listener = socket.create_server(("127.0.0.1", self.port))
        self._stop = threading.Event()

    def serve(self) -> None:
        self._listener.settimeout(0.2)
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:  # the listener was closed
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        with conn, socket.create_connection(("127.0.0.1", self.target_port)) as upstream:
            while True:
                request = _read_message(conn)
                if not request:
                    return
                upstream.sendall(request)
                response = _read_message(upstream)
                self.requests += 1
                if self.to_lose > 0:
                    self.to_lose -= 1
                    return  # the answer is lost: close without replying
                conn.sendall(response)

    def stop(self) -> None:
        self._stop.set()

    def close(self) -> None:
        self._listener.close()


@contextmanager
def answer_losing_proxy(target_url: str, lose_first: int) -> Iterator[AnswerLosingProxy]:
    proxy = AnswerLosingProxy(int(target_url.rsplit(":", 1)[1]), lose_first)
    thread = threading.Thread(target=proxy.serve, daemon=True)
    thread.start()
    try:
        yield proxy
    finally:
        proxy.stop()
        thread.join(timeout=5)
        proxy.close()
