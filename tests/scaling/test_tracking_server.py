"""A whole pipeline run against an MLflow tracking server with PostgreSQL, pointed there by MLFLOW_TRACKING_URI."""

from pathlib import Path

import mlflow
import pytest
from mlflow.tracking import MlflowClient

from tests.scaling.conftest import TeamProject
from training.registry import CHAMPION_ALIAS, SCORE_METRIC

pytestmark = pytest.mark.integration


def test_stage_runs_on_server(team_project: TeamProject) -> None:
    client = MlflowClient(tracking_uri=team_project.tracking_uri)
    experiment = client.get_experiment_by_name(team_project.params["mlflow"]["experiment"])
    runs = client.search_runs([experiment.experiment_id])
    by_name = {run.info.run_name: run for run in runs}

    for name in ("tune", "train", "register"):
        assert name in by_name, sorted(by_name)
        assert by_name[name].info.status == "FINISHED", name
    assert SCORE_METRIC in by_name["train"].data.metrics
    # The local SQLite store that params.yaml names stays unused.
    assert not (team_project.path / "mlflow.db").exists()


def test_champion_registered_on_server(team_project: TeamProject, tmp_path: Path) -> None:
    client = MlflowClient(tracking_uri=team_project.tracking_uri)
    model_name = team_project.params["register"]["model_name"]
    champion = client.get_model_version_by_alias(model_name, CHAMPION_ALIAS)
    # The model files come back from the server's artifact store, as BentoML's import fetched them.
    mlflow.set_tracking_uri(team_project.tracking_uri)
    try:
        model_dir = mlflow.artifacts.download_artifacts(f"models:/{model_name}/{champion.version}", dst_path=str(tmp_path))
    finally:
        mlflow.set_tracking_uri(None)

    assert team_project.registry["promoted"] is True
    assert str(champion.version) == team_project.registry["champion"]["version"]
    assert champion.run_id == team_project.registry["run_id"]
    assert (Path(model_dir) / "MLmodel").is_file()
    assert team_project.registry["bentoml_model"].startswith(f"{model_name}:")
