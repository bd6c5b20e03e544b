"""Constant-time comparison of secrets as they arrive from outside.

`hmac.compare_digest` refuses a `str` holding anything but ASCII (a TypeError, so a 500
that needs no key at all), so every secret is compared as UTF-8 bytes; `surrogatepass`
keeps a lone surrogate from a JSON body comparable instead of raising.
"""

from __future__ import annotations

import hmac


def same_secret(expected: str, given: str) -> bool:
    """True when `given` is `expected`, in time independent of where they differ."""
    return hmac.compare_digest(
        expected.encode("utf-8", "surrogatepass"), given.encode("utf-8", "surrogatepass")
    )
