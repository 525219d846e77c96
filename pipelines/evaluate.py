"""DVC stage evaluate: cross-validation and holdout scores, plots and the submission for test.csv."""

import argparse
import json
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd

from features.detector import Detector
from training.data import HOLDOUT_FOLD
from training.evaluation import (
    beat_scores,
    bootstrap_f1_interval,
    plot_precision_recall,
    plot_recording_f1,
    plot_recordings,
    precision_recall_table,
    recording_f1,
)
from training.params import load_params
from training.tracking import configure_tracking, failing_on_sigterm

WORST_RECORDINGS = 10


def cross_validation_metrics(oof: pd.DataFrame) -> tuple[dict, pd.Series]:
    """Score the out-of-fold decisions of the cross-validation recordings."""
    cv = oof[oof["fold"] != HOLDOUT_FOLD]
    decision, labels = cv["decision"].to_numpy(), cv["y"].to_numpy()
    metrics = beat_scores(decision, labels, cv["probability"].to_numpy())
    per_recording = recording_f1(cv["id"].to_numpy(), decision, labels)
    metrics["recording_f1_median"] = round(float(per_recording.median()), 5)
    fold_f1 = [beat_scores(f["decision"].to_numpy(), f["y"].to_numpy(), f["probability"].to_numpy())["f1"] for _, f in cv.groupby("fold")]
    metrics["f1_fold_mean"] = round(float(np.mean(fold_f1)), 5)
    metrics["f1_fold_std"] = round(float(np.std(fold_f1)), 5)
    return metrics, per_recording


def holdout_metrics(beats: pd.DataFrame, detector: Detector, seed: int) -> tuple[dict, pd.DataFrame]:
    """Score the holdout recordings with the detector fitted on the cross-validation recordings."""
    holdout = beats[beats["fold"] == HOLDOUT_FOLD].copy()
    detection = detector.detect(holdout["id"].to_numpy(), holdout["x"].to_numpy(), holdout["time"].to_numpy())
    holdout["probability"] = detection.probability
    holdout["decision"] = detection.prediction
    labels = holdout["y"].to_numpy()
    metrics = beat_scores(detection.prediction, labels, detection.probability)
    metrics["f1_ci95"] = bootstrap_f1_interval(holdout["id"].to_numpy(), detection.prediction, labels, seed)
    return metrics, holdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--artifacts", default="artifacts", help="folder that train wrote")
    parser.add_argument("--prepared", default="artifacts/prepared", help="folder that prepare wrote")
    parser.add_argument("--reports", default="reports", help="folder for metrics, plots and the submission")
    args = parser.parse_args()
    params = load_params()
    artifacts, reports = Path(args.artifacts), Path(args.reports)
    plots = reports / "plots"
    plots.mkdir(parents=True, exist_ok=True)

    oof = pd.read_parquet(artifacts / "oof.parquet")
    cv, per_recording = cross_validation_metrics(oof)
    beats = pd.read_parquet(Path(args.prepared) / "train.parquet")
    holdout, holdout_beats = holdout_metrics(beats, Detector.load(artifacts / "detector_cv"), params["prepare"]["seed"])
    metrics = {"cv": cv, "holdout": holdout}
    (reports / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")

    # Plot data for `dvc plots show` and the same curves as PNG for MLflow.
    cv_beats = oof[oof["fold"] != HOLDOUT_FOLD]
    pr_table = precision_recall_table(cv_beats["y"].to_numpy(), cv_beats["probability"].to_numpy())
    pr_table.to_csv(plots / "precision_recall.csv", index=False)
    per_recording.rename_axis("id").reset_index().to_csv(plots / "recording_f1.csv", index=False)
    plot_precision_recall(pr_table, cv, plots / "precision_recall.png")
    plot_recording_f1(per_recording, plots / "recording_f1.png")
    worst = per_recording.sort_values(kind="stable").index[:WORST_RECORDINGS].tolist()
    plot_recordings(cv_beats, worst, "Ten recordings with the lowest out-of-fold F1", plots / "worst_recordings.png")

    # The submission: one row per row of test.csv, in its order.
    test = pd.read_parquet(Path(args.prepared) / "test.parquet")
    detection = Detector.load(artifacts / "detector").detect(test["id"].to_numpy(), test["x"].to_numpy(), test["time"].to_numpy())
    test[["id", "time"]].assign(y=detection.prediction.astype(int)).to_csv(reports / "submission.csv", index=False)

    configure_tracking(params)
    run_id = json.loads((artifacts / "train_run.json").read_text())["mlflow_run_id"]
    with failing_on_sigterm(), mlflow.start_run(run_id=run_id):
        mlflow.log_metrics({f"cv.{k}": v for k, v in cv.items()})
        mlflow.log_metrics({f"holdout.{k}": v for k, v in holdout.items() if k != "f1_ci95"})
        mlflow.log_metrics({"holdout.f1_ci95_low": holdout["f1_ci95"][0], "holdout.f1_ci95_high": holdout["f1_ci95"][1]})
        for png in sorted(plots.glob("*.png")):
            mlflow.log_artifact(str(png), artifact_path="plots")
        mlflow.log_artifact(str(reports / "metrics.json"))


if __name__ == "__main__":
    main()
