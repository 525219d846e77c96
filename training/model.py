"""CatBoost fitting on feature tables, with the settings that keep runs reproducible."""

import numpy as np
import pandas as pd
from catboost import CatBoostClassifier


def catboost_params(model_params: dict, tuned: dict | None = None) -> dict:
    """Merge params.yaml's model group with tuned hyperparameters into CatBoost's keyword arguments."""
    params = {
        "iterations": model_params["iterations"],
        "learning_rate": model_params["learning_rate"],
        "depth": model_params["depth"],
        "l2_leaf_reg": model_params["l2_leaf_reg"],
        "border_count": model_params["border_count"],
        "auto_class_weights": model_params.get("auto_class_weights"),
        "random_seed": model_params["seed"],
        "thread_count": model_params["thread_count"],
        "loss_function": "Logloss",
        "allow_writing_files": False,  # no catboost_info folder in the working directory
        "verbose": False,
    }
    params.update(tuned or {})
    if params.get("auto_class_weights") in (None, "None"):
        params.pop("auto_class_weights", None)
    return params


def fit(
    features: pd.DataFrame,
    labels: np.ndarray,
    params: dict,
    eval_features: pd.DataFrame | None = None,
    eval_labels: np.ndarray | None = None,
    early_stopping_rounds: int | None = None,
) -> CatBoostClassifier:
    """Fit a CatBoost classifier; with an evaluation set, stop early on its log loss."""
    model = CatBoostClassifier(**params)
    eval_set = (eval_features, eval_labels) if eval_features is not None else None
    model.fit(
        features,
        labels,
        eval_set=eval_set,
        early_stopping_rounds=early_stopping_rounds if eval_set else None,
        use_best_model=eval_set is not None,
    )
    return model
