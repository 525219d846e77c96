"""DVC stage tune: an Optuna study over CatBoost hyperparameters, one nested MLflow run per trial.

With tune.workers above 1, the trials run in that many `python -m training.tune_worker` processes
that share the study. The stage then reads the best trial from the study.
"""

import argparse
import json
import logging
from pathlib import Path

import mlflow
import optuna
import pandas as pd

from training.params import load_params
from training.tracking import configure_tracking, failing_on_sigterm
from training.tune_worker import run_local_workers
from training.tuning import PARENT_RUN_ATTR, best_hyperparameters, create_study, make_objective, study_name_for

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

    if tune["workers"] < 1:
        raise ValueError(f"tune.workers must be 1 or more, got {tune['workers']}")
    study_name = study_name_for(params)
    study = create_study(tune["storage"], study_name, tune["seed"])
    finished = [t for t in study.trials if t.state in (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)]
    remaining = max(tune["n_trials"] - len(finished), 0)
    log.info("study %s: %d trials finished, %d to run", study_name, len(finished), remaining)

    tracking_uri = configure_tracking(params)
    with failing_on_sigterm(), mlflow.start_run(run_name="tune") as parent:
        mlflow.set_tags({"stage": "tune", "study": study_name})
        mlflow.log_params({f"tune.{key}": value for key, value in tune.items()})
        # Workers started by hand on other machines nest their trial runs under this run too.
        study.set_user_attr(PARENT_RUN_ATTR, parent.info.run_id)
        if tune["workers"] > 1:
            run_local_workers(
                n_workers=tune["workers"],
                n_trials=remaining,
                storage=tune["storage"],
                tracking_uri=tracking_uri,
                parent_run_id=parent.info.run_id,
                params_path=Path("params.yaml"),
                prepared=Path(args.prepared),
                features=Path(args.features),
            )
        else:
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
