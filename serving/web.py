"""The clinicians' web page: an ASGI app that the BentoML service mounts at `/ui`.

It serves the static page from `serving/ui/`, the page's texts in both languages, and the sample
recordings that `python -m serving.samples` picked at build time. The page sends files to the
service's `POST /predict_file`, so the app needs no model of its own.
"""

import json
import logging
import re
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from serving.i18n import LANGUAGES, TEXTS, choose_language
from serving.recording_file import FileLimits
from serving.samples import DEFAULT_SAMPLES_DIR, INDEX_FILE

log = logging.getLogger(__name__)

UI_DIR = Path(__file__).parent / "ui"
SAMPLE_NAME = re.compile(r"[A-Za-z0-9_-]+\.csv")


def create_app(samples_dir: Path = DEFAULT_SAMPLES_DIR, limits: FileLimits = FileLimits()) -> Starlette:
    """Build the page app; `samples_dir` contains the sample CSV files and their `index.json`."""

    async def texts(request: Request) -> JSONResponse:
        # The page takes `language` unless the user picked one with the switch.
        return JSONResponse(
            {
                "language": choose_language(request.headers.get("accept-language")),
                "languages": list(LANGUAGES),
                "texts": TEXTS,
                "limits": {"max_bytes": limits.max_bytes, "max_rows": limits.max_rows},
            },
            headers={"Vary": "Accept-Language"},
        )

    async def sample_index(request: Request) -> JSONResponse:
        return JSONResponse(read_sample_index(samples_dir))

    async def sample_file(request: Request) -> Response:
        name = request.path_params["name"]
        path = samples_dir / name
        if not SAMPLE_NAME.fullmatch(name) or not path.is_file():
            return JSONResponse({"detail": f"sample {name!r} not found"}, status_code=404)
        return FileResponse(path, media_type="text/csv", filename=name)

    routes = [
        Route("/texts.json", texts),
        Route("/samples.json", sample_index),
        Route("/samples/{name}", sample_file),
        Mount("/", StaticFiles(directory=UI_DIR, html=True)),
    ]
    return Starlette(routes=routes)


def read_sample_index(samples_dir: Path) -> list[dict]:
    """Return the sample list written by `serving.samples`, or an empty list when none was built."""
    path = samples_dir / INDEX_FILE
    if not path.is_file():
        log.warning("no sample recordings at %s; run python -m serving.samples", samples_dir)
        return []
    with path.open(encoding="utf-8") as handle:
        return json.load(handle)
