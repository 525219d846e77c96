"""Compare feature, model and post-processing variants by recording-grouped out-of-fold F1.

Each variant is one MLflow run in the experiment `cardiospike-variants`, with cv.f1 pooled over
the cross-validation recordings and its mean and spread over folds, so the variants compare side
by side in the MLflow UI. The holdout takes no part. Needs the prepare stage's output.

Usage: python experiments/compare_variants.py [VARIANT ...] (all variants when none is named)
"""

import argparse
import json
from dataclasses import replace
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd

from features.windows import FeatureSettings, nan_reduce, beat_features, neighbour_matrix, recording_layout
from training import model as catboost_model
from training.cross_validation import choose_post_processing, out_of_fold_probabilities
from training.evaluation import beat_scores
from training.params import load_params
from training.tracking import configure_tracking

NO_POST_PROCESSING = {"smooth_half_window": [0], "min_episode_beats": [1], "widen_beats": [0]}

# name -> (feature changes, CatBoost changes, post-processing grid or None for params.yaml's, stacked)
VARIANTS = {
    "baseline": ({}, {}, None, False),
    "threshold_only": ({}, {}, NO_POST_PROCESSING, False),
    "no_artifact_masking": ({"mask_artifacts": False}, {}, None, False),
    "wider_window": ({"neighbours": 15, "trend_half_window": 20}, {}, None, False),
    "recording_context": ({"context": True}, {}, None, False),
    "pattern_landmarks": ({"landmarks": True}, {}, None, False),
    "no_class_weights": ({}, {"auto_class_weights": None}, None, False),
    "class_weights": ({}, {"auto_class_weights": "SqrtBalanced"}, None, False),
    "class_weights_balanced": ({}, {"auto_class_weights": "Balanced"}, None, False),
    "class_weights_landmarks": ({"landmarks": True}, {"auto_class_weights": "SqrtBalanced"}, None, False),
    "deeper_slower": ({}, {"depth": 8, "iterations": 800, "learning_rate": 0.05}, None, False),
    "stacked_second_stage": ({}, {}, None, True),
}


def stacked_features(probability: np.ndarray, layout, half_window: int = 12) -> pd.DataFrame:
    """Neighbouring beats' first-stage probabilities, in input order."""
    offsets = np.arange(-half_window, half_window + 1)
    window = neighbour_matrix(probability[layout.order], layout.start, layout.end, offsets)
    columns = {f"probability_{offset:+d}": window[:, j] for j, offset in enumerate(offsets)}
    for width in (2, 4, 8):
        near = window[:, half_window - width : half_window + width + 1]
        columns[f"probability_mean_{width}"] = nan_reduce(np.nanmean, near)
    table = pd.DataFrame(columns)
    result = np.empty(table.shape)
    result[layout.order] = table.to_numpy()
    return pd.DataFrame(result, columns=table.columns)


def nested_first_stage(features, labels, folds, params, fold_numbers) -> np.ndarray:
    """First-stage probabilities for a second stage, without leaking the scored fold.

    For scored fold k, the training folds' first-stage probabilities come from an inner
    cross-validation over those folds only, and fold k's from a model fitted on all of them.
    Returns a matrix [outer fold, beat].
    """
    result = np.full((len(fold_numbers), len(labels)), np.nan)
    for i, outer in enumerate(fold_numbers):
        inner_folds = [fold for fold in fold_numbers if fold != outer]
        masked = np.where(folds == outer, -2, folds)
        result[i] = out_of_fold_probabilities(features, labels, masked, params, inner_folds, f"inner of fold {outer}")
        train = np.isin(folds, inner_folds)
        model = catboost_model.fit(features[train], labels[train], params)
        result[i, folds == outer] = model.predict_proba(features[folds == outer])[:, 1]
    return result


def run_variant(name: str, beats: pd.DataFrame, params: dict, tuned: dict) -> dict:
    feature_changes, model_changes, grid, stacked = VARIANTS[name]
    settings = replace(FeatureSettings.from_params({**params["features"], **params["prepare"]}), **feature_changes)
    catboost_params = catboost_model.catboost_params(params["model"], {**tuned, **model_changes})
    labels, folds, artifact = beats["y"].to_numpy(), beats["fold"].to_numpy(), beats["artifact"].to_numpy()
    fold_numbers = list(range(params["prepare"]["n_folds"]))
    layout = recording_layout(beats["id"].to_numpy(), beats["time"].to_numpy())
    features = beat_features(beats, settings)

    if stacked:
        first = nested_first_stage(features, labels, folds, catboost_params, fold_numbers)
        probability = np.full(len(labels), np.nan)
        for i, fold in enumerate(fold_numbers):
            second = pd.concat([features, stacked_features(first[i], layout)], axis=1)
            train = np.isin(folds, fold_numbers) & (folds != fold)
            model = catboost_model.fit(second[train], labels[train], catboost_params)
            probability[folds == fold] = model.predict_proba(second[folds == fold])[:, 1]
    else:
        probability = out_of_fold_probabilities(features, labels, folds, catboost_params, fold_numbers, name)

    decision, _, final = choose_post_processing(
        probability, labels, artifact, folds, fold_numbers, layout, grid or params["post_processing"]
    )
    cv = np.isin(folds, fold_numbers)
    scores = beat_scores(decision[cv], labels[cv], probability[cv])
    fold_f1 = [beat_scores(decision[folds == k], labels[folds == k], probability[folds == k])["f1"] for k in fold_numbers]
    scores.update(f1_fold_mean=float(np.mean(fold_f1)), f1_fold_std=float(np.std(fold_f1)))
    with mlflow.start_run(run_name=name):
        mlflow.set_tag("variant", name)
        mlflow.log_params({**{f"features.{k}": v for k, v in feature_changes.items()}, **{f"model.{k}": v for k, v in model_changes.items()}})
        mlflow.log_params({"stacked": stacked, "post_processing_grid": grid or params["post_processing"], **final.to_dict()})
        mlflow.log_metrics({f"cv.{k}": v for k, v in scores.items()})
    return scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("variants", nargs="*", choices=[[], *VARIANTS], help="variants to run (default: all)")
    parser.add_argument("--prepared", default="artifacts/prepared/train.parquet", help="prepare's train table")
    parser.add_argument("--best", default="artifacts/best_params.json", help="tune's hyperparameters, the baseline")
    args = parser.parse_args()
    tuned = json.loads(Path(args.best).read_text())["params"]
    params = load_params()
    configure_tracking({**params, "mlflow": {**params["mlflow"], "experiment": "cardiospike-variants"}})
    beats = pd.read_parquet(args.prepared)

    print("| variant | cv.f1 | fold mean ± std | precision | recall | pr_auc |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name in args.variants or VARIANTS:
        s = run_variant(name, beats, params, tuned)
        print(f"| {name} | {s['f1']:.4f} | {s['f1_fold_mean']:.4f} ± {s['f1_fold_std']:.4f} | {s['precision']:.4f} | {s['recall']:.4f} | {s['pr_auc']:.4f} |", flush=True)


if __name__ == "__main__":
    main()
