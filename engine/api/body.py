"""Read a request body within a size limit, gunzipping it if the SDK compressed it.

The limit applies to the decompressed size too, so a small gzip bomb cannot expand past it.
"""

from __future__ import annotations

import zlib

from starlette.requests import Request

from engine.errors import BadRequest, PayloadTooLarge


def _too_large(limit: int, what: str) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"{what} is larger than the {limit // 1024} KB limit; send fewer messages per request"
    )


async def read_body(request: Request, limit: int, what: str) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit, what)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit, what)
        chunks.append(chunk)
    body = b"".join(chunks)
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    if encoding == "gzip":
        return _gunzip(body, limit, what)
    if encoding not in ("identity", ""):
        raise BadRequest(f"unsupported Content-Encoding {encoding!r} (use gzip or none)")
    return body


def _gunzip(body: bytes, limit: int, what: str) -> bytes:
    decompressor = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        out = decompressor.decompress(body, limit + 1)
    except zlib.error as exc:
        raise BadRequest(f"body is not valid gzip: {exc}", code="invalid_gzip") from exc
    if len(out) > limit or decompressor.unconsumed_tail:
        raise _too_large(limit, what)
    if not decompressor.eof:
        raise BadRequest("gzip body is truncated", code="invalid_gzip")
    return out
