"""Unit tests of the service's ASGI helpers that need no server."""

import json

from serving.middleware import summarise_validation_error


def test_summary_names_each_field() -> None:
    body = json.dumps(
        {
            "error": "2 validation error for PredictRequestIODescriptor",
            "detail": [
                {"type": "missing", "loc": ["id"], "msg": "Field required"},
                {"type": "invalid_element", "loc": ["x"], "msg": "x[1] is null, expected a number"},
            ],
        }
    ).encode()

    answer = json.loads(summarise_validation_error(body))

    assert answer["error"] == "id: Field required; x[1] is null, expected a number"
    assert len(answer["detail"]) == 2


def test_summary_without_location() -> None:
    body = json.dumps({"error": "1 validation error", "detail": [{"type": "json_invalid", "loc": [], "msg": "Invalid JSON"}]})

    answer = json.loads(summarise_validation_error(body.encode()))

    assert answer["error"] == "Invalid JSON"


def test_summary_leaves_other_bodies() -> None:
    for body in (b"not json", b"[1, 2]", b'{"error": "no detail"}', b'{"error": "x", "detail": []}'):
        assert summarise_validation_error(body) == body
