"""End to end: `funnelsim app` in a subprocess, driven by headless Chromium through Selenium.

Skips when Chromium, its driver, Selenium or the app extra is missing. The screenshot is saved in
the test's tmp folder, and also to $FUNNELSIM_APP_SCREENSHOT when that is set.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

import funnelsim

pytest.importorskip("starlette", reason="the app extra is not installed")
pytest.importorskip("uvicorn", reason="the app extra is not installed")
webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
CHROMEDRIVER = "/usr/bin/chromedriver"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if not (Path(CHROMEDRIVER).exists() and CHROMIUM):
    pytest.skip("Chromium and chromium-driver are not installed", allow_module_level=True)

from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

REPS, SEED = 4, 11
SMALL = "extends: baseline\nname: small\nhorizon: 120d\nwarmup: 14d\n"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def page(tmp_path: Path):
    scenario = tmp_path / "small.yaml"
    scenario.write_text(SMALL)
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "funnelsim.cli", "app", str(scenario), "--no-browser", "--port", str(port)]
        + ["--reps", str(REPS), "--seed", str(SEED)],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its worker processes share its group, which teardown stops as a whole
    )
    address = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                pytest.fail(f"the app did not start: {server.stdout.read() if server.stdout else ''}")
            time.sleep(0.2)
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1500,1300",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=webdriver.ChromeService(executable_path=CHROMEDRIVER), options=options)
    try:
        driver.get(address)
        yield driver, address, scenario
    finally:
        driver.quit()
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGKILL)  # any worker the server left behind


def _wait_for_figures(driver, previous_request: str | None) -> str:
    """Wait until the page shows a result newer than `previous_request`; return its request id."""

    def current(d):
        shown = d.find_element(By.ID, "results").get_attribute("data-request")
        status = d.find_element(By.ID, "status").text
        return shown if shown not in (None, "pending", previous_request) and status.startswith("up to date") else False

    return WebDriverWait(driver, 30, poll_frequency=0.1).until(current)


def test_the_page_re_simulates_a_what_if_and_shows_the_schema_message(page, tmp_path: Path):
    driver, address, scenario = page
    first = _wait_for_figures(driver, None)
    base = funnelsim.run(str(scenario), REPS, SEED, executor="serial")
    card = driver.find_element(By.CSS_SELECTOR, '.card[data-figure="customers"]')
    assert float(card.get_attribute("data-value")) == base.figure("customers")[0]

    sdr = driver.find_element(By.NAME, "sdr_count")
    sdr.clear()
    sdr.send_keys("3")
    assert driver.find_element(By.ID, "status").text == "updating…"
    _wait_for_figures(driver, first)
    expected = funnelsim.run(str(scenario), REPS, SEED, overrides=["sales.sdr.count=3"], executor="serial")
    card = driver.find_element(By.CSS_SELECTOR, '.card[data-figure="customers"]')
    assert float(card.get_attribute("data-value")) == expected.figure("customers")[0]
    customers = expected.figure("customers")[0]
    assert card.find_element(By.CLASS_NAME, "value").text == (
        f"{customers:,.0f}" if customers >= 100 else f"{customers:.1f}"
    )
    assert "--set 'sales.sdr.count=3'" in driver.find_element(By.ID, "command").text

    driver.set_window_size(1500, driver.execute_script("return document.body.scrollHeight") + 40)
    shot = tmp_path / "app-screenshot.png"
    driver.save_screenshot(str(shot))
    assert shot.stat().st_size > 10_000
    if os.environ.get("FUNNELSIM_APP_SCREENSHOT"):
        shutil.copy(shot, os.environ["FUNNELSIM_APP_SCREENSHOT"])

    driver.find_element(By.ID, "report").click()  # the HTML report of the settings on the page
    message = WebDriverWait(driver, 60, poll_frequency=0.2).until(
        lambda d: (
            d.find_element(By.ID, "report-message").text
            if d.find_element(By.ID, "report-message").text.startswith("report written")
            else False
        )
    )
    assert message == f"report written to {(tmp_path / 'whatif.html').resolve()}"
    report = (tmp_path / "whatif.html").read_text(encoding="utf-8")
    assert "--set sales.sdr.count=3" in report and report.count("data:image/png;base64,") >= 5

    sdr.clear()
    sdr.send_keys("0")
    with pytest.raises(funnelsim.ScenarioError) as schema:
        funnelsim.load_scenario(str(scenario), {"sales.sdr.count": 0})
    shown = WebDriverWait(driver, 10).until(lambda d: d.find_element(By.ID, "error-sdr_count").text or False)
    assert shown == str(schema.value)
    assert "fix the value" in driver.find_element(By.ID, "status").text
    assert "stale" in driver.find_element(By.ID, "results").get_attribute("class")

    fetched = driver.execute_script(
        "return performance.getEntriesByType('navigation').concat(performance.getEntriesByType('resource'))"
        ".map(e => e.name)"
    )
    assert fetched and all(name.startswith(address) for name in fetched), fetched
