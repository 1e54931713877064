"""Lessons under load: N students open built lessons at the same moment on one server.

    spikinggamma lessons build --lessons 05 07 08          # first: the lessons are built
    python -m workbench.bench.bench_lessons --students 10 30 [--lessons 05 07 08]
    python -m workbench.bench.bench_lessons --students 10 30 --client document

Starts ``spikinggamma serve`` (without its background build), then, for each N, opens N real
browser pages (headless chromium, one context each, lessons assigned in turn) at once and
measures for each the time from navigation to its status line saying "Lesson ready" (every
stored output shown, live views and framed pages included in the page). Meanwhile a probe asks
the server for another page (``GET /lessons``, plain HTTP) every half second and records how
long each answer took. Reports median and worst of both; asserts nothing about time.

``--client document`` measures the server's part alone: each student is a Bokeh client
(``bokeh.client.pull_session``, in a thread) that asks for the lesson's session and receives its
whole document, every stored output included, without rendering it, as a student's browser on
its own machine would receive it; "ready" is when the received status line says "Lesson ready".
On a 2-core machine ten chromium pages rendering beside the server take most of the CPU, so the
browser mode measures this machine's browsers as much as the server.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import urllib.request

from ..app import free_port

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
        "--disable-background-networking", "--disable-renderer-backgrounding",
        "--disable-background-timer-throttling"]


class Probe(threading.Thread):
    """GET ``url`` every ``every_s`` seconds; records (start, seconds to answer)."""

    def __init__(self, url: str, every_s: float = 0.5, timeout_s: float = 60.0):
        super().__init__(daemon=True)
        self.url, self.every_s, self.timeout_s = url, every_s, timeout_s
        self.samples: list[tuple[float, float]] = []
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            t0 = time.perf_counter()
            try:
                urllib.request.urlopen(self.url, timeout=self.timeout_s).read()
                took = time.perf_counter() - t0
            except Exception:
                took = float("inf")
            self.samples.append((t0, took))
            self._halt.wait(max(0.0, self.every_s - took))

    def stop(self) -> None:
        self._halt.set()
        self.join()


async def _students(base: str, slugs: list[str], n: int, timeout_s: float) -> list[dict]:
    from playwright.async_api import async_playwright
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        contexts = [await browser.new_context(viewport={"width": 1500, "height": 950})
                    for _ in range(n)]
        pages = [await c.new_page() for c in contexts]
        start = asyncio.Event()

        async def one(i: int, page) -> dict:
            slug = slugs[i % len(slugs)]
            await start.wait()
            t0 = time.perf_counter()
            try:
                await page.goto(f"{base}/lessons?lesson={slug}", timeout=timeout_s * 1000,
                                wait_until="commit")  # then watch the status line
                status = page.locator(".wb-lesson .wb-status")  # (Playwright pierces shadow roots)
                ok = False
                while time.perf_counter() - t0 < timeout_s:
                    if await status.count() and "Lesson ready" in await status.first.evaluate(
                            "e => (e.shadowRoot || e).textContent"):
                        ok = True
                        break
                    await asyncio.sleep(0.1)
            except Exception:  # timed out: reported, not raised
                ok = False
            return {"student": i, "lesson": slug, "ready_s": time.perf_counter() - t0, "ok": ok}

        tasks = [asyncio.create_task(one(i, p)) for i, p in enumerate(pages)]
        await asyncio.sleep(0.5)
        start.set()  # every student at the same moment
        out = await asyncio.gather(*tasks)
        await browser.close()
    return out


def _cpu_s(pid: int | None = None) -> float:
    """CPU seconds used so far: by process ``pid`` (user + system, /proc/PID/stat), or by the
    whole machine when ``pid`` is None (busy time in /proc/stat)."""
    tick = os.sysconf("SC_CLK_TCK")
    if pid is not None:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / tick
    with open("/proc/stat") as f:
        cpu = [int(v) for v in f.readline().split()[1:]]
    return (sum(cpu) - cpu[3] - cpu[4]) / tick  # all but idle and iowait


def _wait_up(url: str, timeout_s: float = 120.0) -> None:
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url, timeout=5).read()
            return
        except Exception:
            time.sleep(0.5)
    raise RuntimeError(f"the server at {url} did not answer")


def _documents(base: str, slugs: list[str], n: int, timeout_s: float) -> list[dict]:
    """N Bokeh clients at once, each pulling one lesson's whole document (no rendering)."""
    import panel.models  # noqa: F401  (registers Panel's model types for the client)
    import panel.template  # noqa: F401
    from bokeh.client import pull_session

    start, rows = threading.Barrier(n + 1), [None] * n

    def status_of(doc) -> str:
        return next((str(getattr(m, "text", "")) for m in doc.models
                     if "wb-status" in (getattr(m, "css_classes", None) or [])), "")

    def one(i: int) -> None:
        slug = slugs[i % len(slugs)]
        start.wait()
        t0 = time.perf_counter()
        ok = False
        try:
            session = pull_session(url=f"{base}/lessons", arguments={"lesson": slug},
                                   max_message_size=200 * 2**20)
            ok = "Lesson ready" in status_of(session.document)
            session.close()
        except Exception:  # reported as not ready
            pass
        rows[i] = {"student": i, "lesson": slug, "ready_s": time.perf_counter() - t0, "ok": ok}
    threads = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    time.sleep(0.5)
    start.wait()  # every student at the same moment
    for t in threads:
        t.join(timeout_s)
    return [r or {"student": i, "lesson": slugs[i % len(slugs)], "ready_s": timeout_s, "ok": False}
            for i, r in enumerate(rows)]


def _students_niced(base: str, slugs: list[str], n: int, timeout_s: float, nice: int) -> list[dict]:
    """``_students`` in a thread of CPU niceness ``nice`` (Linux: per thread), which the browsers
    it starts inherit; the server and the probe keep theirs."""
    out = {}

    def run():
        if nice:
            os.nice(nice)
        out["rows"] = asyncio.run(_students(base, slugs, n, timeout_s))
    t = threading.Thread(target=run)
    t.start()
    t.join()
    return out["rows"]


def lessons_load(students=(10, 30), lessons=("05", "07", "08"), timeout_s: float = 120.0,
                 browsers_nice: int = 0, client: str = "browser", log=print) -> list[dict]:
    """For each N of ``students``: N pages opening ``lessons`` at once on one fresh server.
    ``browsers_nice`` > 0 runs the browsers at that lower CPU priority, so that the server is
    served first, as when each student's browser runs on the student's own machine."""
    from ..lesson_build import select, stored_path
    infos = select(list(lessons))
    missing = [i.slug for i in infos if not stored_path(i.path).exists()]
    if missing:
        raise SystemExit(f"build these first: spikinggamma lessons build --lessons {' '.join(missing)}")
    slugs = [i.slug for i in infos]
    results = []
    for n in students:
        port = free_port()
        server = subprocess.Popen([sys.executable, "-m", "engine.cli", "serve", "--port", str(port),
                                   "--no-lesson-build"], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL, env=os.environ.copy())
        base = f"http://127.0.0.1:{port}"
        try:
            _wait_up(f"{base}/lessons")
            probe = Probe(f"{base}/lessons")
            probe.start()
            server_cpu, all_cpu, wall = _cpu_s(server.pid), _cpu_s(), time.perf_counter()
            rows = (_documents(base, slugs, n, timeout_s) if client == "document" else
                    _students_niced(base, slugs, n, timeout_s, browsers_nice))
            server_cpu, all_cpu = _cpu_s(server.pid) - server_cpu, _cpu_s() - all_cpu
            wall = time.perf_counter() - wall
            probe.stop()
        finally:
            server.terminate()
            server.wait(timeout=30)
        ready = [r["ready_s"] for r in rows if r["ok"]]
        answers = [took for _, took in probe.samples]
        res = {"students": n, "lessons": slugs, "client": client, "browsers_nice": browsers_nice, "ready": len(ready),
               "ready_median_s": round(statistics.median(ready), 2) if ready else None,
               "ready_max_s": round(max(ready), 2) if ready else None,
               "probe_requests": len(answers),
               "probe_median_s": round(statistics.median(answers), 3) if answers else None,
               "probe_max_s": round(max(answers), 3) if answers else None,
               "wall_s": round(wall, 1), "server_cpu_s": round(server_cpu, 1),
               "machine_cpu_s": round(all_cpu, 1),
               "rows": rows}
        how = (" (documents, not rendered)" if client == "document" else
               f" (browsers at nice {browsers_nice})" if browsers_nice else "")
        log(f"{n} students{how}: {len(ready)}/{n} 'Lesson ready', median {res['ready_median_s']} s, "
            f"worst {res['ready_max_s']} s; /lessons answered in median {res['probe_median_s']} s, "
            f"worst {res['probe_max_s']} s ({len(answers)} requests); CPU while they loaded: "
            f"server {res['server_cpu_s']} s, whole machine {res['machine_cpu_s']} s "
            f"(browsers, probe and all else: the difference) in {res['wall_s']} s")
        results.append(res)
    return results


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m workbench.bench.bench_lessons",
                                 description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--students", type=int, nargs="+", default=[10, 30])
    ap.add_argument("--lessons", nargs="+", default=["05", "07", "08"])
    ap.add_argument("--timeout", type=float, default=120.0, help="per page (s)")
    ap.add_argument("--browsers-nice", type=int, default=0,
                    help="run the browsers at this CPU niceness (19: lowest), so that they take "
                         "only what the server leaves, as on the students' own machines")
    ap.add_argument("--client", choices=("browser", "document"), default="browser",
                    help="browser: headless chromium pages; document: Bokeh clients that "
                         "receive each lesson's document without rendering it (the server's part)")
    ap.add_argument("--json", default=None, help="also write the results here")
    args = ap.parse_args(argv)
    results = lessons_load(args.students, args.lessons, args.timeout, args.browsers_nice,
                           args.client)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
