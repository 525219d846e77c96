# One-command set-up, run and test. Needs python3.11 and ../shared (the DVC remote) beside the repository.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 3000

# The stages' `python ...` commands and dvc itself must come from the virtualenv.
export PATH := $(abspath $(BIN)):$(PATH)

# MLflow and BentoML send usage statistics by default; nothing here should reach the network.
export DO_NOT_TRACK := true
export MLFLOW_DISABLE_TELEMETRY := true
export BENTOML_DO_NOT_TRACK := true

.PHONY: install run test

install: $(BIN)/python
	$(BIN)/pip install -r requirements.lock
	$(BIN)/pip install --no-deps -e .

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Pull the data (the pipeline outputs are not in the remote), run every stage that is out of date,
# then serve the latest model in the BentoML store.
run: install
	$(BIN)/dvc pull data.dvc
	$(BIN)/dvc repro
	$(BIN)/bentoml serve --host $(HOST) --port $(PORT)

test:
	$(BIN)/python -m pytest
