"""Nothing fitted or chosen for a fold may depend on that fold's labels, nor on the holdout at all."""

import mlflow
import numpy as np
import optuna
import pandas as pd
import pytest

from features.windows import recording_layout
from training import model as catboost_model
from training.cross_validation import choose_post_processing, out_of_fold_probabilities
from training.data import HOLDOUT_FOLD
from training.tuning import create_study, make_objective

MODEL_PARAMS = {
    "iterations": 20, "learning_rate": 0.2, "depth": 3, "l2_leaf_reg": 3.0, "border_count": 16,
    "seed": 0, "thread_count": 1, "early_stopping_rounds": 5,
}
GRID = {"smooth_half_window": [0, 1], "min_episode_beats": [1, 2], "widen_beats": [0, 1]}
N_FOLDS = 3


def synthetic_table(seed: int = 0):
    """Features, labels, recording ids and folds of 24 small recordings; 4 are holdout."""
    rng = np.random.default_rng(seed)
    ids = np.repeat(np.arange(24), 25)
    signal = rng.normal(size=len(ids))
    labels = (signal + rng.normal(scale=0.7, size=len(ids)) > 0.8).astype(int)
    features = pd.DataFrame({"signal": signal, "noise": rng.normal(size=len(ids))})
    recording_fold = np.r_[[HOLDOUT_FOLD] * 4, np.arange(20) % N_FOLDS]
    return features, labels, ids, recording_fold[ids]


def test_fold_probabilities_ignore_own_labels():
    features, labels, ids, folds = synthetic_table()
    params = catboost_model.catboost_params(MODEL_PARAMS)
    before = out_of_fold_probabilities(features, labels, folds, params, range(N_FOLDS))
    flipped = labels.copy()
    flipped[folds == 1] = 1 - flipped[folds == 1]
    after = out_of_fold_probabilities(features, flipped, folds, params, range(N_FOLDS))
    np.testing.assert_array_equal(after[folds == 1], before[folds == 1])
    assert not np.array_equal(after[folds == 0], before[folds == 0])


def test_out_of_fold_ignores_holdout():
    features, labels, ids, folds = synthetic_table()
    params = catboost_model.catboost_params(MODEL_PARAMS)
    before = out_of_fold_probabilities(features, labels, folds, params, range(N_FOLDS))
    changed_labels, changed_features = labels.copy(), features.copy()
    holdout = folds == HOLDOUT_FOLD
    changed_labels[holdout] = 1 - changed_labels[holdout]
    changed_features.loc[holdout, "signal"] *= -1
    after = out_of_fold_probabilities(changed_features, changed_labels, folds, params, range(N_FOLDS))
    np.testing.assert_array_equal(after, before)
    assert np.isnan(after[holdout]).all()


def post_processing_inputs(seed: int = 1):
    features, labels, ids, folds = synthetic_table(seed)
    rng = np.random.default_rng(seed)
    probability = np.clip(labels * 0.6 + rng.uniform(0, 0.5, size=len(labels)), 0, 1)
    probability[folds == HOLDOUT_FOLD] = np.nan
    artifact = np.zeros(len(labels), dtype=int)
    layout = recording_layout(ids)
    return probability, labels, artifact, folds, layout


def test_fold_settings_ignore_scored_fold():
    probability, labels, artifact, folds, layout = post_processing_inputs()
    _, per_fold, _ = choose_post_processing(probability, labels, artifact, folds, list(range(N_FOLDS)), layout, GRID)
    scrambled = probability.copy()
    scored = folds == 2
    scrambled[scored] = np.random.default_rng(5).uniform(size=scored.sum())
    flipped = labels.copy()
    flipped[scored] = 1 - flipped[scored]
    _, per_fold_after, _ = choose_post_processing(scrambled, flipped, artifact, folds, list(range(N_FOLDS)), layout, GRID)
    assert per_fold_after[2] == per_fold[2]


def test_settings_ignore_holdout():
    probability, labels, artifact, folds, layout = post_processing_inputs()
    decision, per_fold, final = choose_post_processing(probability, labels, artifact, folds, list(range(N_FOLDS)), layout, GRID)
    changed = probability.copy()
    holdout = folds == HOLDOUT_FOLD
    changed[holdout] = 0.99
    flipped = labels.copy()
    flipped[holdout] = 1 - flipped[holdout]
    after = choose_post_processing(changed, flipped, artifact, folds, list(range(N_FOLDS)), layout, GRID)
    assert after[1] == per_fold
    assert after[2] == final
    np.testing.assert_array_equal(after[0][~holdout], decision[~holdout])


@pytest.fixture
def tracking(tmp_path):
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    mlflow.set_experiment("leak-test")
    yield tmp_path
    mlflow.set_tracking_uri(None)


def tuning_score(tmp_path, features, labels, folds, name: str) -> float:
    study = create_study(f"sqlite:///{tmp_path / 'optuna.db'}", name, seed=0)
    with mlflow.start_run(run_name="tune") as parent:
        objective = make_objective(features, labels, folds, MODEL_PARAMS, N_FOLDS, N_FOLDS, parent.info.run_id)
        study.optimize(objective, n_trials=1)
    return study.best_value


def test_tuning_ignores_holdout(tracking):
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    features, labels, ids, folds = synthetic_table()
    before = tuning_score(tracking, features, labels, folds, "before")
    holdout = folds == HOLDOUT_FOLD
    flipped = labels.copy()
    flipped[holdout] = 1 - flipped[holdout]
    after = tuning_score(tracking, features, flipped, folds, "after")
    assert after == before
    changed = labels.copy()
    changed[folds == 0] = 1 - changed[folds == 0]
    assert tuning_score(tracking, features, changed, folds, "control") != before
