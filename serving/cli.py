"""Command line: `cardiospike predict FILE... [-o OUT.csv]` runs the registered model on recording files.

The files go through the same parser as the web page and `POST /predict_file`, and the model is
the registered MLflow model (`models:/<name>@champion` by default), loaded in this process, so no
server has to run. For one file the output is `id,time,y` in input order, which for the
hackathon's test.csv is a valid submission. With several files, a first column `file` keeps their
recordings apart.
"""

import argparse
import logging
import os
import sys
from pathlib import Path

import pandas as pd
import yaml

from serving.config import DEFAULT_PARAMS, PARAMS_ENV
from serving.i18n import DEFAULT_LANGUAGE, LANGUAGES
from serving.recording_file import FileLimits, RecordingFile, RecordingFileError, parse_recording_file

log = logging.getLogger("cardiospike")

DEFAULT_ALIAS = "champion"
SUBMISSION_COLUMNS = ["id", "time", "y"]
FULL_COLUMNS = ["id", "time", "x", "y", "probability", "artifact"]
# Local files are read whole; the upload limits protect a shared server, not this process.
NO_LIMITS = FileLimits(max_bytes=None, max_rows=None)


class ModelNotFoundError(RuntimeError):
    """The registry has no model version under the requested name and alias."""


def locale_language() -> str:
    """Return "ru" or "en" from LC_ALL, LC_MESSAGES or LANG; Russian when they name neither."""
    for variable in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(variable, "").lower()
        if value:
            primary = value.split("_")[0].split(".")[0]
            return primary if primary in LANGUAGES else DEFAULT_LANGUAGE
    return DEFAULT_LANGUAGE


def params_path(requested: Path | None) -> Path:
    """Return --params, else $CARDIOSPIKE_PARAMS, else ./params.yaml, else the checkout's params.yaml.

    The current folder comes before the checkout, as with `dvc`, so that in a project folder the
    command uses that project's MLflow store.
    """
    if requested:
        return requested
    if os.environ.get(PARAMS_ENV):
        return Path(os.environ[PARAMS_ENV])
    local = Path("params.yaml")
    return local if local.is_file() else DEFAULT_PARAMS


def read_params(path: Path) -> dict:
    with path.open() as handle:
        return yaml.safe_load(handle)


def default_tracking_uri(params: dict, params_file: Path) -> str:
    """Return $MLFLOW_TRACKING_URI, else params.yaml's URI with a relative SQLite path resolved beside params.yaml.

    The pipeline runs in the project folder, so `sqlite:///mlflow.db` means the project's mlflow.db
    wherever this command is started.
    """
    if os.environ.get("MLFLOW_TRACKING_URI"):
        return os.environ["MLFLOW_TRACKING_URI"]
    uri = params["mlflow"]["tracking_uri"]
    prefix = "sqlite:///"
    if uri.startswith(prefix) and not Path(uri[len(prefix):]).is_absolute():
        return prefix + str((params_file.parent / uri[len(prefix):]).resolve())
    return uri


def load_registered_model(tracking_uri: str, model_name: str, alias: str):
    """Load the registered pyfunc that `alias` points to; return it and its version number.

    The alias is resolved with `MlflowClient.get_model_version_by_alias` first, so that the log
    names the version that produced the output.
    """
    import mlflow
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    mlflow.set_tracking_uri(tracking_uri)
    try:
        version = MlflowClient(tracking_uri=tracking_uri).get_model_version_by_alias(model_name, alias)
    except MlflowException as error:
        raise ModelNotFoundError(
            f"model {model_name}@{alias} not found in {tracking_uri}: {error.message}. "
            "Run the pipeline (dvc repro) so that the register stage registers a champion."
        ) from error
    model = mlflow.pyfunc.load_model(f"models:/{model_name}/{version.version}")
    return model, str(version.version)


def predict_recording(model, recording: RecordingFile) -> pd.DataFrame:
    """Run the model on the beats of one file; return `id,time,x,y,probability,artifact` in input order.

    `y` is the model's 0/1 decision, as in a hackathon submission, not the file's labels.
    """
    beats = recording.beats
    model_input = pd.DataFrame({"id": beats["id"].to_numpy(dtype=object), "x": beats["x"], "time": beats["time"]})
    output = model.predict(model_input)
    return pd.DataFrame(
        {
            "id": beats["id"],
            "time": integral_or_float(beats["time"]),
            "x": integral_or_float(beats["x"]),
            "y": output["prediction"].to_numpy(dtype="int64"),
            "probability": output["probability"].to_numpy(dtype=float),
            "artifact": output["artifact"].to_numpy(dtype="int64"),
        }
    )


def integral_or_float(values: pd.Series) -> pd.Series:
    """Return whole-number floats as integers, so times read as `780` and not `780.0`."""
    if (values % 1 == 0).all():
        return values.astype("int64")
    return values


def predict_files(paths: list[Path], model, language: str, full: bool) -> tuple[pd.DataFrame, list[str]]:
    """Parse and predict every file; return the joined table and one message per file that failed."""
    columns = FULL_COLUMNS if full else SUBMISSION_COLUMNS
    tables = []
    failures = []
    for path in paths:
        try:
            recording = parse_recording_file(path.read_bytes(), default_id=path.stem, limits=NO_LIMITS)
        except RecordingFileError as error:
            failures.append(f"{path}: {error.message(language)}")
            continue
        except OSError as error:
            failures.append(f"{path}: {error.strerror}")
            continue
        if recording.converted_from_seconds:
            log.info("%s: intervals were in seconds and have been converted to milliseconds", path)
        table = predict_recording(model, recording)[columns]
        if len(paths) > 1:
            table.insert(0, "file", str(path))
        tables.append(table)
    joined = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(columns=columns)
    return joined, failures


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cardiospike", description="CardioSpike: COVID-19-specific anomalies in R-R recordings.")
    commands = parser.add_subparsers(dest="command", required=True)
    predict = commands.add_parser(
        "predict",
        help="mark the anomalous beats of recording files with the registered model",
        description="Mark the anomalous beats of recording files (any layout the web page accepts) "
        "with the registered MLflow model, without a server. Writes id,time,y per beat in input order; "
        "with several files, a first column `file`.",
    )
    predict.add_argument("files", nargs="+", type=Path, metavar="FILE", help="recording file (.csv or .txt)")
    predict.add_argument("-o", "--output", type=Path, help="CSV file to write (default: standard output)")
    predict.add_argument("--full", action="store_true", help="also write x (ms), the probability and the artifact flag")
    predict.add_argument(
        "--params", type=Path, help=f"params.yaml to read (default: ${PARAMS_ENV}, ./params.yaml, or {DEFAULT_PARAMS})"
    )
    predict.add_argument("--tracking-uri", help="MLflow tracking URI (default: $MLFLOW_TRACKING_URI or params.yaml)")
    predict.add_argument("--model-name", help="registered model name (default: params.yaml register.model_name)")
    predict.add_argument("--alias", default=DEFAULT_ALIAS, help="registered model alias (default: %(default)s)")
    predict.add_argument("--language", choices=LANGUAGES, help="language of file messages (default: from the locale, else ru)")
    return parser


def main(argv: list[str] | None = None) -> int:
    arguments = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    # MLflow draws a download progress bar per artifact; it would mix with the CSV on a terminal.
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")

    params_file = params_path(arguments.params)
    params = read_params(params_file)
    tracking_uri = arguments.tracking_uri or default_tracking_uri(params, params_file)
    model_name = arguments.model_name or params["register"]["model_name"]
    language = arguments.language or locale_language()

    try:
        model, version = load_registered_model(tracking_uri, model_name, arguments.alias)
    except ModelNotFoundError as error:
        log.error("%s", error)
        return 1
    log.info("loaded model %s version %s (alias %s) from %s", model_name, version, arguments.alias, tracking_uri)

    table, failures = predict_files(arguments.files, model, language, arguments.full)
    for failure in failures:
        log.error("%s", failure)
    if table.empty and failures:
        return 1
    if arguments.output:
        table.to_csv(arguments.output, index=False)
        log.info("wrote %d rows to %s", len(table), arguments.output)
    else:
        table.to_csv(sys.stdout, index=False)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
