"""BentoML service of CardioSpike: POST /predict on the latest detector in the BentoML model store.

The model is the registered MLflow pyfunc that the `register` stage imported into the store. This
module does not import the project's `features` package: the detector and its feature code come
from the model itself, so the service returns the same results as the registered model.
/livez, /readyz, /metrics and the OpenAPI document come from BentoML.
"""

import logging

import bentoml
import numpy as np

from serving.config import load_serve_settings
from serving.middleware import JsonOnly, RequestSizeLimit
from serving.schemas import PredictResponse, RegisteredModel, error_response, predict_request_model

log = logging.getLogger(__name__)

SETTINGS = load_serve_settings()
PredictRequest = predict_request_model(SETTINGS.max_beats)


@bentoml.service(
    name="cardiospike",
    resources={"cpu": SETTINGS.cpu, "memory": SETTINGS.memory},
    traffic={"timeout": SETTINGS.timeout_s},
    workers=SETTINGS.workers,
)
class CardioSpike:
    """Marks the anomalous beats of R-R recordings and summarises each recording."""

    model = bentoml.models.BentoModel(f"{SETTINGS.model_name}:latest")

    def __init__(self) -> None:
        pyfunc = bentoml.mlflow.load_model(self.model)
        self.detector = pyfunc.unwrap_python_model().detector
        labels = self.model.info.labels
        self.registered = RegisteredModel(
            name=labels.get("registered_model", SETTINGS.model_name),
            version=labels.get("mlflow_version", "unknown"),
            run_id=labels.get("mlflow_run_id", "unknown"),
            bentoml_tag=str(self.model.tag),
        )
        log.info(
            "loaded model %s: registered model %s version %s, run %s",
            self.registered.bentoml_tag,
            self.registered.name,
            self.registered.version,
            self.registered.run_id,
        )

    @bentoml.api(route="/predict", input_spec=PredictRequest)
    def predict(
        self,
        id: list[int | str],  # noqa: A002, the name is fixed by the JSON contract
        x: list[float],
        time: list[float] | None = None,
    ) -> PredictResponse:
        """Return per-beat anomaly decisions and per-recording summaries for a body of beats."""
        if len(x) > SETTINGS.max_beats:
            log.warning("rejected /predict with 413: %d beats, limit %d", len(x), SETTINGS.max_beats)
            return error_response(
                413,
                "too_many_beats",
                "x",
                f"x has {len(x)} beats, more than the limit of {SETTINGS.max_beats}; split the recordings over several requests",
            )

        detection = self.detector.detect(
            np.array(id, dtype=object),
            np.asarray(x, dtype=float),
            None if time is None else np.asarray(time, dtype=float),
        )
        return PredictResponse(
            predictions=detection.prediction.tolist(),
            diagnosis={key: count > 0 for key, count in detection.episodes.items()},
            pattern_per_5minute=detection.pattern_per_5minute,
            episodes=detection.episodes,
            probabilities=detection.probability.tolist(),
            artifacts=detection.artifact.tolist(),
            threshold=self.detector.post_processing.threshold,
            model=self.registered,
        )


# Starlette runs the middleware added first outermost. RequestSizeLimit reads the whole body, so the
# connection stays usable after JsonOnly rejects a media type without reading it.
CardioSpike.add_asgi_middleware(RequestSizeLimit, max_bytes=SETTINGS.max_request_bytes)
CardioSpike.add_asgi_middleware(JsonOnly, paths=("/predict",))
