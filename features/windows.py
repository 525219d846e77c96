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
    context: bool = False  # add the recording's variability, local step sizes and the beat's rank in its window
    landmarks: bool = False  # add where in the window the largest rise and drop are

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


def nan_reduce(function, matrix: np.ndarray) -> np.ndarray:
    """Apply a nan-aware numpy reduction along rows; rows with no value give NaN without a warning."""
    result = np.full(matrix.shape[0], np.nan)
    has_value = ~np.isnan(matrix).all(axis=1)
    if has_value.any():
        result[has_value] = function(matrix[has_value], axis=1)
    return result


def row_nanmedian(matrix: np.ndarray) -> np.ndarray:
    """Return the median of each row, ignoring NaN; NaN for rows with no value.

    Sorting puts NaN last, so the median sits at the middle of each row's valid prefix. This
    is several times faster than np.nanmedian on the short rows of a window.
    """
    ordered = np.sort(matrix, axis=1)
    count = (~np.isnan(matrix)).sum(axis=1)
    low = np.maximum((count - 1) // 2, 0)
    high = np.maximum(count // 2, 0)
    rows = np.arange(len(matrix))
    median = (ordered[rows, low] + ordered[rows, high]) / 2.0 if matrix.shape[1] else np.full(len(matrix), np.nan)
    return np.where(count > 0, median, np.nan)


def per_recording(function, values: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Apply a reduction to each recording's values and spread the result over its beats.

    The loop runs over recordings, not beats. A recording with no finite value gets NaN.
    """
    result = np.full(len(values), np.nan)
    firsts = np.flatnonzero(start == np.arange(len(values)))
    for first, stop in zip(firsts, end[firsts]):
        finite = values[first:stop][~np.isnan(values[first:stop])]
        if len(finite):
            result[first:stop] = function(finite)
    return result


def beat_features(frame: pd.DataFrame, settings: FeatureSettings = FeatureSettings()) -> pd.DataFrame:
    """Build the feature table of every beat of `frame` (columns `id`, `x`, optional `time`).

    Rows of the result are in the input order of `frame`, with the same index.
    """
    layout = recording_layout(frame["id"].to_numpy(), frame["time"].to_numpy() if "time" in frame else None)
    matrix, names = feature_matrix(frame["x"].to_numpy(dtype=float)[layout.order], layout, settings)
    result = np.empty(matrix.shape)
    result[layout.order] = matrix
    return pd.DataFrame(result, index=frame.index, columns=names)


def feature_matrix(rr: np.ndarray, layout: RecordingLayout, settings: FeatureSettings) -> tuple[np.ndarray, list[str]]:
    """Build the features of recording-grouped R-R intervals `rr` (milliseconds) as a matrix and column names.

    The service calls this directly: a plain array saves the milliseconds a DataFrame costs.
    """
    artifact = flag_artifacts(rr, settings.min_rr_ms, settings.max_rr_ms)
    clean = np.where(artifact, np.nan, rr) if settings.mask_artifacts else rr
    columns = _level_and_trend_features(rr, clean, artifact, layout.start, layout.end, settings)
    if settings.landmarks:
        columns.update(_landmark_features(columns, settings))
    if settings.context:
        columns.update(_context_features(clean, artifact, layout.start, layout.end, columns, settings))
    matrix = np.column_stack(list(columns.values())) if len(rr) else np.empty((0, len(columns)))
    return matrix, list(columns)


def grouped_features(rr: np.ndarray, layout: RecordingLayout, settings: FeatureSettings) -> pd.DataFrame:
    """Build the feature table of recording-grouped R-R intervals `rr` (milliseconds)."""
    matrix, names = feature_matrix(rr, layout, settings)
    return pd.DataFrame(matrix, columns=names)


def _landmark_features(columns: dict[str, np.ndarray], settings: FeatureSettings) -> dict[str, np.ndarray]:
    """Locate the pattern's landmarks around the beat: the largest rise and the largest drop.

    Experts mark the beats from the rise to the return, so the beat's offset from both
    landmarks shows whether it lies inside the marked stretch.
    """
    k = settings.neighbours
    offsets = np.arange(-k + 1, k + 1)
    differences = np.column_stack([columns[f"diff_{offset:+d}"] for offset in offsets])
    filled = np.where(np.isnan(differences), 0.0, differences)
    rise, drop = np.argmax(filled, axis=1), np.argmin(filled, axis=1)
    rows = np.arange(len(filled))
    return {
        "rise_offset": offsets[rise].astype(float),
        "rise_size": filled[rows, rise],
        "drop_offset": offsets[drop].astype(float),
        "drop_size": filled[rows, drop],
        "drop_after_rise": (offsets[drop] - offsets[rise]).astype(float),
    }


def _context_features(
    clean: np.ndarray,
    artifact: np.ndarray,
    start: np.ndarray,
    end: np.ndarray,
    columns: dict[str, np.ndarray],
    settings: FeatureSettings,
) -> dict[str, np.ndarray]:
    """Describe how irregular the whole recording and the beat's surroundings are.

    A rise of 20% means a pattern in a steady rhythm but little in an irregular one, so the model
    needs the scale of ordinary beat-to-beat change next to each beat's own change.
    """
    level = columns["level_ms"]
    index = np.arange(len(clean))
    step = np.where(index > start, np.abs(clean - np.r_[np.nan, clean[:-1]]), np.nan) / level
    k = settings.neighbours
    offsets = np.arange(-k, k + 1)
    window = neighbour_matrix(clean, start, end, offsets)
    valid = ~np.isnan(window)
    rank = ((window < window[:, [k]]) & valid).sum(axis=1) / np.maximum(valid.sum(axis=1), 1)
    local_spread = row_nanmedian(np.abs(neighbour_matrix(step, start, end, offsets)))
    recording_spread = per_recording(np.median, step, start, end)
    return {
        "recording_step_median": recording_spread,
        "recording_artifact_share": per_recording(np.mean, artifact.astype(float), start, end),
        "recording_beats": (end - start).astype(float),
        "local_step_median": local_spread,
        "step_to_local": step / (local_spread + 1e-3),
        "step_to_recording": step / (recording_spread + 1e-3),
        "rank_in_window": rank,
    }


def _level_and_trend_features(
    rr: np.ndarray,
    clean: np.ndarray,
    artifact: np.ndarray,
    start: np.ndarray,
    end: np.ndarray,
    settings: FeatureSettings,
) -> dict[str, np.ndarray]:
    k = settings.neighbours
    offsets = np.arange(-k, k + 1)
    columns: dict[str, np.ndarray] = {}

    # The recording's robust level: the median of its clean intervals.
    level = per_recording(np.median, clean, start, end)
    level = np.where(np.isnan(level), np.nanmedian(rr) if len(rr) else np.nan, level)

    trend_offsets = np.arange(-settings.trend_half_window, settings.trend_half_window + 1)
    trend = row_nanmedian(neighbour_matrix(clean, start, end, trend_offsets))
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
    columns["near_std"] = nan_reduce(np.nanstd, near)
    columns["near_max"] = nan_reduce(np.nanmax, near)
    columns["near_min"] = nan_reduce(np.nanmin, near)
    columns["near_range"] = columns["near_max"] - columns["near_min"]
    filled = np.where(np.isnan(near), 0.0, near)
    columns["near_argmax"] = np.argmax(filled, axis=1) - s
    columns["near_argmin"] = np.argmin(filled, axis=1) - s
    columns["abs_diff_mean"] = nan_reduce(np.nanmean, np.abs(differences[:, k - s : k + s]))
    columns["artifacts_near"] = np.isnan(window[:, k - s : k + s + 1]).sum(axis=1) - np.isnan(
        raw_window[:, k - s : k + s + 1]
    ).sum(axis=1)
    columns["beats_from_start"] = np.arange(len(rr)) - start
    columns["beats_to_end"] = end - 1 - np.arange(len(rr))
    return columns
