"""Shared fixtures: a real pipeline run on the real data, in a temporary copy of the project."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

PROJECT = Path(__file__).resolve().parents[1]
SHARED_REMOTE = PROJECT.parent / "shared" / "dvc-remote"

# MLflow and BentoML send usage statistics unless these are set, and tests must reach no network.
NO_TELEMETRY = {"DO_NOT_TRACK": "true", "BENTOML_DO_NOT_TRACK": "true", "MLFLOW_DISABLE_TELEMETRY": "true"}

# A budget small enough for tests: the stages run for real, each CatBoost fit takes seconds.
TINY_BUDGET = {
    "tune": {"n_trials": 2, "folds": 2, "timeout_s": 120},
    "model": {"iterations": 60, "early_stopping_rounds": 10},
    "post_processing": {"smooth_half_window": [0, 1], "min_episode_beats": [1], "widen_beats": [0]},
}


def pytest_configure(config: pytest.Config) -> None:
    # MLflow reads these when it is imported, so they are set before any test module imports it.
    os.environ.update(NO_TELEMETRY)
    pull_data()


def pull_data() -> None:
    """Restore data/ from the DVC remote on a fresh clone; tests on the real data read it."""
    if (PROJECT / "data" / "train.csv").exists() and (PROJECT / "data" / "test.csv").exists():
        return
    result = subprocess.run(
        [sys.executable, "-m", "dvc", "pull", "-q", "data.dvc"], cwd=PROJECT, capture_output=True, text=True
    )
    if result.returncode != 0:
        # The tests that need the data fail with their own message; unit tests still run.
        print(f"dvc pull data.dvc failed, tests on the real data will fail:\n{result.stderr}", file=sys.stderr)


def tracked_files(root: Path) -> list[str]:
    """Return the files git tracks plus new files not ignored, so tests see uncommitted work too."""
    output = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=root, capture_output=True, text=True, check=True,
    ).stdout
    return [line for line in output.splitlines() if (root / line).is_file()]


def make_project_copy(destination: Path) -> Path:
    """Copy the project's tracked files into `destination`, as a fresh git repository with the data pulled."""
    for relative in tracked_files(PROJECT):
        target = destination / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(PROJECT / relative, target)
    subprocess.run(["git", "init", "-q"], cwd=destination, check=True)
    # The relative remote in .dvc/config resolves from the project's own folder; the copy gets an absolute one.
    dvc = [sys.executable, "-m", "dvc"]
    subprocess.run([*dvc, "remote", "modify", "--local", "shared", "url", str(SHARED_REMOTE)], cwd=destination, check=True)
    subprocess.run([*dvc, "pull", "-q", "data.dvc"], cwd=destination, check=True)
    return destination


def apply_params(project: Path, overrides: dict) -> None:
    path = project / "params.yaml"
    params = yaml.safe_load(path.read_text())
    for group, values in overrides.items():
        params[group].update(values)
    path.write_text(yaml.safe_dump(params, sort_keys=False))


def run_pipeline(project: Path, *dvc_args: str) -> subprocess.CompletedProcess:
    """Run `dvc repro` in `project` with its own MLflow store and BentoML home, never the user's."""
    env = {
        **os.environ,
        **NO_TELEMETRY,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "BENTOML_HOME": str(project / "bentoml"),
    }
    env.pop("MLFLOW_TRACKING_URI", None)
    return subprocess.run([sys.executable, "-m", "dvc", "repro", *dvc_args], cwd=project, env=env, capture_output=True, text=True)


@pytest.fixture(scope="session")
def pipeline_project(tmp_path_factory) -> Path:
    """A copy of the project on which `dvc repro` ran with a tiny tuning budget on the real data."""
    if not SHARED_REMOTE.is_dir():
        pytest.fail(f"DVC remote not found at {SHARED_REMOTE}; the tests need ../shared beside the project")
    project = make_project_copy(tmp_path_factory.mktemp("project"))
    apply_params(project, TINY_BUDGET)
    result = run_pipeline(project)
    assert result.returncode == 0, f"dvc repro failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    return project
