"""Tuning worker: run trials of the study that params.yaml names, in storage that other workers share.

Any number of workers, on one machine or many, can work on one study at the same time:

    python -m training.tune_worker --storage postgresql://user@db-host/optuna

Each worker needs the project, the prepared and featurized training data (`dvc pull` or
`dvc repro featurize`) and the same params.yaml, because the study name includes a fingerprint of
the prepare, features and model settings. Every trial becomes an MLflow run nested under one parent
run: `--parent-run-id`, else the parent that the tune stage recorded in the study, else a parent
run that this worker opens and records there. Without `--n-trials` a worker runs until the study
contains tune.n_trials finished trials. Workers started together may therefore finish up to one
trial each beyond the budget.

Trials that a worker finished stay in the study when it is killed. On SIGTERM its running trial and
the trial's MLflow run end FAILED at once. After SIGKILL or the loss of the machine, the next worker
to start a trial marks it FAILED once its heartbeat is `--grace-s` seconds old.
"""

import argparse
import logging
import os
import socket
import subprocess
import sys
from pathlib import Path

import mlflow
import optuna
import pandas as pd

from training.params import load_params
from training.tracking import configure_tracking, failing_on_sigterm
from training.tuning import (
    FINISHED_STATES,
    PARENT_RUN_ATTR,
    count_finished,
    create_study,
    fail_trial_run,
    make_objective,
    study_name_for,
)

log = logging.getLogger("tune_worker")

DEFAULT_HEARTBEAT_S = 10
DEFAULT_GRACE_S = 60
# Exit status of a worker stopped by SIGTERM or Ctrl-C, as a shell reports a process ended by SIGTERM.
INTERRUPTED_EXIT_CODE = 143


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--params", type=Path, default=Path("params.yaml"), help="params file; the study name comes from it")
    parser.add_argument("--storage", help="Optuna RDB storage URL (default: tune.storage in the params file)")
    parser.add_argument("--prepared", type=Path, default=Path("artifacts/prepared/train.parquet"), help="prepared train beats")
    parser.add_argument("--features", type=Path, default=Path("artifacts/features/train.parquet"), help="train feature table")
    parser.add_argument(
        "--n-trials",
        type=int,
        help="trials this worker runs (default: until the study has tune.n_trials COMPLETE or PRUNED trials)",
    )
    parser.add_argument(
        "--worker-index",
        type=int,
        default=0,
        help="the sampler seed is tune.seed plus this index; give every worker of a study its own index",
    )
    parser.add_argument("--parent-run-id", help="MLflow run to nest the trial runs under (default: the study's)")
    parser.add_argument("--heartbeat-s", type=int, default=DEFAULT_HEARTBEAT_S, help="seconds between heartbeats of a running trial")
    parser.add_argument(
        "--grace-s",
        type=int,
        default=DEFAULT_GRACE_S,
        help="seconds without a heartbeat after which a running trial counts as lost and is marked FAILED",
    )
    args = parser.parse_args(argv)

    if args.n_trials is not None and args.n_trials < 0:
        parser.error(f"--n-trials must be 0 or more, got {args.n_trials}")
    if args.grace_s <= args.heartbeat_s:
        parser.error(f"--grace-s ({args.grace_s}) must be larger than --heartbeat-s ({args.heartbeat_s})")
    return args


def resolve_parent_run(study: optuna.Study, requested: str | None, experiment: str) -> tuple[str, bool]:
    """Return the MLflow run to nest this worker's trials under, and whether this worker opened it.

    The order is `requested`, the parent run recorded in the study, then a new run in `experiment`
    that is recorded in the study for the workers that come later.
    """
    if requested:
        return requested, False
    recorded = study.user_attrs.get(PARENT_RUN_ATTR)
    if recorded:
        return recorded, False

    # NOTE: two workers that both reach this line on a new study open two parent runs; start one first.
    client = mlflow.MlflowClient()
    run = client.create_run(
        client.get_experiment_by_name(experiment).experiment_id,
        run_name="tune",
        tags={"stage": "tune", "study": study.study_name},
    )
    study.set_user_attr(PARENT_RUN_ATTR, run.info.run_id)
    log.warning("study %s had no parent MLflow run; opened run %s as the parent", study.study_name, run.info.run_id)
    return run.info.run_id, True


def run_worker(args: argparse.Namespace) -> int:
    """Run this worker's trials; return how many trials it started."""
    params = load_params(args.params)
    tune = params["tune"]
    storage = args.storage or tune["storage"]
    study_name = study_name_for(params)

    beats = pd.read_parquet(args.prepared, columns=["y", "fold"])
    features = pd.read_parquet(args.features)

    configure_tracking(params)
    study = create_study(
        storage,
        study_name,
        tune["seed"] + args.worker_index,
        heartbeat_s=args.heartbeat_s,
        grace_s=args.grace_s,
        on_stale_trial=fail_trial_run,
    )
    if args.n_trials is None:
        n_trials = max(tune["n_trials"] - count_finished(study), 0)
        callbacks = [optuna.study.MaxTrialsCallback(tune["n_trials"], states=FINISHED_STATES)]
    else:
        n_trials = args.n_trials
        callbacks = []
    if n_trials == 0:
        log.info("study %s: nothing to run", study_name)
        return 0

    parent_run_id, opened_parent = resolve_parent_run(study, args.parent_run_id, params["mlflow"]["experiment"])
    worker = f"{socket.gethostname()}:{os.getpid()}"
    log.info("worker %s, index %d: up to %d trials of study %s under MLflow run %s", worker, args.worker_index, n_trials, study_name, parent_run_id)
    objective = make_objective(
        features,
        beats["y"].to_numpy(),
        beats["fold"].to_numpy(),
        params["model"],
        params["prepare"]["n_folds"],
        tune["folds"],
        parent_run_id,
    )

    started = []

    def labelled_objective(trial: optuna.Trial) -> float:
        started.append(trial.number)
        trial.set_user_attr("worker", worker)
        return objective(trial)

    status = "FAILED"
    try:
        study.optimize(labelled_objective, n_trials=n_trials, timeout=tune["timeout_s"], callbacks=callbacks)
        status = "FINISHED"
    finally:
        if opened_parent:
            mlflow.MlflowClient().set_terminated(parent_run_id, status=status)
    log.info("worker %s ran trials %s", worker, started)
    return len(started)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s[%(process)d] %(levelname)s %(message)s")
    try:
        with failing_on_sigterm():
            run_worker(args)
    except KeyboardInterrupt:
        # The objective ends its own trial's run FAILED. This closes a run that the signal caught while it opened.
        if mlflow.active_run() is not None:
            mlflow.end_run(status="FAILED")
        log.warning("worker stopped by a signal; finished trials are kept in the study")
        return INTERRUPTED_EXIT_CODE
    return 0


def split_trials(n_trials: int, n_workers: int) -> list[int]:
    """Split a trial budget over workers as evenly as possible: split_trials(5, 2) == [3, 2]."""
    return [n_trials // n_workers + (1 if index < n_trials % n_workers else 0) for index in range(n_workers)]


def run_local_workers(
    n_workers: int,
    n_trials: int,
    storage: str,
    tracking_uri: str,
    parent_run_id: str,
    params_path: Path,
    prepared: Path,
    features: Path,
) -> None:
    """Run `n_trials` trials in `n_workers` worker processes on this machine; raise if a worker fails.

    The workers track to `tracking_uri` and inherit the rest of the environment and the working
    directory. On SIGTERM or Ctrl-C of this process the workers get SIGTERM and are waited for.
    """
    processes = []
    for index, share in enumerate(split_trials(n_trials, n_workers)):
        if share == 0:
            continue
        command = [
            sys.executable, "-m", "training.tune_worker",
            "--params", str(params_path),
            "--storage", storage,
            "--prepared", str(prepared),
            "--features", str(features),
            "--n-trials", str(share),
            "--worker-index", str(index),
            "--parent-run-id", parent_run_id,
        ]  # fmt: skip
        processes.append(subprocess.Popen(command, env={**os.environ, "MLFLOW_TRACKING_URI": tracking_uri}))
    log.info("started %d tuning workers for %d trials: pids %s", len(processes), n_trials, [p.pid for p in processes])

    try:
        codes = [process.wait() for process in processes]
    except BaseException:
        for process in processes:
            if process.poll() is None:
                process.terminate()
        for process in processes:
            process.wait()
        raise

    failed = {process.pid: code for process, code in zip(processes, codes) if code != 0}
    if failed:
        raise RuntimeError(f"tuning workers failed (pid: exit code): {failed}; rerun the stage to finish the budget")


if __name__ == "__main__":
    sys.exit(main())
