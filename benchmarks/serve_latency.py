"""Measure POST /predict latency and throughput of a running CardioSpike service from this process.

Start the service first, for example `bentoml serve --host 127.0.0.1 --port 3000`, then run
`python benchmarks/serve_latency.py --url http://127.0.0.1:3000`. To compare services side by side,
give `--url NAME=URL` once per service and `--rounds N`: the services are measured in turn, round by
round, so that a change in the machine's load shows in all of them. The body is the first
`--beats` beats of the first recording in `--data` that has that many. Each client thread keeps
one HTTP/1.1 keep-alive connection. With `--detector artifacts/detector` the script also times
Detector.detect in this process, which separates the model's share from the server's.
"""

import argparse
import http.client
import json
import os
import threading
import time
import urllib.parse
from pathlib import Path

import numpy as np
import pandas as pd


def recording_body(data: Path, n_beats: int) -> bytes:
    """Return the JSON body of the first `n_beats` beats of the first recording that has that many."""
    frame = pd.read_csv(data)
    sizes = frame.groupby("id", sort=False).size()
    long_enough = sizes[sizes >= n_beats]
    if long_enough.empty:
        raise SystemExit(f"no recording in {data} has {n_beats} beats; choose a smaller --beats")

    recording = frame[frame["id"] == long_enough.index[0]].iloc[:n_beats]
    return json.dumps({"id": recording["id"].tolist(), "x": recording["x"].tolist()}).encode()


def measure_detector(folder: Path, body: bytes, n_calls: int) -> dict:
    """Time Detector.detect on the same beats in this process: the model's share of a request."""
    from features.detector import Detector

    detector = Detector.load(folder)
    payload = json.loads(body)
    ids = np.array(payload["id"], dtype=object)
    rr_ms = np.asarray(payload["x"], dtype=float)
    latencies = []
    for _ in range(n_calls):
        start = time.perf_counter()
        detector.detect(ids, rr_ms)
        latencies.append(time.perf_counter() - start)
    return summarise(latencies, [], sum(latencies))


def post_repeatedly(url: str, body: bytes, n_requests: int, latencies: list[float], failures: list[str]) -> None:
    """Send `n_requests` POST /predict over one connection; append each latency in seconds or a failure."""
    address = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=60)
    headers = {"Content-Type": "application/json"}
    try:
        for _ in range(n_requests):
            start = time.perf_counter()
            connection.request("POST", "/predict", body=body, headers=headers)
            response = connection.getresponse()
            response.read()
            latencies.append(time.perf_counter() - start)
            if response.status != 200:
                failures.append(f"HTTP {response.status}")
    except (OSError, http.client.HTTPException) as error:
        failures.append(repr(error))
    finally:
        connection.close()


def measure_sequential(url: str, body: bytes, n_requests: int) -> dict:
    latencies: list[float] = []
    failures: list[str] = []
    start = time.perf_counter()
    post_repeatedly(url, body, n_requests, latencies, failures)
    elapsed = time.perf_counter() - start
    return summarise(latencies, failures, elapsed)


def measure_concurrent(url: str, body: bytes, n_clients: int, n_requests: int) -> dict:
    latencies: list[float] = []  # list.append is atomic under the GIL, so the threads share these lists
    failures: list[str] = []
    threads = [
        threading.Thread(target=post_repeatedly, args=(url, body, n_requests, latencies, failures))
        for _ in range(n_clients)
    ]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    return summarise(latencies, failures, elapsed)


def summarise(latencies: list[float], failures: list[str], elapsed: float) -> dict:
    milliseconds = np.array(latencies) * 1000.0
    return {
        "requests": len(latencies),
        "failures": len(failures),
        "first_failures": failures[:3],
        "p50_ms": round(float(np.percentile(milliseconds, 50)), 2),
        "p99_ms": round(float(np.percentile(milliseconds, 99)), 2),
        "mean_ms": round(float(milliseconds.mean()), 2),
        "requests_per_s": round(len(latencies) / elapsed, 1),
    }


def parse_service(text: str) -> tuple[str, str]:
    """Split a --url value, `NAME=URL` or a bare URL, into a name and a URL."""
    name, separator, url = text.partition("=")
    return (name, url) if separator else (text, text)


def measure_service(url: str, body: bytes, args: argparse.Namespace) -> dict:
    """Warm the service up, then run the sequential and the concurrent measurement once."""
    measure_sequential(url, body, args.warmup)
    return {
        "load_average_before": os.getloadavg(),
        "sequential": measure_sequential(url, body, args.sequential),
        "concurrent": {"clients": args.clients, **measure_concurrent(url, body, args.clients, args.per_client)},
    }


def summary_table(services: dict) -> str:
    """Format one Markdown row per service and round: sequential p50 and p99, concurrent throughput."""
    lines = [
        "| service | round | load average | sequential p50 | sequential p99 | concurrent throughput | errors |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, service in services.items():
        for number, run in enumerate(service["rounds"], start=1):
            sequential, concurrent = run["sequential"], run["concurrent"]
            errors = sequential["failures"] + concurrent["failures"]
            lines.append(
                f"| {name} | {number} | {run['load_average_before'][0]:.1f} | {sequential['p50_ms']} ms "
                f"| {sequential['p99_ms']} ms | {concurrent['requests_per_s']} requests/s | {errors} |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--url",
        action="append",
        type=parse_service,
        help="base URL of a running service, or NAME=URL; repeat to compare services (default http://127.0.0.1:3000)",
    )
    parser.add_argument("--rounds", type=int, default=1, help="measurements of each service, alternating between them")
    parser.add_argument("--data", type=Path, default=Path("data/train.csv"), help="CSV with id and x columns")
    parser.add_argument("--beats", type=int, default=300, help="beats per request")
    parser.add_argument("--warmup", type=int, default=50, help="requests sent and not measured before each run")
    parser.add_argument("--sequential", type=int, default=1000, help="requests of the one-client run")
    parser.add_argument("--clients", type=int, default=16, help="client threads of the concurrent run")
    parser.add_argument("--per-client", type=int, default=100, help="requests per client thread")
    parser.add_argument("--detector", type=Path, help="also time Detector.detect in-process on this saved detector")
    parser.add_argument("--output", type=Path, help="also write the results to this JSON file")
    args = parser.parse_args()
    services = dict(args.url or [parse_service("http://127.0.0.1:3000")])

    body = recording_body(args.data, args.beats)
    results = {
        "beats": args.beats,
        "body_bytes": len(body),
        "cpu_count": os.cpu_count(),
        "services": {name: {"url": url, "rounds": []} for name, url in services.items()},
    }
    for _ in range(args.rounds):
        for name, url in services.items():
            results["services"][name]["rounds"].append(measure_service(url, body, args))

    if args.detector:
        results["detector_in_process"] = measure_detector(args.detector, body, args.sequential)
        results["load_average_after"] = os.getloadavg()

    text = json.dumps(results, indent=2)
    print(text)
    print(summary_table(results["services"]))
    if args.output:
        args.output.write_text(text + "\n")


if __name__ == "__main__":
    main()
