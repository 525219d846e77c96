"""Measure the wall time of the tune stage with 1, 2, ... worker processes for the same trial budget.

Run it from the project root after `dvc repro featurize`, with a PostgreSQL server whose user may
create databases:

    python benchmarks/tune_workers.py --postgres postgresql://user@127.0.0.1:5432/postgres --workers 1 2

Each run gets a new database as Optuna storage (so every run tunes from scratch) and a new SQLite
MLflow store. It runs in a temporary folder that contains a copy of params.yaml with tune.workers and
tune.storage replaced. tune.timeout_s is raised to --timeout-s so that every run finishes its budget.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import optuna
import psycopg
import yaml
from psycopg import sql
from sqlalchemy.engine import make_url

PROJECT = Path(__file__).resolve().parents[1]


def create_database(server_url: str) -> tuple[str, str]:
    """Create an empty database on the server; return its name and URL."""
    name = f"tune_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server_url, autocommit=True) as connection:
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return name, make_url(server_url).set(database=name).render_as_string(hide_password=False)


def drop_database(server_url: str, name: str) -> None:
    with psycopg.connect(server_url, autocommit=True) as connection:
        connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def time_tune_stage(workers: int, server_url: str, timeout_s: int) -> dict:
    """Run pipelines/tune.py with `workers` workers on a new study; return the wall time and the best trial."""
    params = yaml.safe_load((PROJECT / "params.yaml").read_text())
    name, storage = create_database(server_url)
    params["tune"].update({"workers": workers, "storage": storage, "timeout_s": timeout_s})
    try:
        with tempfile.TemporaryDirectory(prefix="tune_bench_") as folder:
            work = Path(folder)
            (work / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
            (work / "artifacts").mkdir()
            for part in ("prepared", "features"):
                (work / "artifacts" / part).symlink_to(PROJECT / "artifacts" / part)
            env = {
                **os.environ,
                "PYTHONPATH": str(PROJECT),
                "MLFLOW_TRACKING_URI": f"sqlite:///{work / 'mlflow.db'}",
                "MLFLOW_DISABLE_TELEMETRY": "true",
                "DO_NOT_TRACK": "true",
            }
            load_before = os.getloadavg()
            start = time.perf_counter()
            result = subprocess.run(
                [sys.executable, str(PROJECT / "pipelines" / "tune.py")], cwd=work, env=env, capture_output=True, text=True
            )
            wall_s = time.perf_counter() - start
            if result.returncode != 0:
                raise SystemExit(f"tune stage with {workers} workers failed:\n{result.stderr[-4000:]}")
            best = json.loads((work / "artifacts" / "best_params.json").read_text())
        trials = optuna.load_study(study_name=best["study"], storage=storage).get_trials(deepcopy=False)
    finally:
        drop_database(server_url, name)

    return {
        "workers": workers,
        "n_trials": params["tune"]["n_trials"],
        "wall_s": round(wall_s, 1),
        # Trials differ between runs (each worker has its own sampler seed), and so does their cost.
        "trial_s_sum": round(sum((t.datetime_complete - t.datetime_start).total_seconds() for t in trials), 1),
        "pruned": sum(t.state == optuna.trial.TrialState.PRUNED for t in trials),
        "best_cv_f1": round(best["cv_f1"], 4),
        "load_average_before": [round(value, 2) for value in load_before],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgres", required=True, help="URL of a PostgreSQL server database, e.g. .../postgres")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="worker counts to measure, in order")
    parser.add_argument("--timeout-s", type=int, default=3600, help="tune.timeout_s for the runs")
    parser.add_argument("--output", type=Path, help="also write the results to this JSON file")
    args = parser.parse_args()

    results = {"cpu_count": os.cpu_count(), "runs": []}
    for workers in args.workers:
        results["runs"].append(time_tune_stage(workers, args.postgres, args.timeout_s))
        print(json.dumps(results["runs"][-1]), flush=True)

    if args.output:
        args.output.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
