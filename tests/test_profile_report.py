"""``report.html`` in a real headless browser (Debian's chromium through chromedriver): the plots render,
nothing is logged to the console, nothing is fetched from the network, the slowest requests link to their
traces, and a screenshot is produced."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from otelagents.profile import Endpoint, Profile, parse_slo
from otelagents.profile._report import PLOT_IDS, SLOWEST_ROWS, write_report
from otelagents.telemetry._metrics import MetricsEngine
from otelagents.telemetry._observer import Telemetry
from otelagents.testing.server import OpenAICompatServer, Reply
from tests.profile_helpers import keyed_responder, prompts_file, run_profile

pytestmark = pytest.mark.timeout(180)

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
TEMPLATE = "http://127.0.0.1:3000/explore?traceId={trace_id}"
LEVELS = (1, 3)
REQUESTS = 6


def require_browser() -> None:
    """Skip without Debian's chromium and chromedriver, unless CI=true, where their absence fails."""
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if not shutil.which(path)]
    if not missing:
        return
    message = f"{' and '.join(missing)} not installed: apt-get install chromium chromium-driver"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{message}; CI=true requires it")
    pytest.skip(message)


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    require_browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     "--no-first-run", "--window-size=1400,1800", f"--user-data-dir={tmp_path / 'chromium'}"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # An explicit driver path: selenium must never download a browser or a driver.
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


def reply(i: int) -> Reply:
    if i == 2:  # stalls, then the server drops it: the slowest request, and a failed one
        return Reply.fault("stall", stall_seconds=0.8)
    return Reply.long(8, ttft=0.01 + 0.01 * i, gap=0.002 + 0.001 * i)


@pytest.fixture
def profiled(tmp_path: Path) -> Profile:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    telemetry = Telemetry(tracer_provider=provider, metrics=MetricsEngine())
    with OpenAICompatServer(responder=keyed_responder(reply)) as server:
        return run_profile(prompts_file(tmp_path, REQUESTS), Endpoint(base_url=server.base_url, model="gpt-test"),
                           [telemetry], concurrency=LEVELS, requests=REQUESTS, slo=parse_slo("ttft=0.04"), warmup=1)


def _plots(driver: Any) -> list[dict[str, Any]]:
    script = """return Array.from(document.querySelectorAll('.plotly-graph-div')).map(function (e) { return {
        id: e.id, svgs: e.querySelectorAll('.main-svg').length, traces: (e.data || []).length,
        boxes: e.querySelectorAll('g.trace.boxes path.box').length,
        lines: e.querySelectorAll('g.trace.scatter path.js-line').length,
        width: e.getBoundingClientRect().width, parent: e.parentElement.getBoundingClientRect().width}; });"""
    result: list[dict[str, Any]] = driver.execute_script(script)
    return result


def test_report_renders_in_chromium(browser: Any, profiled: Profile, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    path = write_report(tmp_path / "out", profiled, TEMPLATE)
    browser.get(path.as_uri())
    WebDriverWait(browser, 60, poll_frequency=0.2).until(
        lambda d: len(_plots(d)) == len(PLOT_IDS) and all(p["svgs"] > 0 for p in _plots(d)))
    WebDriverWait(browser, 10).until(lambda d: d.execute_script("return document.readyState") == "complete")

    severe = [entry for entry in browser.get_log("browser") if entry["level"] in ("SEVERE", "ERROR")]
    assert severe == []
    fetched = browser.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    assert fetched == []  # plotly.js is inlined: the page needs no network

    plots = {p["id"]: p for p in _plots(browser)}
    assert list(plots) == list(PLOT_IDS)
    for plot_id in ("ttft-distribution", "itl-distribution"):
        assert plots[plot_id]["traces"] == len(LEVELS) and plots[plot_id]["boxes"] == len(LEVELS)
    assert plots["latency-vs-concurrency"]["traces"] == 7 and plots["latency-vs-concurrency"]["lines"] == 7
    assert plots["throughput-vs-concurrency"]["traces"] == 2 and plots["throughput-vs-concurrency"]["lines"] == 2
    for plot in plots.values():  # each plot fits its card (none drawn at the width of the whole page)
        assert plot["width"] <= plot["parent"]

    results = browser.find_elements(By.CSS_SELECTOR, "#results tbody tr")
    assert [row.find_elements(By.TAG_NAME, "td")[0].text for row in results] == [str(c) for c in LEVELS]
    slow_rows = browser.find_elements(By.CSS_SELECTOR, "#slowest tbody tr")
    expected = sorted(profiled.records, key=lambda r: r["e2e_s"], reverse=True)[:SLOWEST_ROWS]
    assert len(slow_rows) == len(expected) == min(SLOWEST_ROWS, len(LEVELS) * REQUESTS)
    links = [a.get_attribute("href") for a in browser.find_elements(By.CSS_SELECTOR, "#slowest a")]
    assert links == [TEMPLATE.format(trace_id=r["trace_id"]) for r in expected]
    errors = [row.find_element(By.CSS_SELECTOR, "td.error").text for row in slow_rows]
    assert errors == [r["error"] or "" for r in expected]
    assert errors[:2] == ["ModelBehaviorError"] * 2  # the stalled request, at both levels

    screenshot = tmp_path / "report.png"
    assert browser.save_screenshot(str(screenshot))
    data = screenshot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000  # a picture with plots in it, not a blank page


def test_report_without_trace_template_shows_plain_ids(browser: Any, profiled: Profile, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    path = write_report(tmp_path / "plain", profiled)
    browser.get(path.as_uri())
    cells = browser.find_elements(By.CSS_SELECTOR, "#slowest td.trace")
    assert cells and browser.find_elements(By.CSS_SELECTOR, "#slowest a") == []
    assert all(len(cell.text) == 32 for cell in cells)


def test_compare_page_renders_both_runs_in_chromium(browser: Any, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from otelagents._scenarios import Pace
    from otelagents.profile._compare_report import COMPARE_PLOT_IDS, write_compare

    fast = Endpoint(pace=Pace.none())
    a = run_profile("text", fast, concurrency=(1, 3), requests=3)
    b = run_profile("text", fast, concurrency=(1, 3, 5), requests=3)  # B ran one level more
    path = write_compare(tmp_path / "cmp", a, b, "runs/a", "runs/b")
    browser.get(path.as_uri())
    WebDriverWait(browser, 60, poll_frequency=0.2).until(
        lambda d: len(_plots(d)) == len(COMPARE_PLOT_IDS) and all(p["svgs"] > 0 for p in _plots(d)))
    WebDriverWait(browser, 10).until(lambda d: d.execute_script("return document.readyState") == "complete")

    severe = [entry for entry in browser.get_log("browser") if entry["level"] in ("SEVERE", "ERROR")]
    assert severe == []
    assert browser.execute_script("return performance.getEntriesByType('resource').map(e => e.name)") == []

    plots = {p["id"]: p for p in _plots(browser)}
    assert list(plots) == list(COMPARE_PLOT_IDS)
    for plot_id in ("ttft-compare", "itl-compare", "e2e-compare"):  # p50 and p99 for A and for B
        assert plots[plot_id]["traces"] == 4 and plots[plot_id]["lines"] == 4, plots[plot_id]
    assert plots["throughput-compare"]["traces"] == 2 and plots["throughput-compare"]["lines"] == 2
    for plot in plots.values():
        assert plot["width"] <= plot["parent"]
    points = browser.execute_script(
        "return document.getElementById('throughput-compare').data.map(t => [t.name, t.x.length]);")
    assert points == [["A output tokens/s", 2], ["B output tokens/s", 3]]  # every level of each run is drawn

    meta = browser.find_element(By.ID, "runs").text
    assert "A runs/a" in meta and "B runs/b" in meta
    rows = [[cell.text for cell in row.find_elements(By.TAG_NAME, "td")]
            for row in browser.find_elements(By.CSS_SELECTOR, "#compare tbody tr")]
    assert {row[0] for row in rows} == {"1", "3"}  # only the levels both ran are compared
    ttft = next(row for row in rows if row[:2] == ["3", "TTFT p50 ms"])
    assert ttft[2:4] == [f"{a.runs[1]['ttft_s']['p50'] * 1000:,.1f}", f"{b.runs[1]['ttft_s']['p50'] * 1000:,.1f}"]
    screenshot = tmp_path / "compare.png"
    assert browser.save_screenshot(str(screenshot)) and screenshot.stat().st_size > 20_000
