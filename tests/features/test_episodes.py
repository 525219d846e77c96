import numpy as np
import pytest

from features.episodes import PostProcessing, count_episodes, decide, run_lengths, smooth
from features.windows import recording_bounds


def bounds(codes):
    return recording_bounds(np.asarray(codes))


def test_threshold_only():
    start, end = bounds([0] * 4)
    decision = decide(np.array([0.2, 0.6, 0.5, 0.4]), start, end, PostProcessing(threshold=0.5))
    assert decision.tolist() == [0, 1, 1, 0]


def test_smoothing_stays_inside_recording():
    start, end = bounds([0, 0, 1, 1])
    smoothed = smooth(np.array([0.0, 1.0, 0.0, 0.0]), start, end, half_window=1)
    assert smoothed.tolist() == pytest.approx([0.5, 0.5, 0.0, 0.0])


def test_short_runs_dropped():
    start, end = bounds([0] * 8)
    probability = np.array([0.9, 0, 0.9, 0.9, 0.9, 0, 0.9, 0.9])
    decision = decide(probability, start, end, PostProcessing(threshold=0.5, min_episode_beats=3))
    assert decision.tolist() == [0, 0, 1, 1, 1, 0, 0, 0]


def test_run_split_by_recording_boundary():
    start, end = bounds([0, 0, 1, 1])
    _, lengths = run_lengths(np.array([True, True, True, True]), start)
    assert lengths.tolist() == [2, 2, 2, 2]


def test_widening_stays_inside_recording():
    start, end = bounds([0, 0, 0, 1, 1])
    decision = decide(np.array([0, 0, 0.9, 0, 0]), start, end, PostProcessing(threshold=0.5, widen_beats=1))
    assert decision.tolist() == [0, 1, 1, 0, 0]


def test_artifacts_never_positive():
    start, end = bounds([0] * 3)
    artifact = np.array([0, 1, 0])
    decision = decide(np.array([0.9, 0.9, 0.9]), start, end, PostProcessing(threshold=0.5), artifact)
    assert decision.tolist() == [1, 0, 1]


def test_episodes_counted_per_recording():
    codes = np.array([0, 0, 0, 0, 1, 1, 1])
    start, _ = bounds(codes)
    decision = np.array([1, 0, 1, 1, 1, 0, 1], dtype=np.int8)
    assert count_episodes(decision, codes, start, 3).tolist() == [2, 2, 0]


def test_episode_continuing_across_boundary_counts_twice():
    codes = np.array([0, 0, 1, 1])
    start, _ = bounds(codes)
    decision = np.array([0, 1, 1, 0], dtype=np.int8)
    assert count_episodes(decision, codes, start, 2).tolist() == [1, 1]


def test_empty_input():
    start, end = bounds([])
    assert decide(np.zeros(0), start, end, PostProcessing()).tolist() == []
