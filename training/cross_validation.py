"""Recording-grouped out-of-fold predictions and the out-of-fold choice of threshold and post-processing.

Every choice that is scored on a fold is made on the other folds only. The model that predicts
fold k never trained on it. The threshold and post-processing applied to fold k were picked on
the out-of-fold probabilities of the remaining folds.
"""

from collections.abc import Iterable
from itertools import product

import numpy as np
import pandas as pd
from tqdm import tqdm

from features.episodes import PostProcessing, decide
from features.windows import RecordingLayout
from training import model as catboost_model

THRESHOLDS = np.round(np.arange(0.05, 0.951, 0.025), 3)


def out_of_fold_probabilities(
    features: pd.DataFrame,
    labels: np.ndarray,
    folds: np.ndarray,
    params: dict,
    fold_numbers: Iterable[int],
    description: str = "out-of-fold",
) -> np.ndarray:
    """Return each beat's probability from a model fitted without its fold; NaN outside `fold_numbers`.

    Beats whose fold is not in `fold_numbers` (for example the holdout) take part in no fit.
    """
    fold_numbers = list(fold_numbers)
    probability = np.full(len(labels), np.nan)
    in_cv = np.isin(folds, fold_numbers)
    for fold in tqdm(fold_numbers, desc=description, unit="fold"):
        train = in_cv & (folds != fold)
        scored = folds == fold
        fitted = catboost_model.fit(features[train], labels[train], params)
        probability[scored] = fitted.predict_proba(features[scored])[:, 1]
    return probability


def confusion_counts(decision: np.ndarray, labels: np.ndarray) -> tuple[int, int, int]:
    """Return true positives, false positives and false negatives."""
    decision = decision.astype(bool)
    labels = labels.astype(bool)
    return (
        int(np.sum(decision & labels)),
        int(np.sum(decision & ~labels)),
        int(np.sum(~decision & labels)),
    )


def f1_from_counts(tp: int, fp: int, fn: int) -> float:
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def candidate_settings(grid: dict) -> list[PostProcessing]:
    """List every combination of the post-processing grid with every threshold of THRESHOLDS."""
    return [
        PostProcessing(threshold=float(threshold), smooth_half_window=smooth, min_episode_beats=length, widen_beats=widen)
        for smooth, length, widen in product(grid["smooth_half_window"], grid["min_episode_beats"], grid["widen_beats"])
        for threshold in THRESHOLDS
    ]


def decide_grouped(
    probability: np.ndarray, artifact: np.ndarray, layout: RecordingLayout, settings: PostProcessing
) -> np.ndarray:
    """Apply post-processing to input-order probabilities; return input-order 0/1 decisions."""
    grouped = decide(probability[layout.order], layout.start, layout.end, settings, artifact[layout.order])
    return layout.to_input_order(grouped)


def counts_per_fold(
    probability: np.ndarray,
    labels: np.ndarray,
    artifact: np.ndarray,
    folds: np.ndarray,
    fold_numbers: list[int],
    layout: RecordingLayout,
    candidates: list[PostProcessing],
) -> np.ndarray:
    """Return an array [candidate, fold, (tp, fp, fn)] of confusion counts per candidate and fold."""
    counts = np.zeros((len(candidates), len(fold_numbers), 3), dtype=np.int64)
    filled = np.nan_to_num(probability, nan=0.0)
    for c, settings in enumerate(candidates):
        decision = decide_grouped(filled, artifact, layout, settings)
        for f, fold in enumerate(fold_numbers):
            scored = folds == fold
            counts[c, f] = confusion_counts(decision[scored], labels[scored])
    return counts


def best_candidate(counts: np.ndarray, use_folds: np.ndarray) -> int:
    """Return the index of the candidate with the best F1 pooled over the folds in `use_folds`."""
    pooled = counts[:, use_folds, :].sum(axis=1)
    scores = [f1_from_counts(*row) for row in pooled]
    return int(np.argmax(scores))


def choose_post_processing(
    probability: np.ndarray,
    labels: np.ndarray,
    artifact: np.ndarray,
    folds: np.ndarray,
    fold_numbers: list[int],
    layout: RecordingLayout,
    grid: dict,
) -> tuple[np.ndarray, dict[int, PostProcessing], PostProcessing]:
    """Choose threshold and post-processing out-of-fold.

    Returns the out-of-fold decisions (each fold decided with the settings that scored best on
    the other folds), those settings per fold, and the settings chosen on all folds together,
    which the final model uses.
    """
    candidates = candidate_settings(grid)
    counts = counts_per_fold(probability, labels, artifact, folds, fold_numbers, layout, candidates)
    filled = np.nan_to_num(probability, nan=0.0)

    decision = np.zeros(len(labels), dtype=np.int8)
    per_fold: dict[int, PostProcessing] = {}
    for f, fold in enumerate(fold_numbers):
        others = np.array([g for g in range(len(fold_numbers)) if g != f])
        chosen = candidates[best_candidate(counts, others)]
        per_fold[fold] = chosen
        scored = folds == fold
        decision[scored] = decide_grouped(filled, artifact, layout, chosen)[scored]

    final = candidates[best_candidate(counts, np.arange(len(fold_numbers)))]
    return decision, per_fold, final
