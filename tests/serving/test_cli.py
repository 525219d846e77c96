"""Tests of `cardiospike predict`: output layout and messages, and agreement with the running service.

The integration tests run the installed `cardiospike` script on data/test.csv with a model that the
register stage registered, and compare its rows with `POST /predict` of a real `bentoml serve`.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from serving import cli

ROOT = Path(__file__).resolve().parents[2]
TEST_CSV = ROOT / "data" / "test.csv"
SCRIPT = Path(sys.executable).parent / "cardiospike"
CLI_TIMEOUT_S = 300


class ThresholdModel:
    """Stand-in for the registered pyfunc in fast tests: beats above 900 ms are anomalous."""

    def predict(self, frame: pd.DataFrame) -> pd.DataFrame:
        anomalous = (frame["x"] > 900).astype("int64")
        return pd.DataFrame(
            {"probability": anomalous * 0.9, "prediction": anomalous, "artifact": (frame["x"] < 300).astype("int64")}
        )


def write(path: Path, content: bytes) -> Path:
    path.write_bytes(content)
    return path


def test_predict_files_submission_columns(tmp_path: Path) -> None:
    path = write(tmp_path / "a.csv", b"id,time,x\n2,0,800\n1,0,950\n2,800,1000\n")

    table, failures = cli.predict_files([path], ThresholdModel(), language="en", full=False)

    assert failures == []
    assert table.columns.tolist() == ["id", "time", "y"]
    assert table["id"].tolist() == [2, 1, 2]
    assert table["time"].tolist() == [0, 0, 800]
    assert table["y"].tolist() == [0, 1, 1]


def test_predict_files_full_columns(tmp_path: Path) -> None:
    path = write(tmp_path / "rr.txt", b"0,95\n0,25\n")

    table, failures = cli.predict_files([path], ThresholdModel(), language="en", full=True)

    assert failures == []
    assert table.columns.tolist() == ["id", "time", "x", "y", "probability", "artifact"]
    assert table["id"].tolist() == ["rr", "rr"]
    assert table["x"].tolist() == [950, 250]
    assert table["artifact"].tolist() == [0, 1]


def test_predict_files_several_files(tmp_path: Path) -> None:
    first = write(tmp_path / "first.csv", b"x\n800\n")
    second = write(tmp_path / "second.csv", b"x\n950\n")

    table, failures = cli.predict_files([first, second], ThresholdModel(), language="en", full=False)

    assert failures == []
    assert table.columns.tolist() == ["file", "id", "time", "y"]
    assert table["file"].tolist() == [str(first), str(second)]
    assert table["y"].tolist() == [0, 1]


@pytest.mark.parametrize(
    ("language", "expected"),
    [("en", "The file is empty"), ("ru", "Файл пуст")],
)
def test_predict_files_reports_bad_file(tmp_path: Path, language: str, expected: str) -> None:
    good = write(tmp_path / "good.csv", b"x\n800\n")
    empty = write(tmp_path / "empty.csv", b"")

    table, failures = cli.predict_files([good, empty], ThresholdModel(), language=language, full=False)

    assert len(table) == 1
    assert len(failures) == 1
    assert failures[0].startswith(f"{empty}: ")
    assert expected in failures[0]


def test_predict_files_missing_file(tmp_path: Path) -> None:
    table, failures = cli.predict_files([tmp_path / "absent.csv"], ThresholdModel(), language="en", full=False)

    assert table.empty
    assert failures == [f"{tmp_path / 'absent.csv'}: No such file or directory"]


def test_main_exit_code_and_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog) -> None:
    monkeypatch.setattr(cli, "load_registered_model", lambda *arguments: (ThresholdModel(), "7"))
    good = write(tmp_path / "good.csv", b"x\n800\n950\n")
    bad = write(tmp_path / "bad.csv", b"x\n800\nabc\n")
    output = tmp_path / "out.csv"

    assert cli.main(["predict", str(good), "-o", str(output)]) == 0
    assert output.read_text() == "id,time,y\ngood,0,0\ngood,950,1\n"
    assert cli.main(["predict", str(good), str(bad), "--language", "en"]) == 1
    assert f'{bad}: Line 3, column "x": "abc" is not a number' in caplog.text


def test_main_without_registered_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    params = tmp_path / "params.yaml"
    params.write_text("mlflow: {tracking_uri: 'sqlite:///mlflow.db'}\nregister: {model_name: cardiospike}\n")
    recording = write(tmp_path / "rr.csv", b"800\n")

    assert cli.main(["predict", str(recording), "--params", str(params)]) == 1
    assert "model cardiospike@champion not found" in caplog.text
    assert "dvc repro" in caplog.text


def test_default_tracking_uri_beside_params(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    params = {"mlflow": {"tracking_uri": "sqlite:///mlflow.db"}}
    assert cli.default_tracking_uri(params, tmp_path / "params.yaml") == f"sqlite:///{tmp_path / 'mlflow.db'}"

    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:5000")
    assert cli.default_tracking_uri(params, tmp_path / "params.yaml") == "http://127.0.0.1:5000"


@pytest.mark.parametrize(
    ("environment", "expected"),
    [
        ({}, "ru"),
        ({"LANG": "C.UTF-8"}, "ru"),
        ({"LANG": "en_US.UTF-8"}, "en"),
        ({"LANG": "en_US.UTF-8", "LC_ALL": "ru_RU.UTF-8"}, "ru"),
        ({"LC_MESSAGES": "en_GB.UTF-8", "LANG": "ru_RU.UTF-8"}, "en"),
    ],
)
def test_locale_language(monkeypatch: pytest.MonkeyPatch, environment: dict, expected: str) -> None:
    for variable in ("LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(variable, raising=False)
    for variable, value in environment.items():
        monkeypatch.setenv(variable, value)
    assert cli.locale_language() == expected


def run_script(arguments: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    if not SCRIPT.exists():
        pytest.fail(f"{SCRIPT} not found: install the project (pip install -e .) so that [project.scripts] is set up")
    return subprocess.run(
        [str(SCRIPT), *arguments], env=env, cwd=cwd, capture_output=True, text=True, timeout=CLI_TIMEOUT_S
    )


def assert_valid_submission(submission: pd.DataFrame, test: pd.DataFrame) -> None:
    assert submission.columns.tolist() == ["id", "time", "y"]
    assert len(submission) == len(test)
    assert submission["id"].tolist() == test["id"].tolist()
    assert submission["time"].tolist() == test["time"].tolist()
    assert set(submission["y"].unique()) <= {0, 1}


@pytest.mark.integration
def test_cli_matches_service_on_test_csv(
    tmp_path: Path, stores_env: dict[str, str], registry_report: dict, post
) -> None:
    output = tmp_path / "out.csv"
    result = run_script(["predict", str(TEST_CSV), "-o", str(output), "--full"], env=stores_env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    table = pd.read_csv(output)
    test = pd.read_csv(TEST_CSV)

    assert_valid_submission(table[["id", "time", "y"]], test)
    body = {"id": test["id"].tolist(), "x": test["x"].astype(float).tolist(), "time": test["time"].astype(float).tolist()}
    status, _, answer = post(json.dumps(body).encode())
    assert status == 200, answer
    assert table["y"].tolist() == answer["predictions"]
    assert table["artifact"].tolist() == answer["artifacts"]
    np.testing.assert_allclose(table["probability"].to_numpy(), answer["probabilities"], rtol=1e-6, atol=1e-9)


@pytest.mark.integration
def test_cli_submission_in_pipeline_project(pipeline_project: Path) -> None:
    stages = yaml.safe_load((pipeline_project / "dvc.yaml").read_text())["stages"]
    if "register" not in stages:
        # NOTE: without a register stage, `dvc repro` registers no champion for the command to load.
        pytest.skip("dvc.yaml has no register stage yet")
    env = {key: value for key, value in os.environ.items() if key != "MLFLOW_TRACKING_URI"}
    result = run_script(["predict", "data/test.csv", "-o", "out.csv"], env=env, cwd=pipeline_project)
    assert result.returncode == 0, result.stderr[-3000:]

    submission = pd.read_csv(pipeline_project / "out.csv")
    assert_valid_submission(submission, pd.read_csv(pipeline_project / "data" / "test.csv"))
