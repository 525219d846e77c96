"""A real `bentoml serve` on a free loopback port, serving a model registered by the register stage.

The session fixtures take the project copy on which `dvc repro` ran with a tiny tuning budget
(`pipeline_project` in tests/conftest.py), with its own MLflow store and BentoML home, and serve
the Bento that its register stage built.
"""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pandas as pd
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
TRAIN_CSV = ROOT / "data" / "train.csv"
NO_TELEMETRY = {"DO_NOT_TRACK": "true", "BENTOML_DO_NOT_TRACK": "true", "MLFLOW_DISABLE_TELEMETRY": "true"}
SERVER_START_TIMEOUT_S = 180
REQUEST_TIMEOUT_S = 60
REPORT_KEY = pytest.StashKey[list[str]]()


def pytest_terminal_summary(terminalreporter, config: pytest.Config) -> None:
    lines = config.stash.get(REPORT_KEY, [])
    if lines:
        terminalreporter.section("serving figures")
        for line in lines:
            terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def report_line(pytestconfig: pytest.Config):
    """Return a function that adds a line to the "serving figures" section of the test summary."""
    return pytestconfig.stash.setdefault(REPORT_KEY, []).append


@pytest.fixture(scope="session")
def params() -> dict:
    with (ROOT / "params.yaml").open() as handle:
        return yaml.safe_load(handle)


@pytest.fixture(scope="session")
def train_frame() -> pd.DataFrame:
    if not TRAIN_CSV.exists():
        pytest.fail(f"{TRAIN_CSV} is missing; run `dvc pull` first")
    return pd.read_csv(TRAIN_CSV)


@pytest.fixture(scope="session")
def stores_env(pipeline_project: Path) -> dict[str, str]:
    """Return the environment of a subprocess that uses the pipeline copy's MLflow store and BentoML home."""
    return {
        **os.environ,
        **NO_TELEMETRY,
        "MLFLOW_TRACKING_URI": f"sqlite:///{pipeline_project / 'mlflow.db'}",
        "BENTOML_HOME": str(pipeline_project / "bentoml"),
        "PYTHONPATH": str(ROOT),
    }


@pytest.fixture(scope="session")
def registry_report(pipeline_project: Path) -> dict:
    """The reports/registry.json that the pipeline's register stage wrote."""
    return json.loads((pipeline_project / "reports" / "registry.json").read_text())


def free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def server_url(
    tmp_path_factory: pytest.TempPathFactory, registry_report: dict, stores_env: dict[str, str]
) -> str:
    """Start `bentoml serve` on the built Bento and return its base URL once /readyz returns 200."""
    port = free_loopback_port()
    url = f"http://127.0.0.1:{port}"
    work = tmp_path_factory.mktemp("serve")
    log_path = work / "serve.log"
    command = [sys.executable, "-m", "bentoml", "serve", registry_report["bento"], "--host", "127.0.0.1", "--port", str(port)]

    with log_path.open("w") as log_file:
        process = subprocess.Popen(
            command, cwd=work, env=stores_env, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        wait_until_ready(url, process, log_path)
        yield url
    finally:
        stop_server(process)


def wait_until_ready(url: str, process: subprocess.Popen, log_path: Path) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"bentoml serve exited with {process.returncode}:\n{log_path.read_text()[-5000:]}")
        try:
            with urllib.request.urlopen(f"{url}/readyz", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    pytest.fail(f"bentoml serve was not ready within {SERVER_START_TIMEOUT_S} s:\n{log_path.read_text()[-5000:]}")


def stop_server(process: subprocess.Popen) -> None:
    """Stop the server and its workers: SIGTERM to the server, then SIGKILL to its process group."""
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, 9)
        process.wait(timeout=10)


@pytest.fixture(scope="session")
def post(server_url: str):
    """Return a function that POSTs raw bytes to a path and returns (status, content type, parsed JSON)."""

    def send(body: bytes, path: str = "/predict", content_type: str = "application/json") -> tuple[int, str, dict]:
        request = urllib.request.Request(
            f"{server_url}{path}", data=body, headers={"Content-Type": content_type}, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT_S) as response:
                return response.status, response.headers.get("Content-Type", ""), json.loads(response.read())
        except urllib.error.HTTPError as error:
            with error:
                return error.code, error.headers.get("Content-Type", ""), json.loads(error.read())

    return send
