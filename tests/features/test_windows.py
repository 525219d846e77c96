import numpy as np
import pandas as pd
import pytest

from features.artifacts import flag_artifacts
from features.windows import FeatureSettings, beat_features, neighbour_matrix, recording_bounds, recording_layout

SETTINGS = FeatureSettings(neighbours=3, trend_half_window=2, spread_half_window=1)


def beats(ids, rr, time=None) -> pd.DataFrame:
    frame = pd.DataFrame({"id": ids, "x": np.asarray(rr, dtype=float)})
    if time is not None:
        frame["time"] = time
    return frame


def test_artifact_bounds_are_valid_intervals():
    flags = flag_artifacts(np.array([299.9, 300.0, 800.0, 2000.0, 2000.1, 12.0, 40900.0]))
    assert flags.tolist() == [True, False, False, False, True, True, True]


def test_single_beat_recording():
    table = beat_features(beats([7], [800]), SETTINGS)
    assert len(table) == 1
    assert table.loc[0, "to_level_+0"] == pytest.approx(0.0)
    assert np.isnan(table.loc[0, "to_level_+1"])
    assert np.isnan(table.loc[0, "to_level_-1"])


def test_recording_shorter_than_window():
    table = beat_features(beats([1, 1], [800, 1000]), SETTINGS)
    assert table.shape[0] == 2
    assert table.loc[0, "to_level_+1"] == pytest.approx(1000 / 900 - 1)
    assert np.isnan(table.loc[0, "to_level_+2"])
    assert table.loc[1, "diff_+0"] == pytest.approx(200 / 900)


def test_neighbours_never_cross_recordings():
    table = beat_features(beats([1, 1, 1, 2, 2, 2], [800, 810, 820, 500, 510, 520]), SETTINGS)
    assert np.isnan(table.loc[2, "to_level_+1"])
    assert np.isnan(table.loc[3, "to_level_-1"])


def test_interleaved_ids_give_same_rows():
    rng = np.random.default_rng(0)
    ids = np.repeat([1, 2, 3], 20)
    rr = rng.normal(800, 40, size=60)
    grouped = beat_features(beats(ids, rr), SETTINGS)
    # Round robin over the recordings: beat 0 of each, then beat 1 of each, and so on.
    shuffle = np.arange(60).reshape(3, 20).T.ravel()
    interleaved = beat_features(beats(ids[shuffle], rr[shuffle]), SETTINGS)
    # Interleaving must not change any beat's features, only the position of its row.
    np.testing.assert_allclose(interleaved.to_numpy(), grouped.to_numpy()[shuffle], equal_nan=True)


def test_time_orders_beats_inside_recording():
    in_time_order = beat_features(beats([1, 1, 1], [700, 800, 900], time=[0, 700, 1500]), SETTINGS)
    shuffled = beat_features(beats([1, 1, 1], [900, 700, 800], time=[1500, 0, 700]), SETTINGS)
    np.testing.assert_allclose(shuffled.to_numpy(), in_time_order.to_numpy()[[2, 0, 1]], equal_nan=True)


def test_string_ids_are_recordings():
    table = beat_features(beats(["a", "b", "a"], [800, 600, 820]), SETTINGS)
    assert table.loc[0, "to_level_+1"] == pytest.approx(820 / 810 - 1)
    assert np.isnan(table.loc[1, "to_level_+1"])


def test_artifacts_masked_from_level_and_neighbours():
    table = beat_features(beats([1] * 5, [800, 800, 12, 800, 800]), SETTINGS)
    assert table.loc[0, "level_ms"] == pytest.approx(800)
    assert table["artifact"].tolist() == [0, 0, 1, 0, 0]
    assert np.isnan(table.loc[1, "to_level_+1"])
    assert table.loc[1, "artifacts_near"] == 1


def test_artifacts_kept_when_masking_off():
    settings = FeatureSettings(neighbours=3, trend_half_window=2, spread_half_window=1, mask_artifacts=False)
    table = beat_features(beats([1] * 3, [800, 40900, 800]), settings)
    assert table.loc[0, "to_level_+1"] == pytest.approx(40900 / 800 - 1)


def test_recording_of_only_artifacts():
    table = beat_features(beats([1, 1, 2, 2], [10, 12, 800, 820]), SETTINGS)
    assert table.loc[0:1, "artifact"].tolist() == [1, 1]
    assert np.isfinite(table.loc[0, "level_ms"])


def test_empty_input():
    table = beat_features(beats([], []), SETTINGS)
    assert table.shape[0] == 0


def test_index_kept():
    frame = beats([1, 1, 1], [800, 810, 820])
    frame.index = [10, 20, 30]
    assert beat_features(frame, SETTINGS).index.tolist() == [10, 20, 30]


def test_neighbour_matrix_pads_with_nan():
    start, end = recording_bounds(np.array([0, 0, 1]))
    matrix = neighbour_matrix(np.array([1.0, 2.0, 3.0]), start, end, np.array([-1, 0, 1]))
    np.testing.assert_array_equal(matrix, [[np.nan, 1, 2], [1, 2, np.nan], [np.nan, 3, np.nan]])


def test_layout_round_trip():
    layout = recording_layout(np.array([2, 1, 2, 1]))
    grouped = np.array([10, 20, 30, 40])[layout.order]
    assert layout.to_input_order(grouped).tolist() == [10, 20, 30, 40]
    assert list(layout.recording_ids) == [2, 1]
