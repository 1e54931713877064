"""Real-browser tests: the workbench served in-process, driven through headless /usr/bin/chromium."""
import os
import re
import time

import pytest

pytestmark = pytest.mark.browser
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SHOTS = "artifacts/screenshots"
IGNORED = ("GL Driver Message", "WebGL")  # chromium's software-GL performance notes


@pytest.fixture(scope="module")
def base_url():
    if not os.path.exists(CHROMIUM):
        pytest.skip("no /usr/bin/chromium")
    from workbench.app import free_port, serve
    port = free_port()
    server = serve(port=port, threaded=True)
    time.sleep(1.5)
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    ctx = browser.new_context(viewport={"width": 1500, "height": 1100}, accept_downloads=True)
    pg = ctx.new_page()
    pg.errors = []
    pg.on("console", lambda m: m.type == "error" and not any(i in m.text for i in IGNORED)
          and pg.errors.append(m.text))
    pg.on("pageerror", lambda e: pg.errors.append(str(e)))
    yield pg
    ctx.close()


def _text(page, selector):
    """Text of a Panel component, whose content lives in its shadow root."""
    return page.locator(selector).evaluate("e => (e.shadowRoot || e).textContent")


def _status(page):
    return _text(page, ".wb-status")


def _epoch(page):
    m = re.search(r"epoch (\d+)", _status(page))
    return int(m.group(1)) if m else -1


def _loss(page):
    m = re.search(r"loss ([0-9.e+-]+)", _status(page))
    return float(m.group(1)) if m else None


def _wait(page, cond, timeout=60):
    deadline = time.time() + timeout
    while not cond():
        assert time.time() < deadline, _status(page)
        page.wait_for_timeout(200)


@pytest.mark.parametrize("name", ["trainer", "neuron", "resolution"])
def test_pages_load_without_console_errors(page, base_url, name):
    page.goto(f"{base_url}/{name}")
    page.wait_for_selector("canvas", timeout=30000)
    page.wait_for_timeout(1500)
    os.makedirs(SHOTS, exist_ok=True)
    page.screenshot(path=f"{SHOTS}/{name}.png", full_page=True)
    assert page.errors == []


def test_root_redirects_to_trainer(page, base_url):
    page.goto(base_url + "/")
    page.wait_for_url(re.compile(r".*/trainer.*"), timeout=15000)


def test_bad_link_shows_a_message_and_keeps_defaults(page, base_url):
    page.goto(f"{base_url}/trainer?dt=abc&hidden=-3&seed=7&preset=nope")
    page.wait_for_selector(".wb-error", timeout=30000)
    _wait(page, lambda: "Invalid link" in _text(page, ".wb-error"))
    text = _text(page, ".wb-error")
    assert "dt" in text and "hidden" in text and "preset" in text
    assert "--seed 7" in _text(page, ".wb-command")  # the valid part of the link is kept
    assert page.errors == []


def test_train_dt_pause_resume_reset_url_and_exports(page, base_url, tmp_path):
    page.goto(f"{base_url}/trainer?preset=pattern&seed=0")
    page.wait_for_selector(".wb-play button", timeout=30000)
    page.locator(".wb-play button").click()
    _wait(page, lambda: _epoch(page) >= 1)
    first = _loss(page)
    # the loss goes down (not monotonically: wait for it to fall well below the first reading)
    _wait(page, lambda: (_loss(page) or first) < 0.7 * first)
    # move the dt slider while it trains: training continues at the new dt
    handle = page.locator(".wb-dt-ms .noUi-handle")
    handle.focus()
    for _ in range(10):  # 10 steps of 0.05 ms: 1 → 0.5 ms
        page.keyboard.press("ArrowLeft")
    _wait(page, lambda: "dt 0.5 ms" in _status(page))
    at = _epoch(page)
    _wait(page, lambda: _epoch(page) > at)
    # pause, then nothing moves; resume; reset
    page.locator(".wb-pause button").click()
    _wait(page, lambda: "paused" in _status(page))
    page.wait_for_timeout(1500)  # an epoch that was finishing when Pause came is shown by now
    paused = _epoch(page)
    page.wait_for_timeout(1500)
    assert _epoch(page) == paused and "paused" in _status(page)
    page.locator(".wb-play button").click()
    _wait(page, lambda: _epoch(page) > paused)
    page.locator(".wb-pause button").click()
    # exports: PNG and a recording that load again
    with page.expect_download(timeout=60000) as dl:
        page.locator(".wb-dl-png button").click()
    png = tmp_path / "fig.png"
    dl.value.save_as(png)
    assert png.read_bytes()[:4] == b"\x89PNG"
    with page.expect_download(timeout=60000) as dl:
        page.locator(".wb-dl-recording button").click()
    nc = tmp_path / "rec.nc"
    dl.value.save_as(nc)
    import xarray as xr
    ds = xr.open_dataset(nc)
    assert ds.attrs["dt_ms"] == 0.5 and "hidden_spikes" in ds
    page.locator(".wb-reset button").click()
    _wait(page, lambda: _epoch(page) == 0)
    # reload the URL: same settings back (dt moved to 0.5 and the seed are in the query string)
    url = page.url
    assert "dt=0.5" in url and "seed=0" in url
    page.goto(url)
    page.wait_for_selector(".wb-dt-ms", timeout=30000)
    page.wait_for_timeout(500)
    assert "0.5" in _text(page, ".wb-dt-ms")
    assert page.errors == []
