"""Promotion rule of the model registry, and the `champion` alias in a real MLflow store."""

import json
import shutil
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from catboost import CatBoostClassifier
from mlflow.tracking import MlflowClient

from features.detector import Detector
from features.episodes import PostProcessing
from features.windows import FeatureSettings, beat_features
from training.registry import (
    CHAMPION_ALIAS,
    SCORE_METRIC,
    decide_promotion,
    flatten_metrics,
    log_and_promote,
    log_detector,
    promote,
)

PROMOTION_CASES = [
    # (case, new score, champion version, champion score, tolerance, promoted)
    ("no champion yet", 0.10, None, None, 0.005, True),
    ("better than champion", 0.85, "1", 0.80, 0.005, True),
    ("equal to champion", 0.80, "1", 0.80, 0.0, True),
    ("worse within tolerance", 0.797, "1", 0.80, 0.005, True),
    ("worse beyond tolerance", 0.79, "1", 0.80, 0.005, False),
    ("champion without score", 0.99, "1", None, 0.005, False),
]


@pytest.mark.parametrize(
    ("case", "new_score", "champion_version", "champion_score", "tolerance", "promoted"),
    PROMOTION_CASES,
    ids=[row[0] for row in PROMOTION_CASES],
)
def test_decide_promotion(case, new_score, champion_version, champion_score, tolerance, promoted) -> None:
    decision = decide_promotion(new_score, champion_version, champion_score, tolerance)

    assert decision.promoted is promoted
    assert decision.reason


def test_flatten_metrics_dotted_numeric() -> None:
    metrics = {"cv": {"f1": 0.8, "per_fold": {"0": 0.7}}, "threshold": 0.4, "note": "text", "ok": True}

    assert flatten_metrics(metrics) == {"cv.f1": 0.8, "cv.per_fold.0": 0.7, "threshold": 0.4}


@pytest.fixture(scope="module")
def tiny_detector_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Save a detector whose CatBoost model was fitted for a few iterations on made-up beats."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"id": np.repeat([1, 2, 3, 4], 50), "x": rng.normal(800, 60, 200)})
    labels = (rng.random(200) < 0.3).astype(int)
    model = CatBoostClassifier(iterations=5, depth=2, random_seed=0, thread_count=1, allow_writing_files=False, verbose=0)
    model.fit(beat_features(frame).to_numpy(), labels)

    folder = tmp_path_factory.mktemp("detector")
    Detector(model, FeatureSettings(), PostProcessing()).save(folder)
    return folder


@pytest.fixture
def mlflow_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> MlflowClient:
    """Point MLflow at a new SQLite store whose artifacts stay in tmp_path."""
    previous_uri = mlflow.get_tracking_uri()
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    mlflow.set_tracking_uri(uri)
    mlflow.create_experiment("registry-test", artifact_location=str(tmp_path / "artifacts"))
    mlflow.set_experiment("registry-test")
    yield MlflowClient()
    mlflow.set_tracking_uri(previous_uri)


def register_with_score(detector_dir: Path, score: float, client: MlflowClient) -> dict:
    _, version = log_detector(detector_dir, {SCORE_METRIC: score}, "cardiospike-test")
    return promote(client, "cardiospike-test", version, score, tolerance=0.005)


def test_champion_stays_for_worse_model(tiny_detector_dir: Path, mlflow_store: MlflowClient) -> None:
    first = register_with_score(tiny_detector_dir, 0.80, mlflow_store)
    worse = register_with_score(tiny_detector_dir, 0.70, mlflow_store)
    champion_after_worse = str(mlflow_store.get_registered_model("cardiospike-test").aliases[CHAMPION_ALIAS])
    close = register_with_score(tiny_detector_dir, 0.797, mlflow_store)
    champion_after_close = str(mlflow_store.get_registered_model("cardiospike-test").aliases[CHAMPION_ALIAS])
    versions = mlflow_store.search_model_versions("name = 'cardiospike-test'")

    assert first["promoted"] is True
    assert worse["promoted"] is False
    assert worse["new"] == {"version": "2", SCORE_METRIC: 0.70}
    assert worse["previous_champion"]["version"] == "1"
    assert worse["previous_champion"][SCORE_METRIC] == 0.80
    assert champion_after_worse == "1"
    assert close["promoted"] is True
    assert champion_after_close == "3"
    assert sorted(int(version.version) for version in versions) == [1, 2, 3]
    assert mlflow_store.get_model_version("cardiospike-test", "2").tags["promotion"] == worse["reason"]


def test_logged_model_has_signature_and_example(tiny_detector_dir: Path, mlflow_store: MlflowClient) -> None:
    run_id, version = log_detector(tiny_detector_dir, {SCORE_METRIC: 0.5}, "cardiospike-test")
    model_info = mlflow.models.get_model_info(f"models:/cardiospike-test/{version}")
    inputs = {column.name: column for column in model_info.signature.inputs.inputs}
    outputs = [column.name for column in model_info.signature.outputs.inputs]

    assert model_info.run_id == run_id
    assert set(inputs) == {"id", "x", "time"}
    assert inputs["time"].required is False
    assert outputs == ["probability", "prediction", "artifact"]
    assert model_info.saved_input_example_info is not None


def test_same_detector_registered_once(tiny_detector_dir: Path, mlflow_store: MlflowClient, tmp_path: Path) -> None:
    first = log_and_promote(tiny_detector_dir, {SCORE_METRIC: 0.8}, "cardiospike-test", tolerance=0.005)
    again = log_and_promote(tiny_detector_dir, {SCORE_METRIC: 0.8}, "cardiospike-test", tolerance=0.005)
    changed_dir = tmp_path / "changed"
    shutil.copytree(tiny_detector_dir, changed_dir)
    settings = json.loads((changed_dir / "detector.json").read_text())
    settings["post_processing"]["threshold"] = 0.3
    (changed_dir / "detector.json").write_text(json.dumps(settings))
    changed = log_and_promote(changed_dir, {SCORE_METRIC: 0.8}, "cardiospike-test", tolerance=0.005)
    versions = mlflow_store.search_model_versions("name = 'cardiospike-test'")

    assert first["registered"] is True
    assert again["registered"] is False
    assert again["run_id"] == first["run_id"]
    assert changed["registered"] is True
    assert changed["promoted"] is True
    assert len(versions) == 2
