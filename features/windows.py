"""Per-beat window features of R-R recordings, computed with numpy and no loop over beats.

Every beat is described by the intervals around it inside its own recording: values relative
to the recording's robust level and to a local trend, first and second differences, local
variability and the shape of the window. Neighbours outside the recording are NaN, which
CatBoost treats as missing, so short and single-beat recordings need no special case.
"""

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from features.artifacts import flag_artifacts


@dataclass(frozen=True)
class FeatureSettings:
    """Window sizes and artifact bounds of the feature table."""

    neighbours: int = 10  # beats on each side whose intervals become features
    trend_half_window: int = 10  # half width of the centred rolling median (the local trend)
    spread_half_window: int = 5  # half width of the local variability and shape window
    min_rr_ms: float = 300.0
    max_rr_ms: float = 2000.0
    mask_artifacts: bool = True  # artifacts do not enter the level, the trend or the neighbours

    @classmethod
    def from_params(cls, params: dict) -> "FeatureSettings":
        return cls(**{key: params[key] for key in asdict(cls()) if key in params})


@dataclass(frozen=True)
class RecordingLayout:
    """Beats grouped by recording: the permutation from input order and each beat's recording bounds.

    `order[i]` is the input row of the i-th grouped beat; `codes`, `start` and `end` are in grouped
    order; `recording_ids[code]` is the recording's id as given.
    """

    order: np.ndarray
    codes: np.ndarray
    start: np.ndarray
    end: np.ndarray
    recording_ids: np.ndarray

    @property
    def n_recordings(self) -> int:
        return len(self.recording_ids)

    def to_input_order(self, values: np.ndarray) -> np.ndarray:
        """Return grouped-order values rearranged into input order."""
        result = np.empty_like(values)
        result[self.order] = values
        return result


def recording_layout(ids: np.ndarray, time: np.ndarray | None = None) -> RecordingLayout:
    """Group beats by recording, keeping time order inside each; recordings may be interleaved.

    Without `time`, input order is the time order. Ids are compared as given, so 3 and "3" differ.
    """
    codes, recording_ids = pd.factorize(pd.Series(ids, dtype=object), sort=False)
    position = np.arange(len(codes)) if time is None else np.asarray(time, dtype=float)
    # lexsort sorts by the last key first and is stable, so ties keep input order.
    order = np.lexsort((np.arange(len(codes)), position, codes))
    start, end = recording_bounds(codes[order])
    return RecordingLayout(order, codes[order], start, end, np.asarray(recording_ids, dtype=object))


def recording_bounds(codes_sorted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return, for every beat of a recording-grouped array, its recording's start and end index."""
    n = len(codes_sorted)
    is_start = np.r_[True, codes_sorted[1:] != codes_sorted[:-1]] if n else np.zeros(0, bool)
    starts = np.flatnonzero(is_start)
    ends = np.r_[starts[1:], n]
    run = np.cumsum(is_start) - 1
    return starts[run], ends[run]


def neighbour_matrix(values: np.ndarray, start: np.ndarray, end: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Return values[i + offset] for every beat i and offset, NaN where that beat is outside i's recording."""
    index = np.arange(len(values))[:, None] + offsets[None, :]
    inside = (index >= start[:, None]) & (index < end[:, None])
    padded = np.r_[values, np.nan]  # index -1 (len(values)) points at the NaN
    return np.where(inside, padded[np.where(inside, index, len(values))], np.nan)


def _nan_reduce(function, matrix: np.ndarray) -> np.ndarray:
    """Apply a nan-aware numpy reduction along rows; rows with no value give NaN without a warning."""
    result = np.full(matrix.shape[0], np.nan)
    has_value = ~np.isnan(matrix).all(axis=1)
    if has_value.any():
        result[has_value] = function(matrix[has_value], axis=1)
    return result


def beat_features(frame: pd.DataFrame, settings: FeatureSettings = FeatureSettings()) -> pd.DataFrame:
    """Build the feature table of every beat of `frame` (columns `id`, `x`, optional `time`).

    Rows of the result are in the input order of `frame`, with the same index.
    """
    layout = recording_layout(frame["id"].to_numpy(), frame["time"].to_numpy() if "time" in frame else None)
    table = grouped_features(frame["x"].to_numpy(dtype=float)[layout.order], layout, settings)
    result = np.empty(table.shape)
    result[layout.order] = table.to_numpy()
    return pd.DataFrame(result, index=frame.index, columns=table.columns)


def grouped_features(rr: np.ndarray, layout: RecordingLayout, settings: FeatureSettings) -> pd.DataFrame:
    """Build the feature table of recording-grouped R-R intervals `rr` (milliseconds)."""
    artifact = flag_artifacts(rr, settings.min_rr_ms, settings.max_rr_ms)
    clean = np.where(artifact, np.nan, rr) if settings.mask_artifacts else rr
    columns = _level_and_trend_features(rr, clean, artifact, layout.codes, layout.start, layout.end, settings)
    return pd.DataFrame(columns)


def _level_and_trend_features(
    rr: np.ndarray,
    clean: np.ndarray,
    artifact: np.ndarray,
    codes: np.ndarray,
    start: np.ndarray,
    end: np.ndarray,
    settings: FeatureSettings,
) -> dict[str, np.ndarray]:
    k = settings.neighbours
    offsets = np.arange(-k, k + 1)
    columns: dict[str, np.ndarray] = {}

    # The recording's robust level: the median of its clean intervals.
    level = pd.Series(clean).groupby(codes).transform("median").to_numpy()
    level = np.where(np.isnan(level), np.nanmedian(rr) if len(rr) else np.nan, level)

    trend_offsets = np.arange(-settings.trend_half_window, settings.trend_half_window + 1)
    trend = _nan_reduce(np.nanmedian, neighbour_matrix(clean, start, end, trend_offsets))
    trend = np.where(np.isnan(trend), level, trend)

    window = neighbour_matrix(clean, start, end, offsets)
    raw_window = neighbour_matrix(rr, start, end, offsets)
    columns["rr_ms"] = rr
    columns["level_ms"] = level
    columns["trend_to_level"] = trend / level - 1.0
    columns["artifact"] = artifact.astype(float)
    for j, offset in enumerate(offsets):
        columns[f"to_level_{offset:+d}"] = window[:, j] / level - 1.0
        columns[f"to_trend_{offset:+d}"] = window[:, j] / trend - 1.0
    differences = np.diff(window, axis=1) / level[:, None]
    for j, offset in enumerate(offsets[1:]):
        columns[f"diff_{offset:+d}"] = differences[:, j]
    second = np.diff(window, n=2, axis=1) / level[:, None]
    for j, offset in enumerate(offsets[1:-1]):
        if abs(offset) <= 3:
            columns[f"diff2_{offset:+d}"] = second[:, j]

    # Local variability and the shape of the near window: a rise above trend then a drop below it.
    s = settings.spread_half_window
    near = window[:, k - s : k + s + 1] / trend[:, None] - 1.0
    columns["near_std"] = _nan_reduce(np.nanstd, near)
    columns["near_max"] = _nan_reduce(np.nanmax, near)
    columns["near_min"] = _nan_reduce(np.nanmin, near)
    columns["near_range"] = columns["near_max"] - columns["near_min"]
    filled = np.where(np.isnan(near), 0.0, near)
    columns["near_argmax"] = np.argmax(filled, axis=1) - s
    columns["near_argmin"] = np.argmin(filled, axis=1) - s
    columns["abs_diff_mean"] = _nan_reduce(np.nanmean, np.abs(differences[:, k - s : k + s]))
    columns["artifacts_near"] = np.isnan(window[:, k - s : k + s + 1]).sum(axis=1) - np.isnan(
        raw_window[:, k - s : k + s + 1]
    ).sum(axis=1)
    columns["beats_from_start"] = np.arange(len(rr)) - start
    columns["beats_to_end"] = end - 1 - np.arange(len(rr))
    return columns
