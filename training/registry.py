"""Model registry: log the whole detector to MLflow, register it, move `champion`, hand it to BentoML.

The rule for the alias: a new version becomes `champion` when its `cv.f1` is at least the current
champion's `cv.f1` minus a tolerance. A worse version stays registered without the alias. The
champion is then imported into the BentoML model store (unless the latest model there already is
it) and a Bento is built from bentofile.yaml.
"""

import hashlib
import json
import logging
from dataclasses import dataclass
from importlib.metadata import version as installed_version
from pathlib import Path

import bentoml
import mlflow
from bentoml.exceptions import NotFound
from mlflow.tracking import MlflowClient

import features
from features.mlflow_model import DETECTOR_ARTIFACT, DetectorModel, input_example, model_signature
from training.tracking import dvc_data_hash, git_commit

log = logging.getLogger(__name__)

CHAMPION_ALIAS = "champion"
SCORE_METRIC = "cv.f1"
MODEL_ARTIFACT_NAME = "detector"  # name of the logged model inside its MLflow run
CONTENT_TAG = "content_md5"  # model version tag: digest of the detector files and the feature code
# Distributions that the pyfunc imports when it loads; pinned to the versions installed here.
MODEL_REQUIREMENTS = ("mlflow", "catboost", "numpy", "pandas")


@dataclass(frozen=True)
class Promotion:
    """Whether a new version takes the `champion` alias, and why."""

    promoted: bool
    reason: str


def decide_promotion(
    new_score: float,
    champion_version: str | None,
    champion_score: float | None,
    tolerance: float,
) -> Promotion:
    """Apply the promotion rule: promote when new_score >= champion_score - tolerance.

    A version is promoted when there is no champion yet. It is not promoted when the champion has
    no score, because then the rule cannot be checked; move the alias by hand in that case.
    """
    if champion_version is None:
        return Promotion(True, f"no version has the {CHAMPION_ALIAS} alias yet")
    if champion_score is None:
        return Promotion(
            False,
            f"champion version {champion_version} has no {SCORE_METRIC} metric, so the rule cannot be checked",
        )

    bar = champion_score - tolerance
    if new_score >= bar:
        return Promotion(
            True,
            f"{SCORE_METRIC} {new_score:.4f} >= {bar:.4f} "
            f"(champion version {champion_version}: {champion_score:.4f}, tolerance {tolerance})",
        )
    return Promotion(
        False,
        f"{SCORE_METRIC} {new_score:.4f} < {bar:.4f} "
        f"(champion version {champion_version}: {champion_score:.4f}, tolerance {tolerance})",
    )


def flatten(nested: dict, prefix: str = "") -> dict:
    """Flatten nested keys to dotted names as `dvc metrics show` prints them: {"cv": {"f1": x}} -> {"cv.f1": x}."""
    flat = {}
    for key, value in nested.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, prefix=f"{name}."))
        else:
            flat[name] = value
    return flat


def flatten_metrics(metrics: dict) -> dict[str, float]:
    """Return the numeric leaves of nested metrics under dotted names."""
    return {
        name: float(value)
        for name, value in flatten(metrics).items()
        if isinstance(value, (int, float)) and not isinstance(value, bool)
    }


def pinned_requirements() -> list[str]:
    """Return the pyfunc's pip requirements, pinned to the installed versions."""
    return [f"{name}=={installed_version(name)}" for name in MODEL_REQUIREMENTS]


def log_detector(detector_dir: Path, metrics: dict[str, float], model_name: str) -> tuple[str, str]:
    """Log the detector folder as a pyfunc model in a new MLflow run and register it.

    Returns the run id and the new registered version.
    """
    settings = json.loads((detector_dir / "detector.json").read_text())
    with mlflow.start_run(run_name="register") as run:
        mlflow.log_params(flatten(settings))
        mlflow.log_metrics(metrics)
        mlflow.set_tags({"stage": "register", "git_commit": git_commit(), "data_md5": dvc_data_hash()})
        info = mlflow.pyfunc.log_model(
            name=MODEL_ARTIFACT_NAME,
            python_model=DetectorModel(),
            artifacts={DETECTOR_ARTIFACT: str(detector_dir)},
            # The whole package folder, so that the model imports `features.detector` and not a flat copy.
            code_paths=[str(Path(features.__file__).parent)],
            signature=model_signature(),
            input_example=input_example(),
            pip_requirements=pinned_requirements(),
            registered_model_name=model_name,
        )
    return run.info.run_id, str(info.registered_model_version)


def champion_of(client: MlflowClient, model_name: str):
    """Return the model version that has the `champion` alias, or None (also when the name is not registered)."""
    registered = client.search_registered_models(filter_string=f"name = '{model_name}'")
    if not registered or CHAMPION_ALIAS not in registered[0].aliases:
        return None
    return client.get_model_version(model_name, registered[0].aliases[CHAMPION_ALIAS])


def content_digest(detector_dir: Path) -> str:
    """Return the md5 of the detector files and of the `features` code that the pyfunc carries."""
    features_dir = Path(features.__file__).parent
    files = [(f"detector/{path.name}", path) for path in sorted(detector_dir.iterdir()) if path.is_file()]
    files += [(f"features/{path.name}", path) for path in sorted(features_dir.glob("*.py"))]

    digest = hashlib.md5()
    for name, path in files:
        digest.update(name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def score_of(client: MlflowClient, model_version) -> float | None:
    """Return the `cv.f1` that the run of a model version logged, or None."""
    return client.get_run(model_version.run_id).data.metrics.get(SCORE_METRIC)


def promote(client: MlflowClient, model_name: str, new_version: str, new_score: float, tolerance: float) -> dict:
    """Move `champion` to `new_version` if the rule allows it; return the decision with both scores."""
    champion = champion_of(client, model_name)
    champion_version = None if champion is None else str(champion.version)
    champion_score = None if champion is None else score_of(client, champion)

    decision = decide_promotion(new_score, champion_version, champion_score, tolerance)
    if decision.promoted:
        client.set_registered_model_alias(model_name, CHAMPION_ALIAS, new_version)
        log.info("version %s of %s is now %s: %s", new_version, model_name, CHAMPION_ALIAS, decision.reason)
    else:
        log.warning(
            "version %s of %s is registered but NOT promoted, %s stays version %s: %s",
            new_version,
            model_name,
            CHAMPION_ALIAS,
            champion_version,
            decision.reason,
        )
    client.set_model_version_tag(model_name, new_version, "promotion", decision.reason)

    return {
        "promoted": decision.promoted,
        "reason": decision.reason,
        "tolerance": tolerance,
        "new": {"version": new_version, SCORE_METRIC: new_score},
        "previous_champion": None
        if champion is None
        else {"version": champion_version, "run_id": champion.run_id, SCORE_METRIC: champion_score},
    }


def import_champion(client: MlflowClient, model_name: str) -> str:
    """Import the `champion` version into the BentoML model store; return its BentoML tag.

    Nothing is imported when the latest BentoML model of that name already is this champion,
    recognised by its MLflow run id.
    """
    champion = champion_of(client, model_name)
    labels = {
        "registered_model": model_name,
        "mlflow_version": str(champion.version),
        "mlflow_run_id": champion.run_id,
    }
    try:
        latest = bentoml.models.get(f"{model_name}:latest")
    except NotFound:
        latest = None
    if latest is not None and latest.info.labels.get("mlflow_run_id") == champion.run_id:
        log.info("BentoML model %s already is %s version %s", latest.tag, model_name, champion.version)
        return str(latest.tag)

    # The alias is resolved above and the version URI imported, so a concurrent alias move cannot
    # make the labels and the imported files disagree.
    bento_model = bentoml.mlflow.import_model(
        model_name,
        model_uri=f"models:/{model_name}/{champion.version}",
        labels=labels,
        metadata={SCORE_METRIC: score_of(client, champion), "tracking_uri": mlflow.get_tracking_uri()},
    )
    log.info("imported %s version %s into the BentoML store as %s", model_name, champion.version, bento_model.tag)
    return str(bento_model.tag)


def build_bento(bentofile: Path) -> str:
    """Build a Bento from `bentofile` with its folder as the build context; return the Bento tag."""
    bento = bentoml.bentos.build_bentofile(str(bentofile), build_ctx=str(bentofile.resolve().parent))
    log.info("built Bento %s", bento.tag)
    return str(bento.tag)


def log_and_promote(detector_dir: Path, metrics: dict[str, float], model_name: str, tolerance: float) -> dict:
    """Register the detector as a new version and apply the promotion rule, unless a version already is it.

    The stage re-runs when only the service code changes. Comparing contents keeps such runs from
    adding versions that repeat an earlier one, and the earlier promotion decision is kept.
    """
    client = MlflowClient()
    digest = content_digest(detector_dir)
    same = client.search_model_versions(f"name = '{model_name}' and tags.{CONTENT_TAG} = '{digest}'")
    if same:
        existing = max(same, key=lambda model_version: int(model_version.version))
        reason = f"version {existing.version} already contains this detector and feature code"
        log.info("nothing registered: %s", reason)
        return {
            "registered": False,
            "run_id": existing.run_id,
            "promoted": False,
            "reason": reason,
            "tolerance": tolerance,
            "new": None,
            "previous_champion": None,
        }

    run_id, new_version = log_detector(detector_dir, metrics, model_name)
    client.set_model_version_tag(model_name, new_version, CONTENT_TAG, digest)
    promotion = promote(client, model_name, new_version, metrics[SCORE_METRIC], tolerance)
    return {"registered": True, "run_id": run_id, **promotion}


def register_detector(detector_dir: Path, metrics: dict, register_params: dict, bentofile: Path) -> dict:
    """Register and maybe promote the detector, then import the champion into BentoML and build a Bento.

    `metrics` is the content of reports/metrics.json and must contain cv.f1. Returns the report
    that the register stage writes to reports/registry.json.
    """
    flat_metrics = flatten_metrics(metrics)
    if SCORE_METRIC not in flat_metrics:
        raise KeyError(f"metrics have no {SCORE_METRIC}; found {sorted(flat_metrics)}")
    model_name = register_params["model_name"]

    decision = log_and_promote(detector_dir, flat_metrics, model_name, float(register_params["tolerance"]))
    client = MlflowClient()
    champion = champion_of(client, model_name)
    bentoml_model = import_champion(client, model_name)
    bento = build_bento(bentofile)

    return {
        "model_name": model_name,
        **decision,
        "champion": {"version": str(champion.version), "run_id": champion.run_id, SCORE_METRIC: score_of(client, champion)},
        "bentoml_model": bentoml_model,
        "bento": bento,
    }
