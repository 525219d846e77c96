"""Optuna search over CatBoost hyperparameters, scored by recording-grouped cross-validated F1."""

import logging
import time
from collections.abc import Callable

import mlflow
import numpy as np
import optuna
import pandas as pd
import sqlalchemy.exc
from mlflow.tracking import MlflowClient

from training import model as catboost_model
from training.cross_validation import THRESHOLDS, confusion_counts, f1_from_counts
from training.params import fingerprint

log = logging.getLogger(__name__)

# Trials in these states count towards the tune.n_trials budget; FAIL and RUNNING trials do not.
FINISHED_STATES = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
# Study user attribute with the MLflow run id under which every worker nests its trial runs.
PARENT_RUN_ATTR = "mlflow_parent_run_id"
STORAGE_ATTEMPTS = 3


def suggest_hyperparameters(trial: optuna.Trial) -> dict:
    """Draw one point of the search space."""
    return {
        "learning_rate": trial.suggest_float("learning_rate", 0.03, 0.3, log=True),
        "depth": trial.suggest_int("depth", 4, 8),
        "l2_leaf_reg": trial.suggest_float("l2_leaf_reg", 1.0, 20.0, log=True),
        "random_strength": trial.suggest_float("random_strength", 0.1, 5.0, log=True),
        "bagging_temperature": trial.suggest_float("bagging_temperature", 0.0, 1.0),
    }


def best_threshold_f1(probability: np.ndarray, labels: np.ndarray) -> float:
    """Return the best F1 over THRESHOLDS; a ranking score for tuning, not a reported metric."""
    return max(f1_from_counts(*confusion_counts(probability >= t, labels)) for t in THRESHOLDS)


def make_objective(
    features: pd.DataFrame,
    labels: np.ndarray,
    folds: np.ndarray,
    model_params: dict,
    n_folds: int,
    tune_folds: int,
    parent_run_id: str,
):
    """Build the objective: grouped CV over the first `tune_folds` folds, one nested MLflow run per trial.

    For scored fold k, the next fold stops CatBoost early and the rest train it, so no fit
    uses fold k's labels, neither for the trees nor for early stopping.
    """

    def _cross_validate(trial: optuna.Trial, params: dict) -> tuple[float, int]:
        probabilities, scored_labels, iterations = [], [], []
        for step, fold in enumerate(range(tune_folds)):
            stopping_fold = (fold + 1) % n_folds
            train = (folds >= 0) & (folds != fold) & (folds != stopping_fold)
            fitted = catboost_model.fit(
                features[train],
                labels[train],
                params,
                eval_features=features[folds == stopping_fold],
                eval_labels=labels[folds == stopping_fold],
                early_stopping_rounds=model_params["early_stopping_rounds"],
            )
            iterations.append(fitted.get_best_iteration() + 1)
            probabilities.append(fitted.predict_proba(features[folds == fold])[:, 1])
            scored_labels.append(labels[folds == fold])

            score = best_threshold_f1(np.concatenate(probabilities), np.concatenate(scored_labels))
            trial.report(score, step)
            mlflow.log_metric("cv_f1", score, step=step)
            if trial.should_prune():
                raise optuna.TrialPruned(f"pruned after fold {fold} with F1 {score:.4f}")
        return score, int(np.mean(iterations))

    def objective(trial: optuna.Trial) -> float:
        tuned = suggest_hyperparameters(trial)
        params = catboost_model.catboost_params(model_params, tuned)
        run = mlflow.start_run(run_name=f"trial-{trial.number}", nested=True, parent_run_id=parent_run_id)
        try:
            # Inside the try, so that a SIGTERM turned into KeyboardInterrupt here still ends the run FAILED.
            trial.set_user_attr("mlflow_run_id", run.info.run_id)
            mlflow.log_params({**tuned, "trial": trial.number})
            score, iterations = _cross_validate(trial, params)
        except optuna.TrialPruned:
            mlflow.end_run(status="KILLED")
            raise
        except BaseException:
            mlflow.end_run(status="FAILED")
            raise
        trial.set_user_attr("iterations", iterations)
        mlflow.log_metric("iterations", iterations)
        mlflow.end_run(status="FINISHED")
        return score

    return objective


def study_name_for(params: dict) -> str:
    """Return the study name: tune.study_name and a fingerprint of the settings that the scores depend on.

    A study belongs to one set of data, features and model settings; a change starts a new one.
    """
    settings = fingerprint(params["prepare"], params["features"], params["model"], params["tune"]["folds"])
    return f"{params['tune']['study_name']}-{settings}"


def count_finished(study: optuna.Study) -> int:
    """Return how many trials of the study count towards the budget (COMPLETE or PRUNED)."""
    return len(study.get_trials(deepcopy=False, states=FINISHED_STATES))


def fail_trial_run(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
    """End the MLflow run of a trial that Optuna marked FAIL after its worker stopped sending heartbeats."""
    run_id = trial.user_attrs.get("mlflow_run_id")
    if run_id is None:
        log.warning("trial %d of study %s failed before it opened an MLflow run", trial.number, study.study_name)
        return
    client = MlflowClient()
    if client.get_run(run_id).info.status == "RUNNING":
        client.set_terminated(run_id, status="FAILED")
    log.warning("trial %d of study %s lost its worker; trial and MLflow run %s marked FAILED", trial.number, study.study_name, run_id)


def open_storage(url: str, **storage_kwargs) -> optuna.storages.RDBStorage:
    """Open Optuna's RDB storage, creating its tables in a new database.

    Workers started together on a new PostgreSQL database race to create the tables. The loser gets
    a duplicate-object error (IntegrityError or ProgrammingError), and its retry finds the tables.
    """
    for attempt in range(1, STORAGE_ATTEMPTS):
        try:
            return optuna.storages.RDBStorage(url, **storage_kwargs)
        except (sqlalchemy.exc.IntegrityError, sqlalchemy.exc.ProgrammingError) as error:
            log.warning("attempt %d of %d to create the Optuna tables failed, retrying: %s", attempt, STORAGE_ATTEMPTS, error.orig)
            time.sleep(attempt)
    return optuna.storages.RDBStorage(url, **storage_kwargs)


def create_study(
    storage: str,
    study_name: str,
    seed: int,
    heartbeat_s: int | None = None,
    grace_s: int | None = None,
    on_stale_trial: Callable[[optuna.Study, optuna.trial.FrozenTrial], None] | None = None,
) -> optuna.Study:
    """Create or resume the study; SQLite waits for locks instead of failing at once.

    With `heartbeat_s`, each running trial records a heartbeat every `heartbeat_s` seconds. The next
    worker that starts a trial marks a trial whose heartbeat is older than `grace_s` seconds FAIL and
    calls `on_stale_trial` on it, so a killed worker leaves no trial RUNNING for ever.
    """
    engine_kwargs = {"connect_args": {"timeout": 60}} if storage.startswith("sqlite") else {}
    rdb_storage = open_storage(
        storage,
        engine_kwargs=engine_kwargs,
        heartbeat_interval=heartbeat_s,
        grace_period=grace_s,
        heartbeat_stale_trial_callback=on_stale_trial,
    )
    return optuna.create_study(
        storage=rdb_storage,
        study_name=study_name,
        direction="maximize",
        sampler=optuna.samplers.TPESampler(seed=seed),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=0),
        load_if_exists=True,
    )


def best_hyperparameters(study: optuna.Study) -> dict:
    """Return the best trial's hyperparameters with its iteration count and identifiers."""
    best = study.best_trial
    return {
        "params": {**best.params, "iterations": best.user_attrs["iterations"]},
        "cv_f1": best.value,
        "trial": best.number,
        "mlflow_run_id": best.user_attrs.get("mlflow_run_id"),
    }
