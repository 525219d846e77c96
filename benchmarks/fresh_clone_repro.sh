#!/usr/bin/env bash
# Time the README's set-up and a full default `dvc repro` on a fresh clone of this repository.
# The clone goes beside this one, so that ../shared (the DVC remote) is beside it too.
# Usage: bash benchmarks/fresh_clone_repro.sh [CLONE_DIR]
set -euo pipefail
source_repo=$(git rev-parse --show-toplevel)
clone=${1:-"$(dirname "$source_repo")/cardiospike-bench-$$"}
git clone -q "$source_repo" "$clone"
cd "$clone"

started=$(date +%s)
make install PYTHON=python3 >/dev/null
installed=$(date +%s)
.venv/bin/dvc pull -q data.dvc
PATH="$PWD/.venv/bin:$PATH" dvc repro
finished=$(date +%s)

echo "clone: $clone"
echo "make install: $((installed - started)) s"
echo "dvc pull data.dvc + dvc repro: $((finished - installed)) s"
.venv/bin/dvc metrics show
