import numpy as np
import pandas as pd
import pytest
from catboost import CatBoostClassifier

from features.detector import Detector
from features.episodes import PostProcessing
from features.windows import FeatureSettings, beat_features

SETTINGS = FeatureSettings(neighbours=3, trend_half_window=3, spread_half_window=1)


def synthetic_recordings(n_recordings: int = 6, length: int = 120, seed: int = 0) -> pd.DataFrame:
    """Steady rhythms with a few marked spikes of +40%, the kind of pattern the detector learns."""
    rng = np.random.default_rng(seed)
    frames = []
    for recording in range(n_recordings):
        rr = rng.normal(800, 15, size=length)
        y = np.zeros(length, dtype=int)
        for spike in rng.choice(np.arange(5, length - 5), size=4, replace=False):
            rr[spike] *= 1.4
            y[spike - 1 : spike + 2] = 1
        frames.append(pd.DataFrame({"id": recording, "x": rr, "y": y}))
    beats = pd.concat(frames, ignore_index=True)
    beats["time"] = beats.groupby("id")["x"].cumsum() - beats["x"]
    return beats


@pytest.fixture(scope="module")
def detector() -> Detector:
    beats = synthetic_recordings()
    model = CatBoostClassifier(iterations=30, depth=3, verbose=False, allow_writing_files=False, thread_count=1)
    model.fit(beat_features(beats, SETTINGS), beats["y"])
    return Detector(model, SETTINGS, PostProcessing(threshold=0.5))


def test_outputs_one_value_per_beat(detector):
    beats = synthetic_recordings(n_recordings=2, seed=1)
    detection = detector.detect(beats["id"].to_numpy(), beats["x"].to_numpy())
    assert len(detection.probability) == len(beats)
    assert set(np.unique(detection.prediction)) <= {0, 1}
    assert set(detection.episodes) == {"0", "1"}


def test_finds_the_marked_spikes(detector):
    beats = synthetic_recordings(n_recordings=2, seed=1)
    detection = detector.detect(beats["id"].to_numpy(), beats["x"].to_numpy())
    hits = np.sum((detection.prediction == 1) & (beats["y"].to_numpy() == 1))
    assert hits / beats["y"].sum() > 0.5


def test_thread_count_same_answer(detector):
    beats = synthetic_recordings(n_recordings=8, length=400, seed=3)
    one_thread = detector.detect(beats["id"].to_numpy(), beats["x"].to_numpy(), thread_count=1)
    all_cores = detector.detect(beats["id"].to_numpy(), beats["x"].to_numpy(), thread_count=-1)
    np.testing.assert_array_equal(one_thread.probability, all_cores.probability)
    np.testing.assert_array_equal(one_thread.prediction, all_cores.prediction)


def test_interleaved_recordings_same_answer(detector):
    beats = synthetic_recordings(n_recordings=2, seed=2)
    shuffle = np.arange(len(beats)).reshape(2, -1).T.ravel()
    grouped = detector.detect(beats["id"].to_numpy(), beats["x"].to_numpy())
    mixed = detector.detect(beats["id"].to_numpy()[shuffle], beats["x"].to_numpy()[shuffle])
    np.testing.assert_array_equal(mixed.prediction, grouped.prediction[shuffle])
    assert mixed.pattern_per_5minute == grouped.pattern_per_5minute


def test_pattern_per_5minute_formula(detector):
    beats = synthetic_recordings(n_recordings=1, seed=3)
    detection = detector.detect(beats["id"].to_numpy(), beats["x"].to_numpy())
    expected = round(detection.episodes["0"] * 300_000 / beats["x"].sum())
    assert detection.pattern_per_5minute["0"] == expected


def test_artifacts_flagged_not_anomalous(detector):
    detection = detector.detect(np.array([1, 1, 1]), np.array([800.0, 12.0, 40900.0]))
    assert detection.artifact.tolist() == [0, 1, 1]
    assert detection.prediction[1:].tolist() == [0, 0]


def test_save_and_load_give_same_answer(detector, tmp_path):
    beats = synthetic_recordings(n_recordings=1, seed=4)
    detector.save(tmp_path / "detector")
    loaded = Detector.load(tmp_path / "detector")
    before = detector.detect(beats["id"].to_numpy(), beats["x"].to_numpy())
    after = loaded.detect(beats["id"].to_numpy(), beats["x"].to_numpy())
    np.testing.assert_allclose(after.probability, before.probability)
    assert loaded.post_processing == detector.post_processing


def test_predict_frame_columns(detector):
    frame = synthetic_recordings(n_recordings=1, seed=5)[["id", "time", "x"]]
    result = detector.predict_frame(frame)
    assert list(result.columns) == ["probability", "prediction", "artifact"]
    assert result.index.equals(frame.index)
