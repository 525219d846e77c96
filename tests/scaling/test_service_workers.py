"""The team's Bento served with one and with two BentoML workers returns the same responses."""

import json
import os
import subprocess
import sys
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import pytest

from tests.scaling.conftest import TeamProject
from tests.serving.conftest import REQUEST_TIMEOUT_S, free_loopback_port, stop_server, wait_until_ready

pytestmark = pytest.mark.integration

BEATS_PER_REQUEST = 300
MAX_RECORDINGS = 10
CONCURRENT_CLIENTS = 8
WORKER_MODULE = "_bentoml_impl.worker.service"


def request_bodies(test_csv: Path) -> list[bytes]:
    """Return 300-beat bodies of the first recordings of test.csv that are that long, and one body with two recordings."""
    frame = pd.read_csv(test_csv)
    bodies = []
    for _, recording in frame.groupby("id", sort=False):
        if len(recording) >= BEATS_PER_REQUEST:
            part = recording.iloc[:BEATS_PER_REQUEST]
            bodies.append({"id": part["id"].tolist(), "x": part["x"].tolist()})
        if len(bodies) == MAX_RECORDINGS:
            break
    half = BEATS_PER_REQUEST // 2
    first, second = bodies[0], bodies[1]
    bodies.append({"id": first["id"][:half] + second["id"][:half], "x": first["x"][:half] + second["x"][:half]})
    return [json.dumps(body).encode() for body in bodies]


def descendant_commands(pid: int) -> list[str]:
    """Return the command lines of all processes below `pid`, read from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry.name))

    commands, pending = [], list(children.get(pid, []))
    while pending:
        child = pending.pop()
        try:
            commands.append((Path("/proc") / str(child) / "cmdline").read_bytes().replace(b"\0", b" ").decode())
        except OSError:
            continue
        pending.extend(children.get(child, []))
    return commands


def post_json(url: str, body: bytes) -> tuple[int, dict]:
    request = urllib.request.Request(f"{url}/predict", data=body, headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT_S) as response:
        return response.status, json.loads(response.read())


def serve(team_project: TeamProject, workers: int, folder: Path):
    """Start `bentoml serve` on the team's Bento with `workers` workers; return the process and its URL."""
    port = free_loopback_port()
    # BentoML's own configuration overrides the workers that the @bentoml.service decorator sets.
    env = {**team_project.env, "BENTOML_CONFIG_OVERRIDES": json.dumps({"services": {"cardiospike": {"workers": workers}}})}
    command = [sys.executable, "-m", "bentoml", "serve", team_project.registry["bento"], "--host", "127.0.0.1", "--port", str(port)]
    log_path = folder / f"serve-{workers}.log"
    with log_path.open("w") as log_file:
        process = subprocess.Popen(command, cwd=folder, env=env, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    wait_until_ready(url, process, log_path)
    return process, url


def test_two_workers_answer_as_one(team_project: TeamProject, tmp_path: Path) -> None:
    bodies = request_bodies(team_project.path / "data" / "test.csv")

    process, url = serve(team_project, 1, tmp_path)
    try:
        one_worker_processes = sum(WORKER_MODULE in command for command in descendant_commands(process.pid))
        expected = [post_json(url, body) for body in bodies]
    finally:
        stop_server(process)

    process, url = serve(team_project, 2, tmp_path)
    try:
        two_worker_processes = sum(WORKER_MODULE in command for command in descendant_commands(process.pid))
        sequential = [post_json(url, body) for body in bodies]
        with ThreadPoolExecutor(CONCURRENT_CLIENTS) as pool:
            concurrent = list(pool.map(lambda body: post_json(url, body), bodies * 4))
    finally:
        stop_server(process)

    assert one_worker_processes == 1
    assert two_worker_processes == 2
    assert all(status == 200 for status, _ in expected), [status for status, _ in expected]
    assert sequential == expected
    assert concurrent == expected * 4
