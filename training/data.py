"""Reading and validating recording files, and assigning recordings to folds and the holdout."""

from pathlib import Path

import numpy as np
import pandas as pd

from features.artifacts import flag_artifacts

HOLDOUT_FOLD = -1  # fold number of recordings set aside for the final score


class DataValidationError(ValueError):
    """A recording file that the pipeline cannot use; the message names file, column and row."""


def _fail(path: Path, column: str, row_position: int | None, problem: str) -> None:
    # Line numbers count the header as line 1, as an editor shows them.
    where = f", line {row_position + 2}" if row_position is not None else ""
    raise DataValidationError(f"{path}: column '{column}'{where}: {problem}")


def _first(mask: np.ndarray | pd.Series) -> int:
    return int(np.flatnonzero(np.asarray(mask))[0])


def read_recordings(path: str | Path, labelled: bool) -> pd.DataFrame:
    """Read and validate a CSV of beats with columns id, time, x (and y when `labelled`).

    Raises DataValidationError at the first problem: missing column, x that is empty, NaN,
    non-numeric or not positive, y other than 0/1, duplicate (id, time), time decreasing
    inside a recording, or no rows at all.
    """
    path = Path(path)
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError:
        raise DataValidationError(f"{path}: the file is empty; expected a header and rows of beats") from None
    required = ["id", "time", "x"] + (["y"] if labelled else [])
    for column in required:
        if column not in frame.columns:
            _fail(path, column, None, f"missing (the header has {list(frame.columns)})")
    if frame.empty:
        raise DataValidationError(f"{path}: the file has a header but no rows")

    parsed = {}
    for column in required:
        text = frame[column].str.strip()
        if (text == "").any():
            _fail(path, column, _first(text == ""), "empty value")
        values = pd.to_numeric(text, errors="coerce")
        if values.isna().any():
            row = _first(values.isna())
            _fail(path, column, row, f"not a number: {frame[column].iloc[row]!r}")
        parsed[column] = values
    result = pd.DataFrame(parsed)

    if not np.isfinite(result["x"]).all():
        _fail(path, "x", _first(~np.isfinite(result["x"])), "not a finite number")
    if (result["x"] <= 0).any():
        row = _first(result["x"] <= 0)
        _fail(path, "x", row, f"R-R interval must be positive, got {result['x'].iloc[row]}")
    if labelled and not result["y"].isin([0, 1]).all():
        row = _first(~result["y"].isin([0, 1]))
        _fail(path, "y", row, f"label must be 0 or 1, got {frame['y'].iloc[row]!r}")
    duplicated = result.duplicated(["id", "time"])
    if duplicated.any():
        _fail(path, "time", _first(duplicated), "duplicate (id, time) pair")
    decreasing = result.groupby("id", sort=False)["time"].diff() < 0
    if decreasing.any():
        _fail(path, "time", _first(decreasing), "time decreases within the recording")

    result["id"] = result["id"].astype(np.int64) if (result["id"] % 1 == 0).all() else result["id"]
    if labelled:
        result["y"] = result["y"].astype(np.int8)
    return result


def add_artifact_flags(frame: pd.DataFrame, min_rr_ms: float, max_rr_ms: float) -> pd.DataFrame:
    """Return a copy of `frame` with a 0/1 `artifact` column for implausible intervals."""
    result = frame.copy()
    result["artifact"] = flag_artifacts(result["x"].to_numpy(), min_rr_ms, max_rr_ms).astype(np.int8)
    return result


def assign_folds(labels: pd.DataFrame, n_folds: int, holdout_fraction: float, seed: int) -> pd.Series:
    """Assign every recording a fold number, or HOLDOUT_FOLD, stratified by its share of marked beats.

    Recordings are ranked by the share of their beats that experts marked, cut into consecutive
    strata, and shuffled inside each stratum, so every fold and the holdout see light and heavy
    recordings alike. Returns a Series indexed by recording id.
    """
    rng = np.random.default_rng(seed)
    share = labels.groupby("id")["y"].mean()
    ids = share.index.to_numpy()
    # Ties in the share are broken at random, so the result does not depend on id order.
    ranked = ids[np.lexsort((rng.random(len(ids)), share.to_numpy()))]

    fold = pd.Series(0, index=ids, dtype=np.int64)
    n_holdout = int(round(holdout_fraction * len(ids)))
    if n_holdout:
        strata = np.array_split(ranked, n_holdout)
        holdout = [rng.choice(stratum) for stratum in strata if len(stratum)]
        fold[holdout] = HOLDOUT_FOLD
    remaining = np.array([i for i in ranked if fold[i] != HOLDOUT_FOLD])
    for offset in range(0, len(remaining), n_folds):
        stratum = remaining[offset : offset + n_folds]
        fold[stratum] = rng.permutation(n_folds)[: len(stratum)]
    return fold
