"""DVC stage featurize: window features of every beat of the prepared train and test recordings."""

import argparse
from pathlib import Path

import pandas as pd

from features.windows import FeatureSettings, beat_features
from training.params import load_params


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--prepared", default="artifacts/prepared", help="folder that prepare wrote")
    parser.add_argument("--out", default="artifacts/features", help="folder for the feature tables")
    args = parser.parse_args()
    params = load_params()
    settings = FeatureSettings.from_params({**params["features"], **params["prepare"]})

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for name in ("train", "test"):
        beats = pd.read_parquet(Path(args.prepared) / f"{name}.parquet")
        beat_features(beats, settings).to_parquet(out / f"{name}.parquet", index=False)


if __name__ == "__main__":
    main()
