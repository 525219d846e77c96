"""Scores and plots of per-beat decisions against the experts' marks."""

import matplotlib

matplotlib.use("Agg")  # stages run without a display

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, precision_recall_curve

from training.cross_validation import confusion_counts, f1_from_counts


def beat_scores(decision: np.ndarray, labels: np.ndarray, probability: np.ndarray) -> dict:
    """Return F1, precision, recall over all beats pooled, and the PR AUC of the probabilities."""
    tp, fp, fn = confusion_counts(decision, labels)
    return {
        "f1": round(f1_from_counts(tp, fp, fn), 5),
        "precision": round(tp / (tp + fp), 5) if tp + fp else 0.0,
        "recall": round(tp / (tp + fn), 5) if tp + fn else 0.0,
        "pr_auc": round(float(average_precision_score(labels, probability)), 5),
    }


def recording_f1(ids: np.ndarray, decision: np.ndarray, labels: np.ndarray) -> pd.Series:
    """Return the beat-level F1 of each recording; a recording with nothing marked and nothing found scores 1."""
    decision, labels = np.asarray(decision, bool), np.asarray(labels, bool)
    frame = pd.DataFrame({"id": ids, "tp": decision & labels, "fp": decision & ~labels, "fn": ~decision & labels})
    sums = frame.astype({"tp": int, "fp": int, "fn": int}).groupby("id", sort=False)[["tp", "fp", "fn"]].sum()
    denominator = 2 * sums["tp"] + sums["fp"] + sums["fn"]
    return (2 * sums["tp"] / denominator.where(denominator > 0)).fillna(1.0).rename("f1")


def bootstrap_f1_interval(
    ids: np.ndarray, decision: np.ndarray, labels: np.ndarray, seed: int, n_resamples: int = 1000
) -> list[float]:
    """Return the 95% percentile interval of pooled beat F1 when recordings are resampled with replacement."""
    decision, labels = np.asarray(decision, bool), np.asarray(labels, bool)
    frame = pd.DataFrame({"id": ids, "tp": decision & labels, "fp": decision & ~labels, "fn": ~decision & labels})
    per_recording = frame.astype({"tp": int, "fp": int, "fn": int}).groupby("id")[["tp", "fp", "fn"]].sum().to_numpy()
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(per_recording), size=(n_resamples, len(per_recording)))
    totals = per_recording[picks].sum(axis=1)
    scores = 2 * totals[:, 0] / np.maximum(2 * totals[:, 0] + totals[:, 1] + totals[:, 2], 1)
    low, high = np.percentile(scores, [2.5, 97.5])
    return [round(float(low), 5), round(float(high), 5)]


def precision_recall_table(labels: np.ndarray, probability: np.ndarray, max_points: int = 200) -> pd.DataFrame:
    """Return the precision-recall curve thinned to at most `max_points` rows, for `dvc plots`."""
    precision, recall, _ = precision_recall_curve(labels, probability)
    keep = np.unique(np.linspace(0, len(precision) - 1, min(max_points, len(precision))).astype(int))
    return pd.DataFrame({"recall": recall[keep].round(5), "precision": precision[keep].round(5)})


def plot_precision_recall(table: pd.DataFrame, chosen: dict, path) -> None:
    figure, axis = plt.subplots(figsize=(5, 5))
    axis.plot(table["recall"], table["precision"], label="out-of-fold probabilities")
    axis.scatter([chosen["recall"]], [chosen["precision"]], color="red", zorder=3, label="chosen decisions")
    axis.set_xlabel("recall")
    axis.set_ylabel("precision")
    axis.set_xlim(0, 1)
    axis.set_ylim(0, 1.02)
    axis.grid(alpha=0.3)
    axis.legend(loc="lower left")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def plot_recording_f1(scores: pd.Series, path) -> None:
    figure, axis = plt.subplots(figsize=(6, 3.5))
    axis.hist(scores.to_numpy(), bins=np.linspace(0, 1, 21), color="tab:blue", edgecolor="white")
    axis.axvline(scores.median(), color="red", label=f"median {scores.median():.3f}")
    axis.set_xlabel("beat F1 of one recording")
    axis.set_ylabel("recordings")
    axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def plot_recordings(beats: pd.DataFrame, recording_ids: list, title: str, path) -> None:
    """Draw each recording's R-R series with the experts' marks and the detector's decisions.

    `beats` needs columns id, time, x, y, decision and artifact.
    """
    figure, axes = plt.subplots(len(recording_ids), 1, figsize=(12, 2.1 * len(recording_ids)), squeeze=False)
    for axis, recording_id in zip(axes[:, 0], recording_ids):
        one = beats[beats["id"] == recording_id]
        seconds = one["time"].to_numpy() / 1000.0
        shown = one["artifact"].to_numpy() == 0
        axis.plot(seconds[shown], one["x"].to_numpy()[shown], color="0.4", linewidth=0.8)
        marked = (one["y"].to_numpy() == 1) & shown
        found = (one["decision"].to_numpy() == 1) & shown
        axis.scatter(seconds[marked], one["x"].to_numpy()[marked], s=28, facecolors="none", edgecolors="tab:green", label="expert")
        axis.scatter(seconds[found], one["x"].to_numpy()[found], s=8, color="tab:red", label="detector")
        f1 = f1_from_counts(*confusion_counts(found, marked))
        axis.set_title(f"recording {recording_id}: F1 {f1:.2f}, {int((~shown).sum())} artifacts hidden", fontsize=9)
        axis.set_ylabel("R-R, ms")
    axes[0, 0].legend(loc="upper right", fontsize=8)
    axes[-1, 0].set_xlabel("time, s")
    figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path, dpi=80)
    plt.close(figure)
