"""Post-processing: per-beat anomaly probabilities to 0/1 decisions and anomaly episodes.

All functions take arrays already grouped by recording (see `features.windows.recording_order`)
with each beat's recording start and end index, so that no window crosses two recordings.
"""

from dataclasses import asdict, dataclass

import numpy as np

from features.windows import neighbour_matrix


@dataclass(frozen=True)
class PostProcessing:
    """How probabilities become decisions; the pipeline chooses these out-of-fold."""

    threshold: float = 0.5
    smooth_half_window: int = 0  # centred rolling mean over 2h+1 beats; 0 keeps the raw probability
    min_episode_beats: int = 1  # shorter runs of positive beats are dropped
    widen_beats: int = 0  # every kept episode grows by this many beats on each side

    @classmethod
    def from_dict(cls, values: dict) -> "PostProcessing":
        return cls(**{key: values[key] for key in asdict(cls()) if key in values})

    def to_dict(self) -> dict:
        return asdict(self)


def smooth(probability: np.ndarray, start: np.ndarray, end: np.ndarray, half_window: int) -> np.ndarray:
    """Return the centred rolling mean of the probability inside each recording."""
    if half_window <= 0:
        return probability
    offsets = np.arange(-half_window, half_window + 1)
    window = neighbour_matrix(probability, start, end, offsets)
    return np.nanmean(window, axis=1)


def run_lengths(positive: np.ndarray, start: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return, for every beat, the index of its run's first beat and the run's length.

    A run is a stretch of equal decisions inside one recording.
    """
    n = len(positive)
    index = np.arange(n)
    new_run = np.r_[True, positive[1:] != positive[:-1]] if n else np.zeros(0, bool)
    new_run |= index == start
    run_start = np.maximum.accumulate(np.where(new_run, index, 0)) if n else index
    run_id = np.cumsum(new_run) - 1
    lengths = np.bincount(run_id, minlength=run_id.max() + 1 if n else 0)
    return run_start, lengths[run_id] if n else lengths


def decide(
    probability: np.ndarray,
    start: np.ndarray,
    end: np.ndarray,
    settings: PostProcessing,
    artifact: np.ndarray | None = None,
) -> np.ndarray:
    """Return 0/1 decisions per beat after smoothing, thresholding, dropping short runs and widening.

    An artifact is a measurement error, not a heart rhythm, so a beat flagged in `artifact` is
    never marked anomalous.
    """
    smoothed = smooth(probability, start, end, settings.smooth_half_window)
    positive = smoothed >= settings.threshold

    if settings.min_episode_beats > 1:
        _, lengths = run_lengths(positive, start)
        positive &= lengths >= settings.min_episode_beats

    if settings.widen_beats > 0:
        offsets = np.arange(-settings.widen_beats, settings.widen_beats + 1)
        near = neighbour_matrix(positive.astype(float), start, end, offsets)
        positive = np.nanmax(near, axis=1) > 0

    if artifact is not None:
        positive &= ~np.asarray(artifact, dtype=bool)
    return positive.astype(np.int8)


def count_episodes(decision: np.ndarray, codes: np.ndarray, start: np.ndarray, n_recordings: int) -> np.ndarray:
    """Return the number of anomaly episodes (runs of 1) of each recording, indexed by recording code."""
    index = np.arange(len(decision))
    previous = np.r_[0, decision[:-1]] if len(decision) else decision
    begins = (decision == 1) & ((previous == 0) | (index == start))
    return np.bincount(codes[begins], minlength=n_recordings)
