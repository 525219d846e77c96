"""DVC stage train: out-of-fold predictions, out-of-fold threshold and post-processing, final models."""

import argparse
import json
import logging
from pathlib import Path

import mlflow
import pandas as pd

from features.detector import Detector
from features.windows import FeatureSettings, recording_layout
from training import model as catboost_model
from training.cross_validation import choose_post_processing, out_of_fold_probabilities
from training.data import HOLDOUT_FOLD
from training.params import load_params
from training.tracking import configure_tracking, dvc_data_hash, failing_on_sigterm, git_commit

log = logging.getLogger("train")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--prepared", default="artifacts/prepared/train.parquet", help="prepared train beats")
    parser.add_argument("--features", default="artifacts/features/train.parquet", help="train feature table")
    parser.add_argument("--best", default="artifacts/best_params.json", help="tune's best hyperparameters")
    parser.add_argument("--out", default="artifacts", help="folder for models, predictions and settings")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    params = load_params()
    best = json.loads(Path(args.best).read_text())

    beats = pd.read_parquet(args.prepared)
    features = pd.read_parquet(args.features)
    labels = beats["y"].to_numpy()
    folds = beats["fold"].to_numpy()
    artifact = beats["artifact"].to_numpy()
    fold_numbers = list(range(params["prepare"]["n_folds"]))
    catboost_params = catboost_model.catboost_params(params["model"], best["params"])
    feature_settings = FeatureSettings.from_params({**params["features"], **params["prepare"]})
    out = Path(args.out)

    configure_tracking(params)
    with failing_on_sigterm(), mlflow.start_run(run_name="train") as run:
        mlflow.set_tags({"stage": "train", "git_commit": git_commit(), "data_md5": dvc_data_hash()})
        mlflow.log_params({**{f"model.{k}": v for k, v in catboost_params.items()}, "tune.study": best["study"]})
        mlflow.log_params({f"features.{k}": v for k, v in params["features"].items()})

        # Out-of-fold probabilities over the cross-validation recordings; the holdout stays NaN.
        probability = out_of_fold_probabilities(features, labels, folds, catboost_params, fold_numbers)
        layout = recording_layout(beats["id"].to_numpy(), beats["time"].to_numpy())
        decision, per_fold, final = choose_post_processing(
            probability, labels, artifact, folds, fold_numbers, layout, params["post_processing"]
        )
        mlflow.log_params({f"post_processing.{k}": v for k, v in final.to_dict().items()})

        # One model on the cross-validation recordings scores the holdout; one on every recording is served.
        in_cv = folds != HOLDOUT_FOLD
        cv_model = catboost_model.fit(features[in_cv], labels[in_cv], catboost_params)
        Detector(cv_model, feature_settings, final).save(out / "detector_cv")
        full_model = catboost_model.fit(features, labels, catboost_params)
        Detector(full_model, feature_settings, final).save(out / "detector")

        predictions = beats[["id", "time", "x", "y", "artifact", "fold"]].assign(probability=probability, decision=decision)
        predictions.to_parquet(out / "oof.parquet", index=False)
        settings = {"final": final.to_dict(), "per_fold": {str(k): v.to_dict() for k, v in per_fold.items()}}
        (out / "post_processing.json").write_text(json.dumps(settings, indent=2) + "\n")
        mlflow.log_dict(settings, "post_processing.json")
        (out / "train_run.json").write_text(json.dumps({"mlflow_run_id": run.info.run_id}) + "\n")
    log.info("post-processing chosen on all folds: %s", final)


if __name__ == "__main__":
    main()
