"""DVC stage prepare: validate the raw recordings, flag artifacts, assign folds and the holdout."""

import argparse
import json
import sys
from pathlib import Path

from training.data import HOLDOUT_FOLD, DataValidationError, add_artifact_flags, assign_folds, read_recordings
from training.params import load_params


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default="artifacts/prepared", help="folder for the prepared tables")
    parser.add_argument("--report", default="reports/data_quality.json", help="data-quality report path")
    args = parser.parse_args()
    params = load_params()
    prepare = params["prepare"]

    try:
        train = read_recordings(params["data"]["train"], labelled=True)
        test = read_recordings(params["data"]["test"], labelled=False)
    except DataValidationError as error:
        print(f"prepare: invalid input: {error}", file=sys.stderr)
        return 1

    train = add_artifact_flags(train, prepare["min_rr_ms"], prepare["max_rr_ms"])
    test = add_artifact_flags(test, prepare["min_rr_ms"], prepare["max_rr_ms"])
    folds = assign_folds(train, prepare["n_folds"], prepare["holdout_fraction"], prepare["seed"])
    train["fold"] = train["id"].map(folds).astype("int64")

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    train.to_parquet(out / "train.parquet", index=False)
    test.to_parquet(out / "test.parquet", index=False)

    report = {
        name: {
            "beats": int(len(frame)),
            "recordings": int(frame["id"].nunique()),
            "artifacts": int(frame["artifact"].sum()),
            "artifact_share": round(float(frame["artifact"].mean()), 5),
            "rr_ms_min": float(frame["x"].min()),
            "rr_ms_max": float(frame["x"].max()),
        }
        for name, frame in (("train", train), ("test", test))
    }
    report["train"]["marked_share"] = round(float(train["y"].mean()), 5)
    report["train"]["holdout_recordings"] = int((folds == HOLDOUT_FOLD).sum())
    report["train"]["recordings_per_fold"] = {
        str(fold): int(count) for fold, count in folds[folds != HOLDOUT_FOLD].value_counts().sort_index().items()
    }
    Path(args.report).parent.mkdir(parents=True, exist_ok=True)
    Path(args.report).write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
