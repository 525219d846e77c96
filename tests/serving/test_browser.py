"""End-to-end tests of the page at /ui/ in real headless Chromium against the real service on loopback.

Chromium and ChromeDriver are Debian's (`apt-get install chromium chromium-driver`, done by .ci/run);
Selenium gets both paths, so it never downloads a browser or a driver. Screenshots go to the
git-ignored folder screenshots/.
"""

import csv
import json
import shutil
import urllib.request
import uuid
from pathlib import Path

import pandas as pd
import pytest

from serving.i18n import TEXTS

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
TEST_CSV = ROOT / "data" / "test.csv"
SCREENSHOTS = ROOT / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
WAIT_S = 60
# Flags for a closed network: without the background-networking ones Chromium keeps opening
# connections that this machine refuses.
CHROMIUM_FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,2000",
]


def make_driver(accept_language: str, download_dir: Path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    for path in (CHROMIUM, CHROMEDRIVER):
        if not shutil.which(path):
            pytest.fail(f"{path} not found: install Debian's chromium and chromium-driver (see .ci/run)")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={download_dir.parent / ('profile-' + uuid.uuid4().hex)}")
    options.add_argument(f"--lang={accept_language.split(',')[0]}")
    options.add_experimental_option(
        "prefs",
        {
            "intl.accept_languages": accept_language,
            "download.default_directory": str(download_dir),
            "download.prompt_for_download": False,
        },
    )
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


@pytest.fixture
def browser(tmp_path: Path):
    """Return a function that starts Chromium with an Accept-Language; every started browser is quit."""
    drivers = []

    def start(accept_language: str = "ru-RU,ru"):
        driver = make_driver(accept_language, tmp_path / "downloads")
        drivers.append(driver)
        return driver

    yield start
    for driver in drivers:
        driver.quit()


def wait_for(driver, condition, message: str):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, WAIT_S).until(condition, message=message)


def open_page(driver, server_url: str) -> None:
    from selenium.webdriver.common.by import By

    driver.get(f"{server_url}/ui/")
    wait_for(driver, lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "true", "page not ready")


def upload(driver, path: Path) -> None:
    """Choose `path` in the file input, submit, and wait until the result or an error is shown."""
    from selenium.webdriver.common.by import By

    driver.find_element(By.ID, "file-input").send_keys(str(path))
    driver.find_element(By.ID, "upload-button").click()

    def finished(d) -> bool:
        return d.find_element(By.ID, "result").get_attribute("data-file") == path.name or d.find_element(By.ID, "error").is_displayed()

    wait_for(driver, finished, f"no result or error for {path.name}")


def text_of(driver, element_id: str) -> str:
    from selenium.webdriver.common.by import By

    return driver.find_element(By.ID, element_id).text


def switch_language(driver, language: str) -> None:
    from selenium.webdriver.common.by import By

    driver.find_element(By.CSS_SELECTOR, f'.language-button[data-language="{language}"]').click()
    wait_for(driver, lambda d: d.find_element(By.TAG_NAME, "html").get_attribute("lang") == language, "language not switched")


def screenshot(driver, name: str) -> Path:
    from selenium.webdriver.common.by import By

    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    driver.find_element(By.TAG_NAME, "body").screenshot(str(path))
    return path


def post_file(server_url: str, path: Path) -> dict:
    """Send `path` to POST /predict_file as the page does and return the parsed response body."""
    boundary = uuid.uuid4().hex
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{path.name}"\r\n'
        f"Content-Type: text/plain\r\n\r\n"
    ).encode() + path.read_bytes() + f"\r\n--{boundary}--\r\n".encode()
    request = urllib.request.Request(
        f"{server_url}/predict_file", data=body, headers={"Content-Type": f"multipart/form-data; boundary={boundary}"}
    )
    with urllib.request.urlopen(request, timeout=WAIT_S) as response:
        return json.loads(response.read())


def recording_from_test_csv(recording_id: int) -> pd.DataFrame:
    beats = pd.read_csv(TEST_CSV)
    return beats[beats["id"] == recording_id]


def write_seconds_column(path: Path, rr_ms: pd.Series) -> Path:
    """Write R-R intervals as an HRV app exports them: one value in seconds per line, decimal comma, no header."""
    lines = [f"{value / 1000:.3f}".replace(".", ",") for value in rr_ms]
    path.write_text("\r\n".join(lines) + "\r\n")
    return path


def test_page_seconds_file_ru_then_en(server_url: str, browser, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    path = write_seconds_column(tmp_path / "hrv-export.txt", recording_from_test_csv(9)["x"])
    expected = post_file(server_url, path)["recordings"][0]
    driver = browser("ru-RU,ru;q=0.9")
    open_page(driver, server_url)
    assert driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == "ru"

    upload(driver, path)
    chart = driver.find_element(By.ID, "chart")
    wait_for(driver, lambda d: chart.get_attribute("data-beats") == str(len(expected["x"])), "chart not drawn")
    diagnosis = "diagnosis.anomaly" if expected["diagnosis"] else "diagnosis.normal"
    assert text_of(driver, "diagnosis") == TEXTS["ru"][diagnosis]
    assert text_of(driver, "file-converted") == TEXTS["ru"]["result.converted"]
    assert len(chart.find_elements(By.CSS_SELECTOR, ".episode-mark")) == expected["episodes"]
    screenshot(driver, "browser-seconds-ru")

    switch_language(driver, "en")
    assert text_of(driver, "diagnosis") == TEXTS["en"][diagnosis]
    assert text_of(driver, "file-converted") == TEXTS["en"]["result.converted"]
    assert driver.find_element(By.TAG_NAME, "h1").text == TEXTS["en"]["page.title"]
    screenshot(driver, "browser-seconds-en")


def test_page_english_from_accept_language(server_url: str, browser) -> None:
    from selenium.webdriver.common.by import By

    driver = browser("en-US,en;q=0.9")
    open_page(driver, server_url)

    assert driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en"
    assert driver.find_element(By.TAG_NAME, "h1").text == TEXTS["en"]["page.title"]
    assert driver.find_element(By.ID, "upload-button").text == TEXTS["en"]["upload.button"]


@pytest.mark.parametrize(("beats", "name"), [(30, "browser-30-beats"), (5000, "browser-5000-beats")])
def test_page_chart_at_both_scales(server_url: str, browser, tmp_path: Path, beats: int, name: str) -> None:
    from selenium.webdriver.common.by import By

    # 5,000 beats are more than any one test recording has, so the single column joins several.
    rr_ms = pd.read_csv(TEST_CSV)["x"].iloc[:beats]
    path = tmp_path / f"{name}.csv"
    path.write_text("RR\n" + "\n".join(str(value) for value in rr_ms) + "\n")
    expected = post_file(server_url, path)["recordings"][0]
    driver = browser()
    open_page(driver, server_url)

    upload(driver, path)
    chart = driver.find_element(By.ID, "chart")
    wait_for(driver, lambda d: chart.get_attribute("data-beats") == str(beats), "chart not drawn")
    assert len(chart.find_elements(By.CSS_SELECTOR, ".episode-mark")) == expected["episodes"]
    assert text_of(driver, "file-converted") == ""
    chart_file = SCREENSHOTS / f"{name}-chart.png"
    screenshot(driver, name)
    driver.find_element(By.ID, "recording").screenshot(str(chart_file))


def test_page_rejected_file_message(server_url: str, browser, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    path = tmp_path / "image.csv"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    driver = browser()
    open_page(driver, server_url)

    upload(driver, path)
    error = driver.find_element(By.ID, "error")
    assert error.get_attribute("data-code") == "not_text"
    assert error.text == TEXTS["ru"]["error.not_text"]
    assert not driver.find_element(By.ID, "result").is_displayed()
    switch_language(driver, "en")
    assert error.text == TEXTS["en"]["error.not_text"]


def test_page_csv_download(server_url: str, browser, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    recording = recording_from_test_csv(105)
    path = tmp_path / "recording-105.csv"
    recording.to_csv(path, index=False)
    expected = post_file(server_url, path)["recordings"][0]
    driver = browser()
    open_page(driver, server_url)
    upload(driver, path)

    driver.find_element(By.ID, "download-button").click()
    download = tmp_path / "downloads" / "recording-105-cardiospike.csv"
    wait_for(driver, lambda d: download.exists() and download.stat().st_size > 0, "CSV not downloaded")
    with download.open(newline="") as handle:
        rows = list(csv.DictReader(handle))

    assert list(rows[0]) == ["id", "time", "x", "y", "probability", "artifact"]
    assert [int(row["time"]) for row in rows] == recording["time"].tolist()
    assert [int(row["x"]) for row in rows] == recording["x"].tolist()
    assert [int(row["y"]) for row in rows] == expected["predictions"]
    assert [int(row["artifact"]) for row in rows] == expected["artifact"]
    assert {row["id"] for row in rows} == {"105"}
