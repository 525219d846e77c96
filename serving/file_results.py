"""The response body of `POST /predict_file`: a parsed recording file and the detector's results, per recording.

Like the service, this module takes the detector's `Detection` and imports nothing from `features`.
"""

import re
from pathlib import Path

import numpy as np
import pandas as pd

from serving.i18n import DEFAULT_LANGUAGE, LANGUAGES, choose_language
from serving.recording_file import RecordingFile, RecordingFileError

# Reasons that mean "too big" and get 413, as /predict does for too many beats; the others get 400.
TOO_LARGE_CODES = ("too_large", "too_many_rows")
# BentoML stores an upload as tempfile.NamedTemporaryFile(suffix=<original name>): "tmp" and
# 8 random characters, then the name the client sent.
UPLOAD_TEMP_NAME = re.compile(r"tmp[a-z0-9_]{8}(?P<name>.+)")


def upload_file_name(path: Path) -> str:
    """Return the client's file name of a BentoML upload, or the temporary name if it has none."""
    match = UPLOAD_TEMP_NAME.fullmatch(path.name)
    return match["name"] if match else path.name


def request_language(requested: str | None, accept_language: str | None) -> str:
    """Return the language a form field asked for ("ru" or "en"), else the Accept-Language choice."""
    if requested and requested.strip().lower() in LANGUAGES:
        return requested.strip().lower()
    return choose_language(accept_language)


def error_status(error: RecordingFileError) -> int:
    return 413 if error.code in TOO_LARGE_CODES else 400


def error_body(error: RecordingFileError, language: str = DEFAULT_LANGUAGE) -> dict:
    """Return the JSON body of a rejected file: the reason code, its values and the message in `language`."""
    return {
        "success": False,
        "language": language,
        "error": {"code": error.code, "values": error.values, "message": error.message(language)},
    }


def label_metrics(labels: np.ndarray, prediction: np.ndarray) -> dict:
    """Return the beat-level F1, precision and recall of `prediction` against 0/1 `labels`.

    A score whose denominator is zero (no predicted or no labelled anomalous beat) is None.
    """
    labels = np.asarray(labels, dtype=bool)
    prediction = np.asarray(prediction, dtype=bool)
    true_positive = int(np.sum(labels & prediction))
    false_positive = int(np.sum(~labels & prediction))
    false_negative = int(np.sum(labels & ~prediction))
    predicted = true_positive + false_positive
    labelled = true_positive + false_negative
    return {
        "f1": 2 * true_positive / (predicted + labelled) if predicted + labelled else None,
        "precision": true_positive / predicted if predicted else None,
        "recall": true_positive / labelled if labelled else None,
        "true_positive": true_positive,
        "false_positive": false_positive,
        "false_negative": false_negative,
    }


def file_prediction(recording: RecordingFile, detection, file_name: str, model_version: str) -> dict:
    """Build the response body: the `/predict` fields for the whole file, then each recording with its beats.

    `detection` is the `features.detector.Detection` of `recording.beats`. Every recording lists
    `row` (the beat's 0-based data row in the file), `time` and `x` in ms, `y` when the file has
    labels, `predictions`, `probability`, `artifact`, its summary, and its label `metrics`.
    """
    beats = recording.beats
    prediction = np.asarray(detection.prediction, dtype=np.int64)
    probability = np.asarray(detection.probability, dtype=float)
    artifact = np.asarray(detection.artifact, dtype=np.int64)

    recordings = []
    keys = pd.Series(beats["id"].to_numpy(), dtype=object).map(str)
    for key, rows in keys.groupby(keys, sort=False).indices.items():
        episodes = int(detection.episodes[key])
        item = {
            "id": key,
            "row": rows.tolist(),
            "time": beats["time"].to_numpy()[rows].tolist(),
            "x": beats["x"].to_numpy()[rows].tolist(),
            "predictions": prediction[rows].tolist(),
            "probability": probability[rows].tolist(),
            "artifact": artifact[rows].tolist(),
            "diagnosis": episodes > 0,
            "episodes": episodes,
            "pattern_per_5minute": int(detection.pattern_per_5minute[key]),
            "artifacts": int(artifact[rows].sum()),
        }
        if recording.has_labels:
            labels = beats["y"].to_numpy()[rows]
            item["y"] = labels.tolist()
            item["metrics"] = label_metrics(labels, prediction[rows])
        recordings.append(item)

    return {
        "success": True,
        "file_name": file_name,
        "layout": recording.layout,
        "rr_column": recording.rr_column,
        "converted_from_seconds": recording.converted_from_seconds,
        "has_labels": recording.has_labels,
        "model_version": model_version,
        "predictions": prediction.tolist(),
        "diagnosis": {item["id"]: item["diagnosis"] for item in recordings},
        "pattern_per_5minute": {item["id"]: item["pattern_per_5minute"] for item in recordings},
        "metrics": label_metrics(beats["y"].to_numpy(), prediction) if recording.has_labels else None,
        "recordings": recordings,
    }
