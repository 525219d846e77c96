"""The registered MLflow model: the whole detector wrapped as an MLflow pyfunc.

`training.registry` logs it with `code_paths` set to this whole `features` package, so a process
that loads the model (BentoML, `mlflow models serve`, a notebook) imports the feature code that was
logged with the model and needs no checkout of this repository.
"""

import mlflow.pyfunc
import pandas as pd
from mlflow.models import ModelSignature
from mlflow.types.schema import AnyType, ColSpec, Schema

from features.detector import Detector

# Key of the detector folder (model.cbm and detector.json) in the pyfunc's artifacts.
DETECTOR_ARTIFACT = "detector"


class DetectorModel(mlflow.pyfunc.PythonModel):
    """Pyfunc model: a table of beats with `id`, `x` and optional `time` in; per-beat results out."""

    def load_context(self, context) -> None:
        self.detector = Detector.load(context.artifacts[DETECTOR_ARTIFACT])

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        """Return `probability`, `prediction` (0/1 after post-processing) and `artifact` (0/1) per beat.

        Rows come out in input order. Beats of several recordings may be interleaved; `id` values
        are integers or strings and are compared as given, so 3 and "3" are two recordings.
        """
        return self.detector.predict_frame(model_input)


def model_signature() -> ModelSignature:
    """Return the signature: `id` (integer or string), `x` and optional `time` in milliseconds."""
    inputs = Schema(
        [
            # AnyType because recording ids are integers in the training data and strings for some clients.
            ColSpec(AnyType(), "id"),
            ColSpec("double", "x"),
            ColSpec("double", "time", required=False),
        ]
    )
    outputs = Schema(
        [
            ColSpec("double", "probability"),
            ColSpec("long", "prediction"),
            ColSpec("long", "artifact"),
        ]
    )
    return ModelSignature(inputs=inputs, outputs=outputs)


def input_example() -> pd.DataFrame:
    """Return a made-up two-recording example: interleaved beats, one 12 ms artifact in recording 2."""
    return pd.DataFrame(
        {
            "id": [1, 2, 1, 2, 1, 2, 1, 2],
            "x": [812.0, 640.0, 796.0, 12.0, 804.0, 652.0, 1020.0, 648.0],
            "time": [0.0, 0.0, 812.0, 640.0, 1608.0, 652.0, 2412.0, 1304.0],
        }
    )
