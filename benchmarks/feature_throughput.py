"""Feature generation throughput on the full train set: the vectorised features against a
pandas groupby().transform(lambda ...) version of the same features, timed in one run.

Usage: python benchmarks/feature_throughput.py [--repeats 3]
Needs data/train.csv (`dvc pull data.dvc`).
"""

import argparse
import time

import numpy as np
import pandas as pd

from features.artifacts import flag_artifacts
from features.windows import FeatureSettings, beat_features


def transform_features(frame: pd.DataFrame, settings: FeatureSettings) -> pd.DataFrame:
    """Build the same table as `beat_features`, column by column with per-recording lambdas."""
    k, s = settings.neighbours, settings.spread_half_window
    by_recording = frame.groupby("id", sort=False)
    artifact = pd.Series(flag_artifacts(frame["x"].to_numpy(), settings.min_rr_ms, settings.max_rr_ms), index=frame.index)
    clean = frame["x"].where(~artifact) if settings.mask_artifacts else frame["x"].astype(float)
    clean_by_recording = clean.groupby(frame["id"], sort=False)

    level = clean_by_recording.transform(lambda v: v.median())
    level = level.fillna(np.nanmedian(frame["x"]))
    width = 2 * settings.trend_half_window + 1
    trend = clean_by_recording.transform(lambda v: v.rolling(width, center=True, min_periods=1).median())
    trend = trend.fillna(level)

    columns = {
        "rr_ms": frame["x"].astype(float),
        "level_ms": level,
        "trend_to_level": trend / level - 1.0,
        "artifact": artifact.astype(float),
    }
    shifted = {offset: clean_by_recording.transform(lambda v, o=offset: v.shift(-o)) for offset in range(-k, k + 1)}
    for offset in range(-k, k + 1):
        columns[f"to_level_{offset:+d}"] = shifted[offset] / level - 1.0
        columns[f"to_trend_{offset:+d}"] = shifted[offset] / trend - 1.0
    for offset in range(-k + 1, k + 1):
        columns[f"diff_{offset:+d}"] = (shifted[offset] - shifted[offset - 1]) / level
    for offset in range(-3, 4):
        columns[f"diff2_{offset:+d}"] = (shifted[offset + 1] - 2 * shifted[offset] + shifted[offset - 1]) / level

    near = pd.concat([shifted[o] / trend - 1.0 for o in range(-s, s + 1)], axis=1)
    columns["near_std"] = near.std(axis=1, ddof=0)
    columns["near_max"] = near.max(axis=1)
    columns["near_min"] = near.min(axis=1)
    columns["near_range"] = columns["near_max"] - columns["near_min"]
    columns["near_argmax"] = near.fillna(0.0).to_numpy().argmax(axis=1) - s
    columns["near_argmin"] = near.fillna(0.0).to_numpy().argmin(axis=1) - s
    steps = pd.concat([(shifted[o] - shifted[o - 1]).abs() / level for o in range(-s + 1, s + 1)], axis=1)
    columns["abs_diff_mean"] = steps.mean(axis=1)
    masked = artifact.astype(float).groupby(frame["id"], sort=False)
    columns["artifacts_near"] = masked.transform(lambda v: v.rolling(2 * s + 1, center=True, min_periods=1).sum())
    columns["beats_from_start"] = by_recording["x"].transform(lambda v: pd.Series(np.arange(len(v)), index=v.index))
    columns["beats_to_end"] = by_recording["x"].transform(lambda v: pd.Series(np.arange(len(v))[::-1], index=v.index))
    return pd.DataFrame(columns)


def best_time(function, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3, help="timed runs of each version; the best counts")
    args = parser.parse_args()
    beats = pd.read_csv("data/train.csv")
    settings = FeatureSettings()

    vectorised = beat_features(beats, settings)
    reference = transform_features(beats, settings)[vectorised.columns]
    np.testing.assert_allclose(reference.to_numpy(float), vectorised.to_numpy(float), rtol=1e-9, atol=1e-12, equal_nan=True)

    for name, function in (
        ("vectorised numpy (features.windows.beat_features)", lambda: beat_features(beats, settings)),
        ("pandas groupby().transform(lambda ...)", lambda: transform_features(beats, settings)),
    ):
        seconds = best_time(function, args.repeats)
        print(f"{name}: {seconds:.3f} s, {len(beats) / seconds:,.0f} beats/s ({len(beats)} beats, best of {args.repeats})")


if __name__ == "__main__":
    main()
