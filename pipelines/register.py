"""Stage `register`: log and register the detector, move `champion` by the rule, import it into BentoML, build a Bento."""

import argparse
import json
import logging
from pathlib import Path

import yaml

from training.registry import register_detector
from training.tracking import configure_tracking, failing_on_sigterm


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--params", type=Path, default=Path("params.yaml"), help="params file with register and mlflow groups")
    parser.add_argument("--detector", type=Path, default=Path("artifacts/detector"), help="folder that Detector.save wrote")
    parser.add_argument("--metrics", type=Path, default=Path("reports/metrics.json"), help="evaluation metrics with cv.f1")
    parser.add_argument("--bentofile", type=Path, default=Path("bentofile.yaml"), help="BentoML build file")
    parser.add_argument("--output", type=Path, default=Path("reports/registry.json"), help="report of the decision and tags")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    with args.params.open() as handle:
        params = yaml.safe_load(handle)
    metrics = json.loads(args.metrics.read_text())

    configure_tracking(params)
    with failing_on_sigterm():
        report = register_detector(args.detector, metrics, params["register"], args.bentofile)

    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
