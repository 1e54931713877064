"""The Resolution explorer: its model (no Panel) and its page in the real browser."""
import json
import os
import re
import time

import pytest

from test_workbench_browser import base_url, browser, page  # noqa: F401  (fixtures)
from workbench.models.resolution import DTS_MS, KINDS, table_rows
from workbench.serving import resolution_store as store
from workbench.serving.resolution import ResolutionExplorer


def test_compare_runs_every_network_at_every_dt_and_probe_checks_its_range():
    model = ResolutionExplorer(epochs=2, seed=5)  # nothing stored for this seed: trains
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
    first = ResolutionExplorer(epochs=2, seed=11)
    first.networks()
    for kind in (*KINDS, "recipes"):
        assert os.path.exists(store.store_path(first.seed, first.epochs, kind)), kind
    store.MEMORY.clear()  # as in a new server process: only what is on disk
    later = ResolutionExplorer(epochs=2, seed=11)
    nets = later.networks()
    assert set(nets) == set(KINDS) and later.progress == 0  # nothing was trained
    assert "loaded the stored run" in later.status
    assert store.store_dir().startswith(os.environ[store.CACHE_ENV])


@pytest.mark.parametrize("kind, change", [
    ("lif-bptt", lambda r: r["config_defaults"].update(slope=2 * r["config_defaults"]["slope"])),
    ("lif-bptt", lambda r: r["training"]["trainer"].update(warmup_ms=5.0)),
    ("lif-ottt", lambda r: r["training"].update(recipe="trained by other code")),
    ("sg-impulses", lambda r: r["task"].update(lr=2 * r["task"]["lr"])),
])
def test_a_run_stored_with_other_settings_is_trained_again_not_served(kind, change):
    """Every network's recipe is compared, the LIF ones included: configuration and training."""
    ResolutionExplorer(epochs=1, seed=12).networks()
    path = store.store_path(12, 1, "recipes")
    with open(path) as f:
        recipes = json.load(f)
    change(recipes[kind])  # as if stored by a version with other settings for this network
    with open(path, "w") as f:
        json.dump(recipes, f)
    store.MEMORY.clear()
    later = ResolutionExplorer(epochs=1, seed=12)
    later.networks()
    assert later.progress == 100 and "loaded" not in later.status  # trained again
    with open(path) as f:
        assert json.load(f)[kind] != recipes[kind]  # and stored with today's recipe


def test_lif_recipe_is_read_from_what_trains_the_lif_networks():
    """The LIF settings are written inside ``train_lif_pattern``: its digest changes with them."""
    import dataclasses

    from engine.baselines import LIFConfig
    from engine.bench.resolution import train_lif_pattern
    explorer = ResolutionExplorer(epochs=1, seed=0)
    recipes = store.run_recipes(explorer.task(), 0, 1)
    assert recipes["lif-ottt"]["training"]["recipe"] == store.code_digest(train_lif_pattern)
    assert recipes["lif-ottt"]["config_defaults"]["slope"] == \
        {f.name: f.default for f in dataclasses.fields(LIFConfig)}["slope"]

    def f():
        return LR * 2  # noqa: F821  (a module constant it reads)
    g = type(f)(f.__code__, {"LR": 0.01})
    h = type(f)(f.__code__, {"LR": 0.02})
    assert store.code_digest(g) != store.code_digest(h)  # a retuned constant counts

    def lr_1(): return dict(lr=1e-2)  # noqa: E704
    def lr_2(): return dict(lr=2e-2)  # noqa: E704
    assert store.code_digest(lr_1) != store.code_digest(lr_2)  # so does a retuned literal


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
