#!/usr/bin/env bash
# Measure POST /predict of this checkout and of an earlier commit side by side, on the same model.
# The earlier commit gets a git worktree and its own virtualenv from its own requirements.lock, so
# the comparison includes dependency changes. Both services serve the latest model in the BentoML
# store (run `dvc repro` first), and benchmarks/serve_latency.py measures them in alternating rounds.
# Usage: bash benchmarks/serve_compare.sh BASE_COMMIT [ROUNDS]
set -euo pipefail
base_commit=${1:?usage: serve_compare.sh BASE_COMMIT [ROUNDS]}
rounds=${2:-3}
repo=$(git rev-parse --show-toplevel)
work=$(mktemp -d)
base_port=38931
current_port=38932
export DO_NOT_TRACK=true BENTOML_DO_NOT_TRACK=true MLFLOW_DISABLE_TELEMETRY=true

cleanup() {
    kill $(jobs -p) 2>/dev/null || true
    wait 2>/dev/null || true
    git -C "$repo" worktree remove --force "$work/base" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

git -C "$repo" worktree add -q --detach "$work/base" "$base_commit"
make -C "$work/base" install PYTHON=python3 >"$work/base-install.log" 2>&1 \
    || { echo "make install of $base_commit failed:"; tail -20 "$work/base-install.log"; exit 1; }

(cd "$work/base" && exec .venv/bin/bentoml serve --host 127.0.0.1 --port "$base_port") >"$work/base.log" 2>&1 &
(cd "$repo" && exec .venv/bin/bentoml serve --host 127.0.0.1 --port "$current_port") >"$work/current.log" 2>&1 &

for port in "$base_port" "$current_port"; do
    for _ in $(seq 120); do
        curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break
        sleep 1
    done
    curl -sf "http://127.0.0.1:$port/readyz" >/dev/null || { echo "service on port $port did not start"; tail "$work"/*.log; exit 1; }
done

cd "$repo"
.venv/bin/python benchmarks/serve_latency.py --rounds "$rounds" \
    --url "base $(git rev-parse --short "$base_commit")=http://127.0.0.1:$base_port" \
    --url "current $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- serving features requirements.lock || echo +changes)=http://127.0.0.1:$current_port"
