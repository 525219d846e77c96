"""The whole anomaly detector: window features, a CatBoost model and the post-processing.

The same object runs in the pipeline's evaluation, inside the registered MLflow model and in the
service, so all three return the same output for the same beats. It keeps no per-request state.
"""

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from features.episodes import PostProcessing, count_episodes, decide
from features.windows import FeatureSettings, feature_matrix, recording_layout

FIVE_MINUTES_MS = 300_000.0
MODEL_FILE = "model.cbm"
SETTINGS_FILE = "detector.json"


@dataclass(frozen=True)
class Detection:
    """Per-beat results in input order and per-recording summaries keyed by recording id."""

    probability: np.ndarray
    prediction: np.ndarray
    artifact: np.ndarray
    episodes: dict
    pattern_per_5minute: dict


class Detector:
    """Marks the beats of R-R recordings that belong to an anomaly episode."""

    def __init__(self, model, feature_settings: FeatureSettings, post_processing: PostProcessing) -> None:
        self.model = model
        self.feature_settings = feature_settings
        self.post_processing = post_processing

    def detect(
        self, ids: np.ndarray, rr_ms: np.ndarray, time: np.ndarray | None = None, thread_count: int = -1
    ) -> Detection:
        """Run the detector over beats of one or more recordings, possibly interleaved.

        `thread_count` is CatBoost's prediction thread count; -1 uses every core. The results do
        not depend on it.
        """
        rr_ms = np.asarray(rr_ms, dtype=float)
        layout = recording_layout(ids, time)
        rr_grouped = rr_ms[layout.order]
        matrix, names = feature_matrix(rr_grouped, layout, self.feature_settings)

        probability = self.model.predict_proba(matrix, thread_count=thread_count)[:, 1] if len(matrix) else np.zeros(0)
        artifact = matrix[:, names.index("artifact")].astype(np.int8)
        decision = decide(probability, layout.start, layout.end, self.post_processing, artifact)

        episodes = count_episodes(decision, layout.codes, layout.start, layout.n_recordings)
        duration_ms = np.bincount(layout.codes, weights=rr_grouped, minlength=layout.n_recordings)
        keys = [str(recording_id) for recording_id in layout.recording_ids]
        return Detection(
            probability=layout.to_input_order(probability),
            prediction=layout.to_input_order(decision),
            artifact=layout.to_input_order(artifact),
            episodes={key: int(count) for key, count in zip(keys, episodes)},
            pattern_per_5minute={
                key: int(round(count * FIVE_MINUTES_MS / duration))
                for key, count, duration in zip(keys, episodes, duration_ms)
            },
        )

    def predict_frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Return `probability`, `prediction` and `artifact` per beat of a table with `id`, `x`, optional `time`."""
        time = frame["time"].to_numpy(dtype=float) if "time" in frame else None
        detection = self.detect(frame["id"].to_numpy(), frame["x"].to_numpy(dtype=float), time)
        return pd.DataFrame(
            {
                "probability": detection.probability,
                "prediction": detection.prediction.astype(np.int64),
                "artifact": detection.artifact.astype(np.int64),
            },
            index=frame.index,
        )

    def save(self, folder: str | Path) -> None:
        """Write the CatBoost model and the settings into `folder` (created if missing)."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.model.save_model(str(folder / MODEL_FILE))
        settings = {
            "features": asdict(self.feature_settings),
            "post_processing": self.post_processing.to_dict(),
        }
        (folder / SETTINGS_FILE).write_text(json.dumps(settings, indent=2, sort_keys=True) + "\n")

    @classmethod
    def load(cls, folder: str | Path) -> "Detector":
        """Read a detector that `save` wrote."""
        from catboost import CatBoostClassifier

        folder = Path(folder)
        model = CatBoostClassifier()
        model.load_model(str(folder / MODEL_FILE))
        settings = json.loads((folder / SETTINGS_FILE).read_text())
        return cls(
            model=model,
            feature_settings=FeatureSettings(**settings["features"]),
            post_processing=PostProcessing.from_dict(settings["post_processing"]),
        )
