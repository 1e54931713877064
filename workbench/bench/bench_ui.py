"""Browser benchmark: plot updates per second with a 100-neuron × 1000-step raster, and pause
latency of the training thread. Prints figures; asserts nothing about wall-clock time.

    python -m workbench.bench.bench_ui [--memory]
    python -m workbench.bench.bench_ui --sessions 1 10 30    # classroom load test (bench_load.py)
"""
from __future__ import annotations

import time

import numpy as np


def pause_latency(n: int = 5) -> list[float]:
    """Seconds from pause() until the training thread stops inside a running epoch."""
    from ..serving.session import TrainerSession

    m, out = TrainerSession(dt_ms=0.1), []
    try:
        for _ in range(n):
            m.play()
            time.sleep(1.5)
            start = time.perf_counter()
            m.pause()
            while m.training and m._interrupt.is_set():  # cleared once the loop is idle
                time.sleep(0.001)
            out.append(time.perf_counter() - start)
    finally:
        m.stop()
    return out


def plot_updates_per_second(seconds: float = 10.0) -> tuple[float, float]:
    """Serve a page with one 100×1000 raster fed by a Pipe as fast as the session can push;
    returns (server pushes per second, document patches the browser received per second: Bokeh
    ``PATCH-DOC`` messages on the page's websocket, counted in the browser by Playwright)."""
    import holoviews as hv
    import panel as pn
    from holoviews.streams import Pipe
    from playwright.sync_api import sync_playwright

    from ..app import free_port
    from ..pages.plots import hidden_raster

    rng = np.random.default_rng(0)
    counter = {"sent": 0}

    def app():
        pipe = Pipe(data={})
        pane = pn.pane.HoloViews(hv.DynamicMap(lambda data: hidden_raster(data or {}), streams=[pipe]))

        def push():
            t, n = np.nonzero(rng.random((1000, 100)) < 0.05)
            pipe.send({"hidden_raster": {"time_ms": t * 1.0, "neuron": n}})
            counter["sent"] += 1
        pn.state.add_periodic_callback(push, period=20)
        return pane

    port = free_port()
    server = pn.serve({"bench": app}, port=port, threaded=True, show=False)
    time.sleep(1.5)
    try:
        with sync_playwright() as p:
            b = p.chromium.launch(executable_path="/usr/bin/chromium",
                                  args=["--headless", "--no-sandbox", "--disable-gpu"])
            page = b.new_page()
            patches = {"n": 0, "counting": False}

            def on_frame(payload):
                if patches["counting"] and "PATCH-DOC" in str(payload):
                    patches["n"] += 1
            page.on("websocket", lambda ws: ws.on("framereceived", on_frame))
            page.goto(f"http://127.0.0.1:{port}/bench")
            page.wait_for_selector("canvas", timeout=30000)
            page.wait_for_timeout(1000)
            patches["counting"] = True
            start, sent0 = time.perf_counter(), counter["sent"]
            page.wait_for_timeout(seconds * 1000)
            patches["counting"] = False
            elapsed = time.perf_counter() - start
            sent = counter["sent"] - sent0
            b.close()
    finally:
        server.stop()
    return sent / elapsed, patches["n"] / elapsed


COUNT_REDRAWS_JS = r"""(() => {
  const wb = window.__redraws = new Set();
  const Orig = window.WebSocket;
  window.WebSocket = class extends Orig {
    constructor(...args) {
      super(...args);
      this.addEventListener("message", (e) => {
        if (typeof e.data !== "string") return;
        for (const m of e.data.matchAll(/plots of epoch (\d+)/g)) wb.add(m[1]);
      });
    }
  };
})();"""


def redraw_cost(n: int = 20, every_s: float = 1.0, preset: str = "pattern") -> dict:
    """Server CPU per Trainer redraw, in-process: one browser session on an in-process server is
    sent ``n`` new snapshots, one per ``every_s``; the server process's CPU over that window,
    less its CPU over an equal window without redraws, divided by ``n``. Works with the page of
    any version that keeps ``page.wb_model`` (to compare before/after from a git worktree).
    Returns {"ms_per_redraw", "received", "sent", "page_build_ms"}."""
    import panel as pn
    import psutil
    from playwright.sync_api import sync_playwright

    from ..app import create_app, free_port
    from ..serving.session import TrainerSession

    m = TrainerSession(preset=preset)
    m.train_epochs(2)
    snap = m.latest()
    pages, build_s = [], []

    def app():
        t = time.process_time()
        page = create_app("trainer")
        build_s.append(time.process_time() - t)
        pages.append(page)
        return page

    port = free_port()
    server = pn.serve({"trainer": app}, port=port, threaded=True, show=False)
    time.sleep(1.5)
    proc = psutil.Process()

    def cpu() -> float:
        t = proc.cpu_times()
        return t.user + t.system
    try:
        with sync_playwright() as p:
            b = p.chromium.launch(executable_path="/usr/bin/chromium",
                                  args=["--headless", "--no-sandbox", "--disable-gpu"])
            page = b.new_page()
            page.add_init_script(COUNT_REDRAWS_JS)
            page.goto(f"http://127.0.0.1:{port}/trainer?preset={preset}")
            page.wait_for_selector("canvas", timeout=60000)
            page.wait_for_timeout(3000)
            model = pages[-1].wb_model
            c0 = cpu()
            page.wait_for_timeout(n * every_s * 1000)
            idle = cpu() - c0
            c0 = cpu()
            for i in range(n):
                with model._lock:  # as an epoch would (old and new versions alike)
                    model._snapshot = {**snap, "epoch": 1000 + i}
                    model._version += 1
                page.wait_for_timeout(every_s * 1000)
            busy = cpu() - c0
            received = page.evaluate("[...window.__redraws].filter(e => +e >= 1000).length")
            b.close()
    finally:
        server.stop()
    return {"ms_per_redraw": 1000 * (busy - idle) / n, "received": received, "sent": n,
            "page_build_ms": 1000 * build_s[-1]}


def session_memory_mb(minutes: float = 10.0, every_s: float = 30.0) -> list[tuple[float, float]]:
    """RSS of the server (one browser session training the pattern preset) over time, MiB."""
    from playwright.sync_api import sync_playwright

    from engine.memory import rss_bytes

    from ..app import free_port, serve

    port = free_port()
    server = serve(port=port, threaded=True)
    time.sleep(2)
    samples = []
    try:
        with sync_playwright() as p:
            b = p.chromium.launch(executable_path="/usr/bin/chromium",
                                  args=["--headless", "--no-sandbox", "--disable-gpu"])
            page = b.new_page()
            page.goto(f"http://127.0.0.1:{port}/trainer?preset=pattern&seed=0")
            page.wait_for_selector(".wb-play button", timeout=60000)
            page.locator(".wb-play button").click()
            start = time.perf_counter()
            while time.perf_counter() - start < minutes * 60:
                samples.append((time.perf_counter() - start, rss_bytes() / 2**20))
                page.wait_for_timeout(every_s * 1000)
            samples.append((time.perf_counter() - start, rss_bytes() / 2**20))
            b.close()
    finally:
        server.stop()
    return samples


def _load_main(argv: list[str]) -> None:
    import argparse
    import json

    from .bench_load import classroom_load, summary

    ap = argparse.ArgumentParser(prog="python -m workbench.bench.bench_ui")
    ap.add_argument("--sessions", type=int, nargs="+", required=True, help="N browser sessions")
    ap.add_argument("--seconds", type=float, default=90.0, help="training window (s)")
    ap.add_argument("--num-procs", type=int, default=1)
    ap.add_argument("--max-training", type=int, default=2)
    ap.add_argument("--turn-seconds", type=float, default=20.0)
    ap.add_argument("--max-redraws", type=float, default=3.0)
    ap.add_argument("--json", default=None, help="also write the full results here")
    args = ap.parse_args(argv)
    results = []
    for n in args.sessions:
        res = classroom_load(n, args.seconds, args.num_procs, args.max_training, args.turn_seconds,
                             args.max_redraws)
        results.append(res)
        print(json.dumps(summary(res)), flush=True)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(results, fh, default=float)


if __name__ == "__main__":
    import sys
    if "--redraw-cost" in sys.argv:
        print(redraw_cost())
        sys.exit(0)
    if "--sessions" in sys.argv:
        _load_main(sys.argv[1:])
        sys.exit(0)
    lat = pause_latency()
    print(f"pause latency (dt = 0.1 ms): median {1000 * np.median(lat):.0f} ms, max {1000 * max(lat):.0f} ms")
    sent, shown = plot_updates_per_second()
    print(f"raster 100 neurons x 1000 steps: {sent:.1f} pushes/s from the session, "
          f"{shown:.1f} document patches/s received by the browser")
    import sys
    if "--memory" in sys.argv:
        for t, mb in session_memory_mb():
            print(f"  t = {t:5.0f} s  server RSS {mb:7.1f} MiB")
