"""DVC stage tune: an Optuna study over CatBoost hyperparameters, one nested MLflow run per trial."""

import argparse
import json
import logging
from pathlib import Path

import mlflow
import optuna
import pandas as pd

from training.params import fingerprint, load_params
from training.tracking import configure_tracking, failing_on_sigterm
from training.tuning import best_hyperparameters, create_study, make_objective

log = logging.getLogger("tune")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--prepared", default="artifacts/prepared/train.parquet", help="prepared train beats")
    parser.add_argument("--features", default="artifacts/features/train.parquet", help="train feature table")
    parser.add_argument("--out", default="artifacts/best_params.json", help="best hyperparameters file")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    params = load_params()
    tune = params["tune"]

    beats = pd.read_parquet(args.prepared, columns=["y", "fold"])
    features = pd.read_parquet(args.features)
    labels = beats["y"].to_numpy()
    folds = beats["fold"].to_numpy()

    # A study belongs to one set of data, features and model settings; a change starts a new one.
    study_name = f"{tune['study_name']}-{fingerprint(params['prepare'], params['features'], params['model'], tune['folds'])}"
    study = create_study(tune["storage"], study_name, tune["seed"])
    finished = [t for t in study.trials if t.state in (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)]
    remaining = max(tune["n_trials"] - len(finished), 0)
    log.info("study %s: %d trials finished, %d to run", study_name, len(finished), remaining)

    configure_tracking(params)
    with failing_on_sigterm(), mlflow.start_run(run_name="tune") as parent:
        mlflow.set_tags({"stage": "tune", "study": study_name})
        mlflow.log_params({f"tune.{key}": value for key, value in tune.items()})
        objective = make_objective(
            features, labels, folds, params["model"], params["prepare"]["n_folds"], tune["folds"], parent.info.run_id
        )
        study.optimize(objective, n_trials=remaining, timeout=tune["timeout_s"], show_progress_bar=True)

        best = best_hyperparameters(study)
        best["study"] = study_name
        mlflow.log_metric("best_cv_f1", best["cv_f1"])
        mlflow.log_params({f"best.{key}": value for key, value in best["params"].items()})
        if best["mlflow_run_id"]:
            mlflow.MlflowClient().set_tag(best["mlflow_run_id"], "best", "true")

    # The run id differs on every run; leaving it out keeps the file, and so train, reproducible.
    best.pop("mlflow_run_id")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(best, indent=2, sort_keys=True) + "\n")
    log.info("best trial %d: cv F1 %.4f", best["trial"], best["cv_f1"])


if __name__ == "__main__":
    main()
