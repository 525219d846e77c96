"""MLflow set-up: one function that points MLflow at the project's store, called by every stage."""

import logging
import os
import signal
import subprocess
from contextlib import contextmanager
from pathlib import Path

import mlflow
from mlflow.tracking import MlflowClient

log = logging.getLogger(__name__)


def configure_tracking(params: dict) -> str:
    """Point MLflow at the tracking store and select the experiment; return the tracking URI.

    `MLFLOW_TRACKING_URI` wins over `params["mlflow"]["tracking_uri"]`, so a team points every
    stage at a tracking server without editing params.yaml.
    """
    uri = os.environ.get("MLFLOW_TRACKING_URI") or params["mlflow"]["tracking_uri"]
    mlflow.set_tracking_uri(uri)
    mlflow.set_experiment(params["mlflow"]["experiment"])
    return uri


def mark_stale_runs_failed(experiment_name: str) -> int:
    """Mark runs left RUNNING by a killed process as FAILED; return how many were marked.

    Only call this where no other process of the project is running against the same store.
    """
    client = MlflowClient()
    experiment = client.get_experiment_by_name(experiment_name)
    if experiment is None:
        return 0
    stale = client.search_runs([experiment.experiment_id], filter_string="attributes.status = 'RUNNING'")
    for run in stale:
        client.set_terminated(run.info.run_id, status="FAILED")
        log.warning("marked run %s (%s) FAILED: its process ended without closing it", run.info.run_id, run.info.run_name)
    return len(stale)


@contextmanager
def failing_on_sigterm():
    """Turn SIGTERM into an exception so that open MLflow runs end as FAILED, not RUNNING."""

    def raise_interrupt(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, raise_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def git_commit() -> str:
    """Return the current git commit, or "unknown" outside a git checkout."""
    try:
        result = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return result.stdout.strip()


def dvc_data_hash(dvc_file: str | Path = "data.dvc") -> str:
    """Return the md5 that `data.dvc` records for `data/`, or "unknown" if the file is missing."""
    import yaml

    path = Path(dvc_file)
    if not path.exists():
        return "unknown"
    with path.open() as handle:
        return yaml.safe_load(handle)["outs"][0]["md5"]
