"""Classroom load test: N real browser sessions on one ``spikinggamma serve`` process.

Each session (its own Playwright browser context, seed 101 + i) presses Play, moves its τ slider,
trains for a while, then presses Pause. Everything is read from what each browser receives on
its websocket (Bokeh PATCH-DOC messages): the status line ("training · epoch 12 · ...",
"queued · ...", "paused · ...") and the equivalent command ("--seed 107 ... --tau-ms 6.5").

    python -m workbench.bench.bench_ui --sessions 30 [--seconds 90] [--num-procs 2] [--max-training 2]

Per session: plot redraws per second while its run holds a training slot (the loss plot's title
"plots of epoch N" arriving with a newer N), time queued before its first turn, pause latency (click to the
"paused" status arriving), and cross-talk (a ``--seed`` or τ that is not its own). Server: CPU
(cores busy, all its processes) and resident memory. Asserts nothing about wall-clock time.
One file past 300 lines: the in-page probe, the CPU sampler and the session driver read the same
websocket messages and are changed together.
"""
from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
import time

import numpy as np

from ..app import free_port

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-renderer-backgrounding", "--disable-background-timer-throttling"]
STATUS = re.compile(r"(training|queued|paused)[^<\"]{0,200}?epoch (\d+)")
# in the page: when the user clicks, and when a "paused" status arrives (browser clock, ms)
PROBE_JS = r"""(() => {
  const wb = window.__wb = {clicks: [], paused: []};
  document.addEventListener("click", () => wb.clicks.push(performance.now()), true);
  const Orig = window.WebSocket;
  window.WebSocket = class extends Orig {
    constructor(...args) {
      super(...args);
      this.addEventListener("message", (e) => {
        if (typeof e.data === "string" && /paused[^<"]{0,200}?epoch \d+/.test(e.data))
          wb.paused.push(performance.now());
      });
    }
  };
})();"""
PLOTS = re.compile(r"plots of epoch (\d+)")  # the loss plot's title: one per redraw
SEED = re.compile(r"--seed (\d+)")
TAU = re.compile(r"--tau-ms ([0-9.]+)")


class ServerProbe(threading.Thread):
    """Samples CPU seconds and resident memory of some processes every second: the server's
    (``pid`` and its children), or with ``browser=True`` this process's children but the server
    (Playwright's driver and chromium)."""

    def __init__(self, pid: int, every_s: float = 1.0, browser: bool = False):
        super().__init__(daemon=True)
        import psutil
        self.root, self.every_s, self.browser = psutil.Process(pid), every_s, browser
        self.samples: list[tuple[float, float, float]] = []  # (time, cpu seconds, rss MiB)
        self._stop_event = threading.Event()
        self._seen: dict[int, float] = {}  # pid -> last cpu seconds (children come and go)

    def _procs(self):
        import os

        import psutil
        server = [self.root, *self.root.children(recursive=True)]
        if not self.browser:
            return server
        skip = {p.pid for p in server}
        return [p for p in psutil.Process(os.getpid()).children(recursive=True) if p.pid not in skip]

    def _read(self) -> tuple[float, float]:
        import psutil
        rss = 0.0
        for p in self._procs():
            try:
                t = p.cpu_times()
                self._seen[p.pid] = t.user + t.system
                rss += p.memory_info().rss / 2**20
            except psutil.NoSuchProcess:
                pass
        return sum(self._seen.values()), rss

    def run(self) -> None:
        while not self._stop_event.is_set():
            self.samples.append((time.perf_counter(), *self._read()))
            self._stop_event.wait(self.every_s)

    def stop(self) -> None:
        self._stop_event.set()

    def cores_busy(self, t0: float, t1: float) -> float:
        """Mean CPU use (cores) of the server between t0 and t1."""
        inside = [s for s in self.samples if t0 <= s[0] <= t1]
        if len(inside) < 2:
            return float("nan")
        return (inside[-1][1] - inside[0][1]) / (inside[-1][0] - inside[0][0])

    def peak_rss_mb(self) -> float:
        return max((s[2] for s in self.samples), default=float("nan"))


class Session:
    """One browser tab's view of its session, built from the frames its websocket receives."""

    def __init__(self, index: int, page):
        self.index, self.page, self.seed = index, page, 101 + index
        self.status: list[tuple[float, str, int]] = []  # (time, state, epoch)
        self.foreign: set[str] = set()  # seeds of other sessions seen on this page
        self.taus: list[float] = []
        self.patches = 0
        self.redraws: list[tuple[float, int]] = []  # (time, epoch the plots show)
        page.on("websocket", lambda ws: ws.on("framereceived", self.on_frame))

    def on_frame(self, payload) -> None:
        text = payload if isinstance(payload, str) else payload.decode("utf-8", "replace")
        now = time.perf_counter()
        self.patches += '"msgtype":"PATCH-DOC"' in text.replace(" ", "")
        for state, epoch in STATUS.findall(text):
            self.status.append((now, state, int(epoch)))
        self.redraws += [(now, int(e)) for e in PLOTS.findall(text)]
        self.foreign |= {s for s in SEED.findall(text) if int(s) != self.seed}
        self.taus += [float(t) for t in TAU.findall(text)]

    def state_at(self, t: float) -> str:
        before = [s for s in self.status if s[0] <= t]
        return before[-1][1] if before else "none"

    def window(self, t0: float, t1: float) -> dict:
        """Within [t0, t1]: plot redraws (of a newer epoch) while training, seconds spent
        training (holding a slot), epochs the status line showed, and the first training time."""
        seen = [s for s in self.status if s[0] < t0]
        state = seen[-1][1] if seen else "none"
        last_t, active_s, first_training = t0, 0.0, None
        for t, new_state, _ in [s for s in self.status if t0 <= s[0] <= t1]:
            if state == "training":
                active_s += t - last_t
            if new_state == "training" and first_training is None:
                first_training = t
            state, last_t = new_state, t
        if state == "training":
            active_s += t1 - last_t
        top = max((e for t, e in self.redraws if t < t0), default=-1)
        updates = 0
        for t, epoch in self.redraws:
            if t0 <= t <= t1 and epoch > top:
                updates += self.state_at(t) == "training"
                top = epoch
        epochs = [e for t, _, e in self.status if t0 <= t <= t1]
        return {"updates": updates, "active_s": active_s, "first_update": first_training,
                "epochs_trained": (max(epochs) - min(epochs)) if epochs else 0}


def _wait_port(port: int, timeout_s: float = 90.0) -> None:
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.3)
    raise RuntimeError(f"server did not open port {port} in {timeout_s:.0f} s")


_PAUSE_JS = """async () => {
  const wb = window.__wb, t0 = performance.now();
  while (performance.now() - t0 < 10000) {
    if (wb.clicks.length && wb.paused.length) return wb.paused[0] - wb.clicks[0];
    await new Promise(r => setTimeout(r, 5));
  }
  return null;
}"""


def _command(page) -> str:
    """The page's equivalent-command text (Panel keeps it in a shadow root)."""
    return page.locator(".wb-command").evaluate("e => (e.shadowRoot || e).textContent")


def _pump(page, ms: int) -> None:
    """Let Playwright deliver pending events (frames) for ``ms`` milliseconds."""
    page.wait_for_timeout(ms)


def classroom_load(n_sessions: int, seconds: float = 90.0, num_procs: int = 1,
                   max_training: int = 2, turn_s: float = 20.0, max_redraws: float = 3.0,
                   preset: str = "pattern") -> dict:
    """Run the load test (loopback only); returns per-session rows and server figures."""
    from playwright.sync_api import sync_playwright

    from ..models.trainer import TrainerModel

    tau0 = TrainerModel(preset=preset).preset_defaults()["tau_ms"]  # the slider's start
    port = free_port()
    cmd = [sys.executable, "-m", "engine.cli", "serve", "--address", "127.0.0.1", "--port", str(port),
           "--num-procs", str(num_procs), "--max-training", str(max_training),
           "--turn-seconds", str(turn_s), "--max-redraws", str(max_redraws)]
    server = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    probe = ServerProbe(server.pid)
    client = ServerProbe(server.pid, browser=True)
    try:
        _wait_port(port)
        probe.start()
        client.start()
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            sessions = []
            t_open = time.perf_counter()
            for i in range(n_sessions):
                ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
                ctx.add_init_script(PROBE_JS)
                page = ctx.new_page()
                s = Session(i, page)
                sessions.append(s)
                page.goto(f"http://127.0.0.1:{port}/trainer?preset={preset}&seed={s.seed}",
                          wait_until="domcontentloaded", timeout=180_000)
            for s in sessions:
                s.page.wait_for_selector(".wb-play button", timeout=300_000)
            opened_s = time.perf_counter() - t_open
            driver = sessions[0].page
            for s in sessions:
                s.page.locator(".wb-play button").click()
            for s in sessions:  # τ up by (1 + i mod 6) slider steps of 0.5 ms
                s.tau_steps = 1 + s.index % 6
                s.tau_expected = tau0 + 0.5 * s.tau_steps
                s.page.locator(".wb-tau-ms .noUi-handle").focus()
                for _ in range(s.tau_steps):
                    s.page.keyboard.press("ArrowRight")
            t0 = time.perf_counter()
            while time.perf_counter() - t0 < seconds:
                _pump(driver, 250)
            t1 = time.perf_counter()
            load_avg = os.getloadavg()[0]  # the whole machine: other users' jobs included
            windows = [s.window(t0, t1) for s in sessions]
            pause_ms, pause_training_ms = [], []
            for s in sessions:
                was = s.state_at(time.perf_counter())
                s.page.evaluate("window.__wb.clicks = []; window.__wb.paused = []")
                s.page.locator(".wb-pause button").click()
                ms = s.page.evaluate(_PAUSE_JS)  # click → "paused" on the page, browser clock
                if ms is not None:
                    pause_ms.append(ms)
                    if was == "training":
                        pause_training_ms.append(ms)
                _pump(s.page, 50)
                s.paused_epoch = max((e for _, _, e in s.status), default=-1)
            _pump(driver, 2000)  # nothing may advance after pause
            still_running = sum(max((e for _, _, e in s.status), default=-1) > s.paused_epoch
                                for s in sessions)
            rows = []
            for s, w in zip(sessions, windows):
                cmd_text = _command(s.page)
                own_seed = SEED.findall(cmd_text) == [str(s.seed)]
                tau_shown = [float(t) for t in TAU.findall(cmd_text)] == [s.tau_expected]
                rows.append({"session": s.index, "seed": s.seed, **w,
                             "rate": w["updates"] / w["active_s"] if w["active_s"] > 1 else float("nan"),
                             "wait_s": (w["first_update"] - t0) if w["first_update"] else float("nan"),
                             "cross_talk": bool(s.foreign) or not own_seed, "tau_shown": tau_shown,
                             "tau_sent": s.tau_expected in s.taus, "patches": s.patches})
            browser.close()
    finally:
        probe.stop()
        client.stop()
        for child in probe.root.children(recursive=True):  # --num-procs forks workers
            child.terminate()
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
    return {"n_sessions": n_sessions, "seconds": t1 - t0, "opened_s": opened_s, "rows": rows,
            "pause_ms": pause_ms, "pause_training_ms": pause_training_ms,
            "still_running_after_pause": still_running,
            "cores_busy": probe.cores_busy(t0, t1), "peak_rss_mb": probe.peak_rss_mb(),
            "browser_cores_busy": client.cores_busy(t0, t1), "browser_rss_mb": client.peak_rss_mb(),
            "num_procs": num_procs, "max_training": max_training, "turn_s": turn_s,
            "max_redraws": max_redraws,
            "load_avg_1min": load_avg}


def summary(res: dict) -> dict:
    """One table row of a load test."""
    rows = res["rows"]
    rates = [r["rate"] for r in rows if np.isfinite(r["rate"])]
    return {"sessions": res["n_sessions"], "num_procs": res["num_procs"],
            "max_training": res["max_training"],
            "sessions_with_a_turn": len(rates),
            "updates_per_s_min": round(min(rates), 2) if rates else float("nan"),
            "updates_per_s_median": round(float(np.median(rates)), 2) if rates else float("nan"),
            "pause_ms_median": round(float(np.median(res["pause_ms"])), 0) if res["pause_ms"] else float("nan"),
            "pause_ms_median_training": (round(float(np.median(res["pause_training_ms"])), 0)
                                         if res["pause_training_ms"] else float("nan")),
            "paused_sessions": len(res["pause_ms"]),
            "advanced_after_pause": res["still_running_after_pause"],
            "server_cores_busy": round(res["cores_busy"], 2),
            "server_peak_rss_mb": round(res["peak_rss_mb"], 0),
            "browser_cores_busy": round(res["browser_cores_busy"], 2),
            "cross_talk": sum(r["cross_talk"] for r in rows),
            "tau_applied": sum(r["tau_shown"] and r["tau_sent"] for r in rows),
            "sessions_without_updates": sum(r["patches"] == 0 for r in rows),
            "seconds": round(res["seconds"], 0), "open_all_s": round(res["opened_s"], 0),
            "machine_load_avg": round(res.get("load_avg_1min", float("nan")), 1)}
