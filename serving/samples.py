"""Pick sample recordings for the web page from the test set, at build time.

The samples are copies of `data/test.csv` recordings, so they are written to a git-ignored folder
and never committed. Run before `bentoml build`:

    python -m serving.samples --source data/test.csv --out serving/samples
"""

import argparse
import json
import logging
from pathlib import Path

import pandas as pd

log = logging.getLogger(__name__)

DEFAULT_SAMPLES_DIR = Path(__file__).parent / "samples"
INDEX_FILE = "index.json"
# Lengths in beats that the samples should be near: a short, a typical and a long recording, and
# the longest one (None), so the page shows the chart at both ends of its scale.
TARGET_BEATS = (60, 150, 600, None)


def pick_samples(source: Path, out_dir: Path, targets: tuple = TARGET_BEATS) -> list[dict]:
    """Write one CSV per picked recording of `source` into `out_dir`, plus `index.json`; return the index.

    Each target picks the recording whose beat count is nearest to it; None picks the longest.
    A recording is picked at most once.
    """
    beats = pd.read_csv(source, usecols=["id", "time", "x"])
    lengths = beats.groupby("id", sort=True).size()
    picked: list = []
    for target in targets:
        remaining = lengths.drop(index=picked)
        if remaining.empty:
            break
        recording_id = remaining.idxmax() if target is None else (remaining - target).abs().idxmin()
        picked.append(recording_id)

    out_dir.mkdir(parents=True, exist_ok=True)
    index = []
    for recording_id in sorted(picked, key=lambda key: lengths[key]):
        recording = beats[beats["id"] == recording_id]
        name = f"recording-{recording_id}.csv"
        recording.to_csv(out_dir / name, index=False)
        index.append(
            {
                "name": name,
                "id": str(recording_id),
                "beats": int(len(recording)),
                "duration_ms": float(recording["x"].sum()),
            }
        )
    with (out_dir / INDEX_FILE).open("w", encoding="utf-8") as handle:
        json.dump(index, handle, indent=2)
    return index


def main() -> None:
    parser = argparse.ArgumentParser(description="Copy a few test recordings into the web page's sample folder.")
    parser.add_argument("--source", type=Path, default=Path("data/test.csv"), help="hackathon CSV with id,time,x")
    parser.add_argument("--out", type=Path, default=DEFAULT_SAMPLES_DIR, help="folder for the samples (git-ignored)")
    arguments = parser.parse_args()

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    index = pick_samples(arguments.source, arguments.out)
    log.info("wrote %d samples to %s: %s", len(index), arguments.out, ", ".join(item["name"] for item in index))


if __name__ == "__main__":
    main()
