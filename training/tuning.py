"""Optuna search over CatBoost hyperparameters, scored by recording-grouped cross-validated F1."""

import logging

import mlflow
import numpy as np
import optuna
import pandas as pd

from training import model as catboost_model
from training.cross_validation import THRESHOLDS, confusion_counts, f1_from_counts

log = logging.getLogger(__name__)


def suggest_hyperparameters(trial: optuna.Trial) -> dict:
    """Draw one point of the search space."""
    return {
        "learning_rate": trial.suggest_float("learning_rate", 0.03, 0.3, log=True),
        "depth": trial.suggest_int("depth", 4, 8),
        "l2_leaf_reg": trial.suggest_float("l2_leaf_reg", 1.0, 20.0, log=True),
        "random_strength": trial.suggest_float("random_strength", 0.1, 5.0, log=True),
        "bagging_temperature": trial.suggest_float("bagging_temperature", 0.0, 1.0),
        "auto_class_weights": trial.suggest_categorical("auto_class_weights", ["None", "SqrtBalanced"]),
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

    For scored fold k, the next fold stops CatBoost early and the rest train it, so neither
    the early stopping nor the score sees fold k's labels during fitting.
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
        trial.set_user_attr("mlflow_run_id", run.info.run_id)
        mlflow.log_params({**tuned, "trial": trial.number})
        try:
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


def create_study(storage: str, study_name: str, seed: int) -> optuna.Study:
    """Create or resume the study; SQLite waits for locks instead of failing at once."""
    if storage.startswith("sqlite"):
        storage = optuna.storages.RDBStorage(storage, engine_kwargs={"connect_args": {"timeout": 60}})
    return optuna.create_study(
        storage=storage,
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
