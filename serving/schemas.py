"""Request and response models of POST /predict: the original CardioSpike contract, with bounds.

Validation errors keep BentoML's 400 body, `{"error": ..., "detail": [{"type", "loc", "msg"}]}`,
where `loc` names the field. A list with bad elements gets one error that names the first bad
element and counts the others, so a body of 100,000 NaNs does not get 100,000 error entries.
"""

import math
from typing import Annotated, Any, Callable

from pydantic import (
    BaseModel,
    Field,
    StrictInt,
    StrictStr,
    ValidationError,
    ValidationInfo,
    WrapValidator,
    field_validator,
)
from pydantic_core import PydanticCustomError
from starlette.responses import JSONResponse

MAX_ID_CHARS = 256

RecordingId = StrictInt | Annotated[StrictStr, Field(min_length=1, max_length=MAX_ID_CHARS)]
# strict: a JSON string, boolean or null is rejected, not converted; integers are accepted.
IntervalMs = Annotated[float, Field(strict=True, gt=0, allow_inf_nan=False)]
TimeMs = Annotated[float, Field(strict=True, allow_inf_nan=False)]


def describe_json_value(value: Any) -> str:
    """Name a parsed JSON value the way the client wrote it: null, true, NaN, "800", an array."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and math.isnan(value):
        return "NaN"
    if isinstance(value, float) and math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        if not value:
            return "an empty string"
        excerpt = value if len(value) <= 40 else value[:40] + "..."
        return f'the string "{excerpt}"'
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def first_element_error(field: str, expected: str) -> WrapValidator:
    """Build a list validator that reports only its first invalid element, with the count of the others."""

    def validate(value: Any, handler: Callable[[Any], Any]) -> Any:
        try:
            return handler(value)
        except ValidationError as error:
            element_errors = [item for item in error.errors() if item["loc"] and isinstance(item["loc"][0], int)]
            if not element_errors:
                raise  # an error of the whole list, such as "too short", is already one entry

            index = element_errors[0]["loc"][0]
            invalid = len({item["loc"][0] for item in element_errors})
            raise PydanticCustomError(
                "invalid_element",
                "{field}[{index}] is {value}, expected {expected}; {field} has {invalid}",
                {
                    "field": field,
                    "index": index,
                    "value": describe_json_value(value[index]),
                    "expected": expected,
                    "invalid": f"{invalid} invalid element" + ("s" if invalid > 1 else ""),
                },
            ) from None

    return WrapValidator(validate)


def predict_request_model(max_beats: int) -> type[BaseModel]:
    """Build the /predict request model; `max_beats` is documented here and enforced with 413 by the service."""
    beats = {"maxItems": max_beats}

    class PredictRequest(BaseModel):
        """Beats of one or more recordings, one list element per beat; recordings may be interleaved."""

        id: Annotated[
            list[RecordingId],
            Field(min_length=1, json_schema_extra=beats, description="Recording id of each beat."),
            first_element_error("id", f"an integer or a string of 1 to {MAX_ID_CHARS} characters"),
        ]
        x: Annotated[
            list[IntervalMs],
            Field(min_length=1, json_schema_extra=beats, description="R-R interval of each beat, milliseconds."),
            first_element_error("x", "a finite number of milliseconds greater than 0"),
        ]
        time: Annotated[
            list[TimeMs] | None,
            Field(
                default=None,
                json_schema_extra=beats,
                description="Optional time of each beat, milliseconds; beats are ordered by it within a recording.",
            ),
            first_element_error("time", "a finite number of milliseconds"),
        ]

        @field_validator("id")
        @classmethod
        def check_response_keys(cls, ids: list[int | str]) -> list[int | str]:
            # The response keys recordings by str(id), so 3 and "3" would share one key.
            if len({type(recording_id) for recording_id in ids}) > 1:
                by_key: dict[str, int | str] = {}
                for recording_id in ids:
                    other = by_key.setdefault(str(recording_id), recording_id)
                    if other != recording_id:
                        raise PydanticCustomError(
                            "ambiguous_id",
                            "id contains {first} and {second}, two recordings that the response would key by the "
                            "same string {key}; give every recording an id of one type",
                            {"first": repr(other), "second": repr(recording_id), "key": repr(str(recording_id))},
                        )
            return ids

        @field_validator("x")
        @classmethod
        def check_x_length(cls, x: list[float], info: ValidationInfo) -> list[float]:
            ids = info.data.get("id")
            if ids is not None and len(ids) != len(x):
                raise PydanticCustomError(
                    "length_mismatch",
                    "x has length {n_x} but id has length {n_id}; send one id and one x per beat",
                    {"n_x": len(x), "n_id": len(ids)},
                )
            return x

        @field_validator("time")
        @classmethod
        def check_time_length(cls, time: list[float] | None, info: ValidationInfo) -> list[float] | None:
            x = info.data.get("x")
            if time is not None and x is not None and len(time) != len(x):
                raise PydanticCustomError(
                    "length_mismatch",
                    "time has length {n_time} but x has length {n_x}; send one time per beat or leave time out",
                    {"n_time": len(time), "n_x": len(x)},
                )
            return time

    return PredictRequest


class RegisteredModel(BaseModel):
    """The model that produced a response: its MLflow registry entry and BentoML store tag."""

    name: str
    version: str
    run_id: str
    bentoml_tag: str


class PredictResponse(BaseModel):
    """Per-beat results in input order and per-recording summaries keyed by str(recording id)."""

    success: bool = True
    predictions: list[int] = Field(description="0/1 per beat: 1 when the beat belongs to an anomaly episode.")
    diagnosis: dict[str, bool] = Field(description="Recording id -> true when at least one anomaly episode was found.")
    pattern_per_5minute: dict[str, int] = Field(
        description="Recording id -> anomaly episodes per 5 minutes of recording (sum of x), rounded."
    )
    episodes: dict[str, int] = Field(description="Recording id -> number of anomaly episodes.")
    probabilities: list[float] = Field(description="Anomaly probability per beat, before post-processing.")
    artifacts: list[int] = Field(description="0/1 per beat: 1 when the interval is outside the plausible range.")
    threshold: float = Field(description="Probability threshold of the post-processing.")
    model: RegisteredModel


def error_response(status_code: int, error_type: str, field: str, message: str) -> JSONResponse:
    """Return a JSON error in the shape of BentoML's validation errors."""
    body = {"error": message, "detail": [{"type": error_type, "loc": [field], "msg": message}]}
    return JSONResponse(body, status_code=status_code)
