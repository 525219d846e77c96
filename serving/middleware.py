"""ASGI middleware in front of the BentoML app: a request-size limit and a JSON-only media type.

Both reject with a body in the shape of BentoML's validation errors, `{"error": ..., "detail": [{"type", "loc", "msg"}]}`.
"""

import json
import logging

log = logging.getLogger(__name__)

# Before a 413, the middleware reads and discards a too-large body up to this many times the limit.
# Clients that send the whole body before reading the response (urllib, requests) would otherwise
# get a reset connection instead of the 413, because uvicorn stops reading the body once the
# response is sent. A body declared larger than that gets the 413 at once, with the connection closed.
DRAIN_FACTOR = 8


class RequestSizeLimit:
    """Reject HTTP requests whose body is larger than `max_bytes` with a 413 JSON error.

    BentoML 1.4 has no request-size setting of its own, and uvicorn reads a body of any size.
    """

    def __init__(self, app, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        declared = self._content_length(scope)
        if declared is not None and declared > DRAIN_FACTOR * self.max_bytes:
            await self._reject(scope, send, declared, close=True)
            return

        chunks = []
        size = 0
        more_body = True
        while more_body:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            more_body = message.get("more_body", False)
            size += len(message.get("body", b""))
            if size > DRAIN_FACTOR * self.max_bytes:
                await self._reject(scope, send, size, close=True)
                return
            if size <= self.max_bytes:
                chunks.append(message.get("body", b""))

        if size > self.max_bytes:
            await self._reject(scope, send, size, close=False)
            return
        await self.app(scope, self._replay(b"".join(chunks), receive), send)

    @staticmethod
    def _content_length(scope) -> int | None:
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    return int(value)
                except ValueError:
                    return None  # uvicorn rejects a malformed Content-Length before it gets here
        return None

    @staticmethod
    def _replay(body: bytes, receive):
        """Return a `receive` that delivers the buffered body once, then passes on to the server."""
        delivered = False

        async def replay_receive():
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return replay_receive

    async def _reject(self, scope, send, size: int, close: bool) -> None:
        message = f"request body is larger than the limit of {self.max_bytes} bytes; send fewer beats per request"
        log.warning("rejected %s %s with 413: body of %d bytes or more", scope.get("method"), scope.get("path"), size)
        await send_json_error(send, 413, "body_too_large", "body", message, close=close)


class JsonOnly:
    """Reject POST requests to `paths` whose Content-Type is not JSON with a 415 JSON error.

    BentoML picks the body parser from the Content-Type, and a JSON body sent as multipart/form-data
    makes BentoML 1.4.40 return 500. A request without a Content-Type is parsed as JSON.
    """

    def __init__(self, app, paths: tuple[str, ...]) -> None:
        self.app = app
        self.paths = paths

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and scope.get("method") == "POST" and scope.get("path") in self.paths:
            media_type = ""
            for name, value in scope.get("headers", []):
                if name == b"content-type":
                    media_type = value.decode("latin-1").split(";")[0].strip().lower()
            if media_type not in ("", "application/json"):
                message = f"Content-Type {media_type} is not supported; send the body as application/json"
                log.warning("rejected POST %s with 415: Content-Type %s", scope["path"], media_type)
                await send_json_error(send, 415, "unsupported_media_type", "Content-Type", message, close=False)
                return
        await self.app(scope, receive, send)


class ValidationErrorSummary:
    """Middleware that rewrites the `error` line of BentoML's 400 validation responses on `paths`.

    BentoML 1.4.40 writes `"error": "2 validation error for PredictRequestIODescriptor"`, which names
    an internal class and no field. The new line lists each entry of `detail` as `field: message`,
    so a client that shows only `error` still shows the user which field is invalid. Other responses
    pass through unchanged.
    """

    def __init__(self, app, paths: tuple[str, ...]) -> None:
        self.app = app
        self.paths = paths

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope.get("path") not in self.paths:
            await self.app(scope, receive, send)
            return

        start = None
        chunks: list[bytes] = []

        async def summarising_send(message) -> None:
            nonlocal start
            if message["type"] == "http.response.start" and message["status"] == 400:
                start = message  # held back until the body is complete, since its length changes
                return
            if start is None or message["type"] != "http.response.body":
                await send(message)
                return

            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                body = summarise_validation_error(b"".join(chunks))
                headers = [(name, value) for name, value in start["headers"] if name != b"content-length"]
                headers.append((b"content-length", str(len(body)).encode()))
                await send({**start, "headers": headers})
                await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, summarising_send)


def summarise_validation_error(body: bytes) -> bytes:
    """Rewrite a validation error body so that `error` lists its `detail` entries; return other bodies as they are."""
    try:
        answer = json.loads(body)
    except ValueError:
        return body
    if not isinstance(answer, dict) or not isinstance(answer.get("detail"), list) or not answer["detail"]:
        return body

    parts = []
    for item in answer["detail"]:
        message = str(item.get("msg", "invalid value"))
        field = ".".join(str(part) for part in item.get("loc") or [])
        parts.append(message if not field or message.startswith(field) else f"{field}: {message}")
    answer["error"] = "; ".join(parts)
    return json.dumps(answer).encode()


async def send_json_error(send, status: int, error_type: str, field: str, message: str, close: bool) -> None:
    """Send a complete JSON error response through an ASGI `send`."""
    body = json.dumps({"error": message, "detail": [{"type": error_type, "loc": [field], "msg": message}]}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
