"""The Resolution explorer: its model (no Panel) and its page in the real browser."""
import os
import re
import time

import pytest

from test_workbench_browser import base_url, browser, page  # noqa: F401  (fixtures)
from workbench.resolution_model import DTS_MS, KINDS, ResolutionModel, store_path, table_rows


def test_compare_runs_every_network_at_every_dt_and_probe_checks_its_range():
    model = ResolutionModel(epochs=2, seed=5)  # nothing stored for this seed: trains
    res = model.compare()
    assert model.progress == 100
    assert set(res["dts"]) == set(KINDS) == {"sg-spatial", "sg-impulses", "lif-bptt", "lif-ottt"}
    for per_dt in res["dts"].values():
        assert list(per_dt) == [f"{d:g}" for d in DTS_MS]
    assert len(table_rows(res)) == 4 * len(DTS_MS)
    areas = {dt: float(k["values"].sum(0)[0]) * float(dt) for dt, k in res["kernels"].items()}
    assert max(areas.values()) / min(areas.values()) < 1.01  # kernels in ms, at every dt
    probe = model.probe(0.3)
    assert probe["sg-spatial"]["dt_ms"] == 0.3 and set(probe) == set(KINDS)
    nets = model.networks()  # the impulse network is the same but for the input synapse
    assert nets["sg-impulses"].cfg == nets["sg-spatial"].cfg.replace(input_synapse_ms=0.0)
    assert nets["sg-spatial"].cfg.input_synapse_ms > 0
    with pytest.raises(ValueError, match="test dt_ms"):
        model.probe(3.0)


def test_a_trained_run_is_stored_and_loads_without_training():
    """The first run of a seed trains and stores; a later session loads it from the cache
    folder (tests: a session-wide temporary one, see conftest)."""
    import workbench.resolution_model as rm
    first = ResolutionModel(epochs=2, seed=11)
    first.networks()
    for kind in KINDS:
        assert os.path.exists(store_path(first.seed, first.epochs, kind)), kind
    later = ResolutionModel(epochs=2, seed=11)
    nets = later._load_stored()
    assert nets is not None and later.progress == 0  # nothing was trained
    assert "loaded the stored run" in later.status
    assert rm.store_dir().startswith(os.environ[rm.CACHE_ENV])


@pytest.mark.browser
def test_explorer_draws_a_result_unasked_and_the_test_dt_slider_reruns(page, base_url):  # noqa: F811
    page.goto(f"{base_url}/resolution", timeout=90000)
    table, probe = page.locator(".wb-table"), page.locator(".wb-probe")
    # drawn without pressing anything: the first run of seed 0 trains (a progress bar), then runs
    _wait(page, lambda: "lif-ottt" in _text(table), 600)
    text = _text(table)
    assert "sg-spatial" in text and "sg-impulses" in text and "lif-bptt" in text
    assert "3/3" in text  # SpikingGamma at 1 ms
    assert "trained 150 epochs at dt = 1 ms" in _text(page.locator(".wb-status"))
    _wait(page, lambda: "test dt = 0.05" in _text(probe), 120)  # SpikingGamma first
    _wait(page, lambda: "LIF-OTTT" in _text(probe), 180)  # then the LIF networks; the slider frees
    page.wait_for_timeout(1000)  # the slider is enabled on the next poll (200 ms)
    handle = page.locator(".wb-test-dt .noUi-handle")
    handle.focus()
    for _ in range(5):  # 0.05 → 0.3 ms
        page.keyboard.press("ArrowRight")
    _wait(page, lambda: "test dt = 0.3" in _text(probe), 120)
    assert re.search(r"0\.3 \(test\)", _text(table))
    page.screenshot(path="artifacts/screenshots/resolution_explorer.png", full_page=True)
    assert page.errors == []


def _text(locator) -> str:
    """Text of a Panel component, whose content lives in its shadow root."""
    return locator.evaluate("e => (e.shadowRoot || e).textContent") if locator.count() else ""


def _wait(pg, cond, timeout_s):
    deadline = time.time() + timeout_s
    while not cond():
        assert time.time() < deadline, "timed out"
        pg.wait_for_timeout(250)
