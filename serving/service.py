"""BentoML service of CardioSpike: POST /predict on the latest detector in the BentoML model store.

The model is the registered MLflow pyfunc that the `register` stage imported into the store. This
module does not import the project's `features` package: the detector and its feature code come
from the model itself, so the service returns the same results as the registered model.
/livez, /readyz, /metrics and the OpenAPI document come from BentoML. POST /predict_file takes an
uploaded recording file, and /ui/ serves the clinicians' page (serving.web) that uses it.
"""

import inspect
import logging
from pathlib import Path

import anyio.to_thread
import bentoml
import numpy as np
from starlette.responses import Response

from serving.config import load_serve_settings
from serving.file_results import error_body, error_status, file_prediction, request_language, upload_file_name
from serving.middleware import JsonOnly, RequestSizeLimit, ValidationErrorSummary
from serving.recording_file import DEFAULT_MAX_BYTES, FileLimits, RecordingFileError, parse_recording_file
from serving.schemas import PredictResponse, RegisteredModel, error_response, predict_request_model
from serving.web import create_app

log = logging.getLogger(__name__)

SETTINGS = load_serve_settings()
PredictRequest = predict_request_model(SETTINGS.max_beats)
# The file limit stays below the request limit, with room for the multipart headers, so that an
# oversized upload gets the parser's message in the user's language and not RequestSizeLimit's 413.
MULTIPART_OVERHEAD_BYTES = 64 * 1024
FILE_LIMITS = FileLimits(
    max_bytes=min(DEFAULT_MAX_BYTES, SETTINGS.max_request_bytes - MULTIPART_OVERHEAD_BYTES),
    max_rows=SETTINGS.max_beats,
)
# /predict requests of up to this many beats run on the event loop. Detecting 1,000 beats takes
# about 3.5 ms on a 2-core x86_64 machine (docs/benchmarks.md).
INLINE_MAX_BEATS = 1_000


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
        # The service scales by worker processes (serve.workers in params.yaml), so CatBoost's own
        # prediction threads would only compete with the other workers for the cores. The detector's
        # code comes with the model, and models registered before Detector.detect took
        # `thread_count` predict with CatBoost's default of every core.
        accepts_thread_count = "thread_count" in inspect.signature(self.detector.detect).parameters
        self.detect_options = {"thread_count": 1} if accepts_thread_count else {}
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
    async def predict(
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

        # BentoML runs a synchronous API in a worker thread. Short requests (about 2 ms for 300
        # beats) skip that hop and run on the event loop. Longer ones go to a thread, so that
        # /livez and /readyz stay responsive while they run.
        if len(x) <= INLINE_MAX_BEATS:
            prediction = self._predict(id, x, time)
        else:
            prediction = await anyio.to_thread.run_sync(self._predict, id, x, time)
        # One JSON body with its Content-Length: BentoML's own encoding of a returned model sends
        # it chunked, in two messages that pass through every middleware.
        return Response(prediction.model_dump_json(), media_type="application/json")

    def _predict(self, ids: list[int | str], x: list[float], time: list[float] | None) -> PredictResponse:
        detection = self.detector.detect(
            np.array(ids, dtype=object),
            np.asarray(x, dtype=float),
            None if time is None else np.asarray(time, dtype=float),
            **self.detect_options,
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

    @bentoml.api(route="/predict_file")
    def predict_file(self, ctx: bentoml.Context, file: Path, language: str = "") -> dict:
        """Run the detector on one uploaded recording file, in any layout that serving.recording_file reads.

        The response has the `/predict` fields, then per recording its beats, results and summary,
        and, when the file has a `y` column, the beat-level F1, precision and recall against it.
        `language` ("ru" or "en") selects the language of error messages, else Accept-Language does.
        """
        language = request_language(language, ctx.request.headers.get("accept-language"))
        file_name = upload_file_name(file)
        try:
            recording = parse_recording_file(file.read_bytes(), default_id=Path(file_name).stem, limits=FILE_LIMITS)
        except RecordingFileError as error:
            ctx.response.status_code = error_status(error)
            log.warning("rejected /predict_file %r with %d: %s", file_name, ctx.response.status_code, error)
            return error_body(error, language)

        beats = recording.beats
        detection = self.detector.detect(
            beats["id"].to_numpy(dtype=object), beats["x"].to_numpy(dtype=float), beats["time"].to_numpy(dtype=float)
        )
        return file_prediction(recording, detection, file_name=file_name, model_version=self.registered.version)


# Starlette runs the middleware added first outermost. RequestSizeLimit reads the whole body, so the
# connection stays usable after JsonOnly rejects a media type without reading it.
CardioSpike.add_asgi_middleware(RequestSizeLimit, max_bytes=SETTINGS.max_request_bytes)
CardioSpike.add_asgi_middleware(JsonOnly, paths=("/predict",))
CardioSpike.add_asgi_middleware(ValidationErrorSummary, paths=("/predict",))
# The clinicians' page lives under its own prefix, because an app mounted at / would hide the API routes.
CardioSpike.mount_asgi_app(create_app(limits=FILE_LIMITS), path="/ui", name="ui")
