"""The real DVC pipeline on the real data, with a tiny tuning budget, in a temporary copy."""

import json
import subprocess
import sys

import mlflow
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from tests.conftest import run_pipeline

pytestmark = pytest.mark.integration


def test_metrics_shape(pipeline_project):
    metrics = json.loads((pipeline_project / "reports" / "metrics.json").read_text())
    for key in ("f1", "precision", "recall", "pr_auc", "recording_f1_median"):
        assert 0.0 <= metrics["cv"][key] <= 1.0, key
    for key in ("f1", "precision", "recall", "pr_auc"):
        assert 0.0 <= metrics["holdout"][key] <= 1.0, key
    low, high = metrics["holdout"]["f1_ci95"]
    assert low <= metrics["holdout"]["f1"] <= high
    # Even a 60-tree model finds most episodes; a broken pipeline scores near zero.
    assert metrics["cv"]["f1"] > 0.6


def test_submission_matches_test_rows(pipeline_project):
    test = pd.read_csv(pipeline_project / "data" / "test.csv")
    submission = pd.read_csv(pipeline_project / "reports" / "submission.csv")
    assert list(submission.columns) == ["id", "time", "y"]
    assert len(submission) == len(test)
    assert submission["id"].equals(test["id"])
    assert submission["time"].equals(test["time"])
    assert set(submission["y"].unique()) <= {0, 1}


def test_plots_written(pipeline_project):
    plots = pipeline_project / "reports" / "plots"
    for name in ("precision_recall.csv", "recording_f1.csv", "precision_recall.png", "worst_recordings.png"):
        assert (plots / name).stat().st_size > 0, name


def test_mlflow_runs_recorded(pipeline_project):
    mlflow.set_tracking_uri(f"sqlite:///{pipeline_project / 'mlflow.db'}")
    try:
        client = MlflowClient()
        experiment = client.get_experiment_by_name("cardiospike")
        runs = client.search_runs([experiment.experiment_id])
    finally:
        mlflow.set_tracking_uri(None)
    by_name = {}
    for run in runs:
        by_name.setdefault(run.info.run_name, []).append(run)

    tune = by_name["tune"][0]
    trials = [run for run in runs if run.data.tags.get("mlflow.parentRunId") == tune.info.run_id]
    assert len(trials) == 2
    assert sum(run.data.tags.get("best") == "true" for run in trials) == 1

    train = by_name["train"][0]
    assert train.info.status == "FINISHED"
    assert "cv.f1" in train.data.metrics
    assert "holdout.f1" in train.data.metrics
    assert len(train.data.tags["git_commit"]) in (40, len("unknown"))
    assert train.data.tags["data_md5"].endswith(".dir")
    assert "post_processing.threshold" in train.data.params


def test_second_repro_changes_nothing(pipeline_project):
    status = subprocess.run(
        [sys.executable, "-m", "dvc", "status"], cwd=pipeline_project, capture_output=True, text=True, check=True
    )
    assert "up to date" in status.stdout, status.stdout


def test_register_report(pipeline_project):
    report = json.loads((pipeline_project / "reports" / "registry.json").read_text())
    assert report["promoted"] is True
    assert report["bento"]


def test_forced_repro_same_metrics(pipeline_project):
    before = (pipeline_project / "reports" / "metrics.json").read_text()
    (pipeline_project / "optuna.db").unlink()  # tuning runs again from scratch, not from the stored study
    result = run_pipeline(pipeline_project, "--force", "evaluate")
    assert result.returncode == 0, result.stderr[-4000:]
    assert (pipeline_project / "reports" / "metrics.json").read_text() == before
