"""POST /predict through a real `bentoml serve` on loopback, with a model registered by the register stage."""

import http.client
import json
import math
import subprocess
import sys
import textwrap
import threading
import urllib.parse
import urllib.request
from pathlib import Path

import pandas as pd
import pytest

pytestmark = pytest.mark.integration

VALID_BODY = json.dumps({"id": [7, 7, 7], "x": [800, 810, 790]}).encode()


def first_recording_of_length(frame: pd.DataFrame, n_beats: int) -> pd.DataFrame:
    """Return the first `n_beats` beats of the first recording that has at least that many."""
    sizes = frame.groupby("id", sort=False).size()
    recording_id = sizes[sizes >= n_beats].index[0]
    return frame[frame["id"] == recording_id].iloc[:n_beats]


def beat_f1(truth: list[int], predicted: list[int]) -> float:
    true_positives = sum(1 for t, p in zip(truth, predicted) if t == 1 and p == 1)
    denominator = sum(truth) + sum(predicted)
    return 2 * true_positives / denominator if denominator else 1.0


def test_old_client_recording_3(server_url: str, train_frame: pd.DataFrame, report_line) -> None:
    recording = train_frame[train_frame["id"] == 3]
    body = json.dumps({"id": recording["id"].tolist(), "x": recording["x"].tolist()}).encode("utf-8")
    request = urllib.request.Request(
        f"{server_url}/predict", data=body, headers={"Content-Type": "application/json; charset=utf-8"}
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        status = response.status
        answer = json.loads(response.read().decode("utf-8"))

    predictions = answer["predictions"]
    diagnosis = list(answer["diagnosis"].values())[0]
    pattern = list(answer["pattern_per_5minute"].values())[0]
    f1 = beat_f1(recording["y"].tolist(), predictions)
    report_line(f"recording 3: beat-level F1 {f1:.3f} over {len(recording)} beats, diagnosis {diagnosis}")

    assert status == 200
    assert answer["success"] is True
    assert isinstance(predictions, list)
    assert len(predictions) == len(recording)
    assert set(predictions) <= {0, 1}
    assert isinstance(diagnosis, bool)
    assert isinstance(pattern, int)
    assert list(answer["diagnosis"]) == ["3"]
    assert list(answer["pattern_per_5minute"]) == ["3"]
    assert 0.0 <= f1 <= 1.0


def test_answer_fields_and_types(post, registry_report: dict) -> None:
    status, content_type, answer = post(json.dumps({"id": ["a", "b", "a", "b"], "x": [800, 640, 790, 12]}).encode())

    assert status == 200
    assert content_type.startswith("application/json")
    assert list(answer["diagnosis"]) == ["a", "b"]
    assert len(answer["probabilities"]) == 4
    assert all(0.0 <= p <= 1.0 for p in answer["probabilities"])
    assert answer["artifacts"] == [0, 0, 0, 1]
    assert isinstance(answer["threshold"], float)
    assert answer["model"]["name"] == registry_report["model_name"]
    assert answer["model"]["version"] == registry_report["champion"]["version"]
    assert answer["model"]["run_id"] == registry_report["champion"]["run_id"]
    assert answer["model"]["bentoml_tag"] == registry_report["bentoml_model"]


def test_answer_has_content_length(server_url: str) -> None:
    address = urllib.parse.urlsplit(server_url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=60)
    try:
        connection.request("POST", "/predict", body=VALID_BODY, headers={"Content-Type": "application/json"})
        response = connection.getresponse()
        body = response.read()
    finally:
        connection.close()

    assert response.status == 200
    assert response.getheader("Transfer-Encoding") is None
    assert response.getheader("Content-Length") == str(len(body))
    assert len(json.loads(body)["predictions"]) == 3


def test_implausible_intervals_flagged(post) -> None:
    status, _, answer = post(json.dumps({"id": [1] * 6, "x": [800, 12, 790, 40900, 805, 798]}).encode())

    assert status == 200
    assert answer["artifacts"] == [0, 1, 0, 1, 0, 0]
    assert answer["predictions"][1] == 0
    assert answer["predictions"][3] == 0


def body_of(payload) -> bytes:
    return json.dumps(payload).encode()


def too_large_body(max_bytes: int) -> bytes:
    head, tail = b'{"id": [1], "x": [', b"800]}"
    return head + b"800, " * (max_bytes // 5 + 1) + tail


BAD_INPUT = [
    # (case, body or a function of params, status, field named in `loc`, error type)
    ("body not JSON", b"id=1&x=800", 400, None, "json_invalid"),
    ("body truncated JSON", b'{"id": [1], "x": [8', 400, None, "json_invalid"),
    ("JSON array, not object", b"[1, 2, 3]", 400, None, "model_type"),
    ("JSON string, not object", b'"id"', 400, None, "model_type"),
    ("id missing", body_of({"x": [800]}), 400, "id", "missing"),
    ("x missing", body_of({"id": [1]}), 400, "x", "missing"),
    ("id and x lengths differ", body_of({"id": [1, 1], "x": [800, 810, 820]}), 400, "x", "length_mismatch"),
    ("empty lists", body_of({"id": [], "x": []}), 400, "x", "too_short"),
    ("x contains a string", body_of({"id": [1, 1], "x": [800, "810"]}), 400, "x", "invalid_element"),
    ("x contains null", body_of({"id": [1, 1], "x": [800, None]}), 400, "x", "invalid_element"),
    ("x contains a boolean", body_of({"id": [1, 1], "x": [800, True]}), 400, "x", "invalid_element"),
    ("x contains NaN", body_of({"id": [1, 1], "x": [800, math.nan]}), 400, "x", "invalid_element"),
    ("x contains Infinity", body_of({"id": [1, 1], "x": [800, math.inf]}), 400, "x", "invalid_element"),
    ("x contains -Infinity", body_of({"id": [1, 1], "x": [800, -math.inf]}), 400, "x", "invalid_element"),
    ("x contains zero", body_of({"id": [1, 1], "x": [800, 0]}), 400, "x", "invalid_element"),
    ("x contains a negative", body_of({"id": [1, 1], "x": [800, -810]}), 400, "x", "invalid_element"),
    ("x is a number, not a list", body_of({"id": [1], "x": 800}), 400, "x", "list_type"),
    ("id contains null", body_of({"id": [1, None], "x": [800, 810]}), 400, "id", "invalid_element"),
    ("id contains a float", body_of({"id": [1, 1.5], "x": [800, 810]}), 400, "id", "invalid_element"),
    ("id contains a list", body_of({"id": [1, [1]], "x": [800, 810]}), 400, "id", "invalid_element"),
    ("id contains an object", body_of({"id": [1, {"a": 1}], "x": [800, 810]}), 400, "id", "invalid_element"),
    ("id 3 and '3' in one body", body_of({"id": [3, "3"], "x": [800, 810]}), 400, "id", "ambiguous_id"),
    ("time of wrong length", body_of({"id": [1, 1], "x": [800, 810], "time": [0]}), 400, "time", "length_mismatch"),
    ("time contains NaN", body_of({"id": [1, 1], "x": [800, 810], "time": [0, math.nan]}), 400, "time", "invalid_element"),
    ("more beats than the limit", lambda p: body_of({"id": [1] * (p["serve"]["max_beats"] + 1), "x": [800] * (p["serve"]["max_beats"] + 1)}), 413, "x", "too_many_beats"),
    ("body larger than the limit", lambda p: too_large_body(p["serve"]["max_request_mib"] * 1024 * 1024), 413, "body", "body_too_large"),
]  # fmt: skip


@pytest.mark.parametrize(("case", "body", "status", "field", "error_type"), BAD_INPUT, ids=[row[0] for row in BAD_INPUT])
def test_bad_input_rejected(post, params: dict, case: str, body, status: int, field: str | None, error_type: str) -> None:
    payload = body(params) if callable(body) else body

    answer_status, content_type, answer = post(payload)
    error_types = [item["type"] for item in answer.get("detail", [])]
    fields = [item["loc"][0] for item in answer.get("detail", []) if item["loc"]]
    next_status, _, _ = post(VALID_BODY)

    assert answer_status == status
    assert content_type.startswith("application/json")
    assert isinstance(answer["error"], str)
    assert "IODescriptor" not in answer["error"]
    assert error_type in error_types
    if field is not None:
        assert field in fields
        assert field in answer["error"]
    assert next_status == 200


@pytest.mark.parametrize("content_type", ["text/plain", "multipart/form-data", "application/x-www-form-urlencoded"])
def test_non_json_media_type_rejected(post, content_type: str) -> None:
    status, _, answer = post(VALID_BODY, content_type=content_type)
    next_status, _, _ = post(VALID_BODY)

    assert status == 415
    assert answer["detail"][0]["loc"] == ["Content-Type"]
    assert next_status == 200


def post_many(server_url: str, body: bytes, n_requests: int, answers: list, errors: list) -> None:
    """Send `n_requests` identical requests over one keep-alive connection; collect bodies or errors."""
    address = urllib.parse.urlsplit(server_url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=60)
    try:
        for _ in range(n_requests):
            connection.request("POST", "/predict", body=body, headers={"Content-Type": "application/json"})
            response = connection.getresponse()
            content = response.read()
            if response.status != 200:
                errors.append((response.status, content[:200]))
            else:
                answers.append(content)
    except (OSError, http.client.HTTPException) as error:
        errors.append(repr(error))
    finally:
        connection.close()


def test_concurrent_responses_match_sequential(server_url: str, post, train_frame: pd.DataFrame) -> None:
    recording = first_recording_of_length(train_frame, 300)
    body = body_of({"id": recording["id"].tolist(), "x": recording["x"].tolist()})
    _, _, sequential = post(body)
    answers: list[bytes] = []
    errors: list = []

    threads = [
        threading.Thread(target=post_many, args=(server_url, body, 100, answers, errors)) for _ in range(16)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    distinct = {answer for answer in answers}

    assert errors == []
    assert len(answers) == 16 * 100
    assert len(distinct) == 1
    assert json.loads(distinct.pop()) == sequential


PYFUNC_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import mlflow.pyfunc
    import pandas as pd

    name, request = sys.argv[1], json.loads(sys.stdin.read())
    model = mlflow.pyfunc.load_model(f"models:/{name}@champion")
    frame = pd.DataFrame({"id": request["id"], "x": request["x"], "time": request["time"]}).astype({"x": float, "time": float})
    result = model.predict(frame)
    import features
    print(json.dumps({"columns": result.to_dict(orient="list"), "features_file": features.__file__}))
    """
)


def interleaved_request(recordings: list[pd.DataFrame]) -> dict:
    """Build a /predict body with `time` whose beats alternate between the recordings."""
    beats = []
    for index in range(max(len(recording) for recording in recordings)):
        for recording in recordings:
            if index < len(recording):
                row = recording.iloc[index]
                beats.append((int(row["id"]), float(row["x"]), float(row["time"])))
    return {"id": [b[0] for b in beats], "x": [b[1] for b in beats], "time": [b[2] for b in beats]}


# The service runs bodies of up to 1,000 beats on its event loop and longer ones in a thread.
@pytest.mark.parametrize("n_beats", [600, 3000])
def test_service_matches_registered_pyfunc(
    post, train_frame: pd.DataFrame, registry_report: dict, stores_env: dict[str, str], tmp_path: Path, n_beats: int
) -> None:
    # Recording 3 and others interleaved beat by beat, with times and one implausible interval.
    recordings = [train_frame[train_frame["id"] == 3]]
    for _, recording in train_frame[train_frame["id"] != 3].groupby("id", sort=False):
        if sum(len(r) for r in recordings) >= n_beats:
            break
        recordings.append(recording)
    request = interleaved_request(recordings)
    request["x"][10] = 40900.0
    assert len(request["x"]) >= n_beats

    status, _, served = post(body_of(request))
    # A fresh process, outside the repository, so that the model's own copy of `features` is imported.
    result = subprocess.run(
        [sys.executable, "-c", PYFUNC_SCRIPT, registry_report["model_name"]],
        input=json.dumps(request),
        cwd=tmp_path,
        env={**stores_env, "PYTHONPATH": ""},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-5000:]
    pyfunc = json.loads(result.stdout.strip().splitlines()[-1])

    assert status == 200
    assert served["predictions"] == pyfunc["columns"]["prediction"]
    assert served["artifacts"] == pyfunc["columns"]["artifact"]
    assert served["probabilities"] == pyfunc["columns"]["probability"]
    assert "/code/features/" in pyfunc["features_file"]


def test_health_and_metrics_endpoints(server_url: str) -> None:
    statuses = {}
    for path in ("/livez", "/readyz", "/metrics"):
        with urllib.request.urlopen(f"{server_url}{path}", timeout=10) as response:
            statuses[path] = response.status
            content = response.read().decode()

    assert statuses == {"/livez": 200, "/readyz": 200, "/metrics": 200}
    assert "bentoml_service_request" in content


def test_openapi_documents_bounds(server_url: str, params: dict) -> None:
    with urllib.request.urlopen(f"{server_url}/docs.json", timeout=10) as response:
        document = json.loads(response.read())
    request_schema = document["paths"]["/predict"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    if "$ref" in request_schema:
        request_schema = document["components"]["schemas"][request_schema["$ref"].rsplit("/", 1)[-1]]
    properties = request_schema["properties"]

    assert set(request_schema["required"]) == {"id", "x"}
    assert properties["x"]["minItems"] == 1
    assert properties["x"]["maxItems"] == params["serve"]["max_beats"]
    assert properties["x"]["items"]["exclusiveMinimum"] == 0
    assert properties["id"]["maxItems"] == params["serve"]["max_beats"]
    assert "time" in properties

    # /predict returns a prebuilt JSON response, and the schema still comes from its annotation.
    answer_schema = document["paths"]["/predict"]["post"]["responses"]["200"]["content"]["application/json"]["schema"]
    if "$ref" in answer_schema:
        answer_schema = document["components"]["schemas"][answer_schema["$ref"].rsplit("/", 1)[-1]]
    assert {"predictions", "diagnosis", "pattern_per_5minute"} <= set(answer_schema["properties"])


def test_service_import_skips_features(stores_env: dict[str, str], tmp_path: Path) -> None:
    # If the service imported the project's `features`, the model would run that copy, not its own.
    script = "import sys, serving.service; print('features' in sys.modules)"

    result = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, env=stores_env, capture_output=True, text=True, timeout=120
    )

    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().splitlines()[-1] == "False"
