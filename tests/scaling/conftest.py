"""Fixtures of the scaling tests: a real PostgreSQL server, an MLflow tracking server, a team's pipeline run.

The PostgreSQL server comes from $CARDIOSPIKE_TEST_POSTGRES_URL, which `.ci/run` sets after starting
one on loopback with `.ci/test-postgres`. Each test database is created here and dropped at the end.
`team_project` is a copy of the project whose `dvc repro` ran as a team would run it. Tuning ran in
two worker processes on a PostgreSQL study. Every stage tracked to an MLflow server that stores runs
in PostgreSQL and artifacts in a folder.
"""

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
import yaml
from psycopg import sql
from sqlalchemy.engine import make_url

from tests.conftest import NO_TELEMETRY, SHARED_REMOTE, TINY_BUDGET, apply_params, make_project_copy
from tests.serving.conftest import free_loopback_port, stop_server

POSTGRES_URL_ENV = "CARDIOSPIKE_TEST_POSTGRES_URL"
MLFLOW_START_TIMEOUT_S = 120
PIPELINE_TIMEOUT_S = 900
# Three trials over two workers: one worker runs two trials and the other one.
TEAM_TUNE = {**TINY_BUDGET["tune"], "n_trials": 3, "workers": 2}


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """Return the URL of the test PostgreSQL server; skip outside CI when none is configured."""
    url = os.environ.get(POSTGRES_URL_ENV)
    if url:
        return url
    message = f"{POSTGRES_URL_ENV} is not set; `.ci/test-postgres start FOLDER` starts a server and prints the URL to set"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def create_database(postgres_url: str):
    """Return a function that creates an empty database and returns its URL; all are dropped at the end."""
    created: list[str] = []

    def create(prefix: str) -> str:
        name = f"{prefix}_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(postgres_url, autocommit=True) as connection:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        created.append(name)
        return make_url(postgres_url).set(database=name).render_as_string(hide_password=False)

    yield create

    with psycopg.connect(postgres_url, autocommit=True) as connection:
        for name in created:
            connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def wait_for_http(url: str, process: subprocess.Popen, log_path: Path, timeout_s: float) -> None:
    """Poll `url` until it returns 200; fail with the server's log if it exits or the time runs out."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"server exited with {process.returncode}:\n{log_path.read_text()[-5000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    pytest.fail(f"{url} did not return 200 within {timeout_s} s:\n{log_path.read_text()[-5000:]}")


@dataclass(frozen=True)
class MlflowServer:
    """An `mlflow server` process on loopback, possibly still starting."""

    url: str
    process: subprocess.Popen
    log_path: Path

    def wait_until_ready(self) -> None:
        wait_for_http(f"{self.url}/health", self.process, self.log_path, MLFLOW_START_TIMEOUT_S)


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory, create_database) -> MlflowServer:
    """Start `mlflow server` with a new PostgreSQL database as backend store, without waiting for it."""
    folder = tmp_path_factory.mktemp("mlflow_server")
    port = free_loopback_port()
    command = [
        sys.executable, "-m", "mlflow", "server",
        "--backend-store-uri", create_database("mlflow"),
        "--artifacts-destination", str(folder / "artifacts"),
        "--host", "127.0.0.1",
        "--port", str(port),
        "--workers", "1",
    ]  # fmt: skip
    # The server's job executor (six consumer processes for background jobs such as online scoring) is unused here.
    env = {**os.environ, **NO_TELEMETRY, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    log_path = folder / "server.log"
    with log_path.open("w") as log_file:
        process = subprocess.Popen(command, cwd=folder, env=env, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield MlflowServer(url=f"http://127.0.0.1:{port}", process=process, log_path=log_path)
    finally:
        stop_server(process)


@dataclass(frozen=True)
class TeamProject:
    """A project copy after `dvc repro` with tuning workers on PostgreSQL and an MLflow tracking server."""

    path: Path
    env: dict[str, str]  # environment of the pipeline: MLFLOW_TRACKING_URI and BENTOML_HOME among it
    tracking_uri: str
    optuna_storage: str
    params: dict
    registry: dict  # reports/registry.json of the register stage


def run_in_project(project: Path, command: list[str], env: dict[str, str]) -> None:
    result = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True, timeout=PIPELINE_TIMEOUT_S)
    assert result.returncode == 0, f"{' '.join(command)} failed:\n{result.stdout[-4000:]}\n{result.stderr[-6000:]}"


@pytest.fixture(scope="session")
def team_project(tmp_path_factory: pytest.TempPathFactory, create_database, mlflow_server: MlflowServer) -> TeamProject:
    """Copy the project and run the whole pipeline with the team set-up and a tiny budget."""
    if not SHARED_REMOTE.is_dir():
        pytest.fail(f"DVC remote not found at {SHARED_REMOTE}; the tests need ../shared beside the project")
    project = make_project_copy(tmp_path_factory.mktemp("team_project"))
    storage = create_database("optuna")
    apply_params(project, {**TINY_BUDGET, "tune": {**TEAM_TUNE, "storage": storage}})

    # The pipeline is pointed at the server by MLFLOW_TRACKING_URI alone; params.yaml keeps its SQLite URI.
    env = {
        **os.environ,
        **NO_TELEMETRY,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "MLFLOW_TRACKING_URI": mlflow_server.url,
        "BENTOML_HOME": str(tmp_path_factory.mktemp("team_bentoml")),
    }
    # prepare and featurize use no MLflow, so they run while the server starts.
    run_in_project(project, [sys.executable, "-m", "dvc", "repro", "featurize"], env)
    mlflow_server.wait_until_ready()
    run_in_project(project, [sys.executable, "-m", "dvc", "repro"], env)

    return TeamProject(
        path=project,
        env=env,
        tracking_uri=mlflow_server.url,
        optuna_storage=storage,
        params=yaml.safe_load((project / "params.yaml").read_text()),
        registry=json.loads((project / "reports" / "registry.json").read_text()),
    )
