"""Tuning workers in separate processes on one PostgreSQL study: shared budget, best trial, killed workers."""

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import optuna
import pytest
import yaml
from mlflow.tracking import MlflowClient

from tests.conftest import TINY_BUDGET, apply_params
from tests.scaling.conftest import TEAM_TUNE, TeamProject
from training.tuning import FINISHED_STATES, PARENT_RUN_ATTR, study_name_for

pytestmark = pytest.mark.integration

WORKER_TIMEOUT_S = 300
HEARTBEAT_S = 1
GRACE_S = 3
TrialState = optuna.trial.TrialState


def load_study(storage: str, params: dict) -> optuna.Study:
    return optuna.load_study(study_name=study_name_for(params), storage=storage)


def trial_runs(client: MlflowClient, parent_run_id: str) -> list:
    experiment_id = client.get_run(parent_run_id).info.experiment_id
    return client.search_runs([experiment_id], filter_string=f"tags.mlflow.parentRunId = '{parent_run_id}'")


def test_workers_share_study_budget(team_project: TeamProject) -> None:
    study = load_study(team_project.optuna_storage, team_project.params)
    trials = study.get_trials(deepcopy=False)

    assert len(trials) == TEAM_TUNE["n_trials"]
    assert all(trial.state in FINISHED_STATES for trial in trials), [trial.state for trial in trials]
    assert sorted(trial.number for trial in trials) == list(range(TEAM_TUNE["n_trials"]))
    # Two processes ran the trials, one of them two and the other one.
    per_worker = Counter(trial.user_attrs["worker"] for trial in trials)
    assert sorted(per_worker.values()) == [1, 2], per_worker


def test_trial_runs_nested_under_one_parent(team_project: TeamProject) -> None:
    study = load_study(team_project.optuna_storage, team_project.params)
    client = MlflowClient(tracking_uri=team_project.tracking_uri)
    parent_run_id = study.user_attrs[PARENT_RUN_ATTR]
    parent = client.get_run(parent_run_id)
    runs = trial_runs(client, parent_run_id)

    assert parent.info.run_name == "tune"
    assert parent.info.status == "FINISHED"
    assert sorted(run.info.run_id for run in runs) == sorted(trial.user_attrs["mlflow_run_id"] for trial in study.trials)
    assert all(run.info.status in ("FINISHED", "KILLED") for run in runs), [run.info.status for run in runs]
    assert sum(run.data.tags.get("best") == "true" for run in runs) == 1


def test_best_params_file_matches_study(team_project: TeamProject) -> None:
    best_file = json.loads((team_project.path / "artifacts" / "best_params.json").read_text())
    best = load_study(team_project.optuna_storage, team_project.params).best_trial

    assert best_file["trial"] == best.number
    assert best_file["cv_f1"] == best.value
    assert best_file["params"] == {**best.params, "iterations": best.user_attrs["iterations"]}
    assert best_file["study"] == study_name_for(team_project.params)


def start_worker(workdir: Path, env: dict[str, str], name: str, *options: str) -> subprocess.Popen:
    """Start `python -m training.tune_worker` in `workdir`, with its output in `name`.log there."""
    command = [
        sys.executable, "-m", "training.tune_worker",
        "--heartbeat-s", str(HEARTBEAT_S),
        "--grace-s", str(GRACE_S),
        *options,
    ]  # fmt: skip
    with (workdir / f"{name}.log").open("w") as log:
        return subprocess.Popen(command, cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT)


def worker_log(workdir: Path, name: str) -> str:
    return (workdir / f"{name}.log").read_text()[-5000:]


def wait_for_running_trial(process: subprocess.Popen, storage: str, params: dict, min_finished: int) -> optuna.trial.FrozenTrial:
    """Wait until the study has `min_finished` finished trials and a running one with an MLflow run."""
    deadline = time.monotonic() + WORKER_TIMEOUT_S
    while time.monotonic() < deadline:
        assert process.poll() is None, f"worker exited with {process.returncode} before the expected trial ran"
        try:
            trials = load_study(storage, params).get_trials(deepcopy=False)
        except KeyError:  # the worker has not created the study yet
            time.sleep(0.5)
            continue
        finished = [trial for trial in trials if trial.state in FINISHED_STATES]
        running = [trial for trial in trials if trial.state == TrialState.RUNNING and "mlflow_run_id" in trial.user_attrs]
        if len(finished) >= min_finished and running:
            return running[0]
        time.sleep(0.5)
    pytest.fail(f"no running trial after {min_finished} finished ones within {WORKER_TIMEOUT_S} s")


@pytest.fixture
def worker_setup(tmp_path: Path, team_project: TeamProject, create_database) -> tuple[Path, dict[str, str], str, dict]:
    """Return a working folder, worker environment, new Optuna storage and params for workers started by hand."""
    (tmp_path / "params.yaml").write_text((team_project.path / "params.yaml").read_text())
    (tmp_path / "artifacts").symlink_to(team_project.path / "artifacts")
    storage = create_database("killed")
    apply_params(tmp_path, {"tune": {**TINY_BUDGET["tune"], "storage": storage}})
    env = {**team_project.env, "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}"}
    return tmp_path, env, storage, yaml.safe_load((tmp_path / "params.yaml").read_text())


def test_killed_workers_lose_no_trial(worker_setup) -> None:
    workdir, env, storage, params = worker_setup
    client = MlflowClient(tracking_uri=env["MLFLOW_TRACKING_URI"])
    parent_run_id = client.create_run(client.create_experiment(params["mlflow"]["experiment"]), run_name="tune").info.run_id
    parent = ("--parent-run-id", parent_run_id)

    # After SIGTERM in the middle of the second trial, the first trial stays and the second ends FAIL with its run FAILED.
    first = start_worker(workdir, env, "first", "--n-trials", "3", *parent)
    interrupted = wait_for_running_trial(first, storage, params, min_finished=1)
    first.send_signal(signal.SIGTERM)
    assert first.wait(timeout=WORKER_TIMEOUT_S) == 143, worker_log(workdir, "first")
    study = load_study(storage, params)
    finished_before = {trial.number for trial in study.trials if trial.state in FINISHED_STATES}
    assert len(finished_before) >= 1
    assert study.trials[interrupted.number].state == TrialState.FAIL
    assert client.get_run(interrupted.user_attrs["mlflow_run_id"]).info.status == "FAILED"

    # SIGKILL leaves the trial RUNNING until a worker that starts a trial finds its heartbeat stale.
    second = start_worker(workdir, env, "second", "--n-trials", "3", "--worker-index", "1", *parent)
    lost = wait_for_running_trial(second, storage, params, min_finished=len(finished_before))
    os.kill(second.pid, signal.SIGKILL)
    second.wait(timeout=WORKER_TIMEOUT_S)
    assert load_study(storage, params).trials[lost.number].state == TrialState.RUNNING
    time.sleep(GRACE_S + HEARTBEAT_S)

    third = start_worker(workdir, env, "third", "--n-trials", "1", "--worker-index", "2", *parent)
    assert third.wait(timeout=WORKER_TIMEOUT_S) == 0, worker_log(workdir, "third")
    study = load_study(storage, params)
    states = {trial.number: trial.state for trial in study.trials}
    assert states[lost.number] == TrialState.FAIL
    assert client.get_run(lost.user_attrs["mlflow_run_id"]).info.status == "FAILED"
    finished_after = {number for number, state in states.items() if state in FINISHED_STATES}
    assert finished_before < finished_after
    assert len(finished_after) == len(finished_before) + (lost.number - interrupted.number - 1) + 1
    assert TrialState.RUNNING not in states.values()
    assert sorted(states) == list(range(len(states)))

    runs = trial_runs(client, parent_run_id)
    assert sorted(run.info.run_id for run in runs) == sorted(trial.user_attrs["mlflow_run_id"] for trial in study.trials)
    assert "RUNNING" not in [run.info.status for run in runs]
