"""Service settings read from the `register` and `serve` groups of params.yaml."""

import os
from dataclasses import dataclass
from pathlib import Path

import yaml

# The service reads this file when the variable is set. Otherwise it reads params.yaml beside the
# `serving` package: the project root in a checkout, the source folder inside a built Bento.
PARAMS_ENV = "CARDIOSPIKE_PARAMS"
DEFAULT_PARAMS = Path(__file__).resolve().parents[1] / "params.yaml"
MIB = 1024 * 1024


@dataclass(frozen=True)
class ServeSettings:
    """Limits and resources of the BentoML service."""

    model_name: str  # BentoML model name; the register stage uses the registered MLflow model's name
    max_beats: int  # beats per /predict request; more get 413
    max_request_bytes: int  # body size per request; larger bodies get 413 before parsing
    timeout_s: float  # BentoML returns 504 for a request still running after this many seconds
    workers: int  # server processes
    cpu: str  # resources one replica requests from a scheduler
    memory: str


def load_serve_settings(params_path: str | Path | None = None) -> ServeSettings:
    """Read the settings from `params_path`, from $CARDIOSPIKE_PARAMS, or from the default params.yaml."""
    path = Path(params_path or os.environ.get(PARAMS_ENV) or DEFAULT_PARAMS)
    with path.open() as handle:
        params = yaml.safe_load(handle)

    serve = params["serve"]
    return ServeSettings(
        model_name=params["register"]["model_name"],
        max_beats=int(serve["max_beats"]),
        max_request_bytes=int(float(serve["max_request_mib"]) * MIB),
        timeout_s=float(serve["timeout_s"]),
        workers=int(serve["workers"]),
        cpu=str(serve["cpu"]),
        memory=str(serve["memory"]),
    )
