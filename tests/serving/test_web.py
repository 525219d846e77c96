"""Tests of the page app (serving.web) and the sample picker (serving.samples) without a model."""

import asyncio
import json
from pathlib import Path

import httpx
import pandas as pd
import pytest

from serving.i18n import TEXTS
from serving.recording_file import FileLimits, parse_recording_file
from serving.samples import INDEX_FILE, pick_samples
from serving.web import create_app


@pytest.fixture
def source_csv(tmp_path: Path) -> Path:
    """A made-up test set: recordings of 5, 60, 140, 700 and 900 beats."""
    frames = []
    for recording_id, beats in [(1, 5), (2, 60), (3, 140), (4, 700), (5, 900)]:
        x = [800 + (beat % 7) * 10 for beat in range(beats)]
        time = pd.Series(x).cumsum() - x[0]
        frames.append(pd.DataFrame({"id": recording_id, "time": time, "x": x}))
    path = tmp_path / "test.csv"
    pd.concat(frames).to_csv(path, index=False)
    return path


def test_pick_samples_lengths(source_csv: Path, tmp_path: Path) -> None:
    index = pick_samples(source_csv, tmp_path / "samples")

    assert [item["beats"] for item in index] == [60, 140, 700, 900]
    assert [item["name"] for item in index] == ["recording-2.csv", "recording-3.csv", "recording-4.csv", "recording-5.csv"]
    assert json.loads((tmp_path / "samples" / INDEX_FILE).read_text()) == index


def test_pick_samples_files_parse(source_csv: Path, tmp_path: Path) -> None:
    index = pick_samples(source_csv, tmp_path / "samples")

    for item in index:
        recording = parse_recording_file((tmp_path / "samples" / item["name"]).read_bytes())
        assert recording.layout == "id,time,x"
        assert len(recording.beats) == item["beats"]
        assert recording.beats["x"].sum() == item["duration_ms"]


def test_pick_samples_fewer_recordings(tmp_path: Path) -> None:
    path = tmp_path / "test.csv"
    path.write_text("id,time,x\n1,0,800\n2,0,700\n")

    index = pick_samples(path, tmp_path / "samples")

    assert sorted(item["id"] for item in index) == ["1", "2"]


class AsgiClient:
    """Send requests straight to an ASGI app through httpx, with no server and no socket."""

    def __init__(self, app) -> None:
        self.app = app

    def get(self, path: str, headers: dict | None = None) -> httpx.Response:
        async def send() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://ui.test") as client:
                response = await client.get(path, headers=headers)
                await response.aread()
                return response

        return asyncio.run(send())


@pytest.fixture
def client(source_csv: Path, tmp_path: Path) -> AsgiClient:
    pick_samples(source_csv, tmp_path / "samples")
    app = create_app(samples_dir=tmp_path / "samples", limits=FileLimits(max_bytes=1_000_000, max_rows=500))
    return AsgiClient(app)


@pytest.mark.parametrize(
    ("accept_language", "expected"),
    [(None, "ru"), ("en-US,en;q=0.9", "en"), ("ru-RU,ru", "ru"), ("de-DE", "ru")],
)
def test_texts_language_from_header(client: AsgiClient, accept_language: str | None, expected: str) -> None:
    headers = {"Accept-Language": accept_language} if accept_language else {}
    response = client.get("/texts.json", headers=headers)

    assert response.status_code == 200
    assert response.json()["language"] == expected
    assert response.headers["vary"] == "Accept-Language"


def test_texts_contents(client: AsgiClient) -> None:
    body = client.get("/texts.json").json()

    assert body["texts"] == TEXTS
    assert body["languages"] == ["ru", "en"]
    assert body["limits"] == {"max_bytes": 1_000_000, "max_rows": 500}


def test_page_and_static_files(client: AsgiClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert 'src="chart.js"' in page.text
    assert 'src="app.js"' in page.text
    for name in ("app.js", "chart.js", "style.css"):
        assert client.get(f"/{name}").status_code == 200


def test_page_references_no_other_host(client: AsgiClient) -> None:
    for name in ("", "app.js", "chart.js", "style.css"):
        text = client.get(f"/{name}").text
        assert "http://" not in text.replace("http://www.w3.org/2000/svg", "")
        assert "https://" not in text
        assert "//cdn" not in text


def test_sample_index_and_file(client: AsgiClient) -> None:
    index = client.get("/samples.json").json()
    assert len(index) == 4

    response = client.get(f"/samples/{index[0]['name']}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.text.startswith("id,time,x\n")


@pytest.mark.parametrize("name", ["absent.csv", "..%2Fparams.yaml", "index.json", "recording-2.txt"])
def test_sample_file_not_found(client: AsgiClient, name: str) -> None:
    response = client.get(f"/samples/{name}")

    assert response.status_code == 404


def test_sample_index_without_samples(tmp_path: Path) -> None:
    client = AsgiClient(create_app(samples_dir=tmp_path / "none"))

    assert client.get("/samples.json").json() == []
