"""`/sdk/parcours-<version>.js`: the built browser SDK, cached for a year.

A version's bytes never change (a new build is a new version and a new file name), so
browsers and CDNs may keep it forever and pages can pin it with a Subresource Integrity hash.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Response

from engine.errors import NotFound

router = APIRouter(tags=["browser sdk"])

SDK_DIR = Path(__file__).parent
IMMUTABLE = "public, max-age=31536000, immutable"


def sdk_versions() -> dict[str, Path]:
    """The shipped builds by version (`parcours-0.1.0.js` -> `0.1.0`)."""
    return {path.stem.removeprefix("parcours-"): path for path in SDK_DIR.glob("parcours-*.js")}


@router.get("/sdk/parcours-{version}.js", response_class=Response)
def get_sdk(version: str) -> Response:
    """The browser SDK at one version."""
    path = sdk_versions().get(version)
    if path is None:
        known = ", ".join(sorted(sdk_versions()))
        raise NotFound(f"no parcours.js {version!r}; this server ships {known}")
    return Response(
        path.read_bytes(),
        media_type="text/javascript",
        headers={"Cache-Control": IMMUTABLE, "Access-Control-Allow-Origin": "*"},
    )
