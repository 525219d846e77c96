"""Reading params.yaml."""

import hashlib
import json
from pathlib import Path

import yaml


def load_params(path: str | Path = "params.yaml") -> dict:
    """Return params.yaml as a dict."""
    with Path(path).open() as handle:
        return yaml.safe_load(handle)


def fingerprint(*groups: dict) -> str:
    """Return a short stable hash of parameter groups, to name what they produce."""
    text = json.dumps(groups, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:10]
