"""Every lesson: its form, a small-size run top to bottom with its exercises' reference answers
checked, and its page in the real browser: the server runs it again and prints the same
numbers (same seed), no console errors, answers hidden until opened, the live view reacts to a
control."""
import os
import re
import time

import pytest
import torch

from workbench.lessons import Exercise, execute, list_lessons, read_cells

LESSONS = list_lessons()
SLUGS = [i.slug for i in LESSONS]
LIVE_VIEWS = ("encoder_view(", "neuron_view(", "gradient_view(", "workbench_page(")
MACHINE = "[machine]"  # lines of measurements that vary run to run (memory, wall time)


def test_at_least_eight_lessons_each_with_every_part():
    assert len(LESSONS) >= 8
    for info in LESSONS:
        text = info.path.read_text(encoding="utf-8")
        assert info.title.startswith("Lesson ") and info.promise and re.search(r"\d+ min", info.time), info
        for part in ("**Objectives.**", "**Prerequisites.**", "## Teacher's note", "<details>",
                     "Exercise(", 'tags=["solution"]', "engine"):
            assert part in text, f"{info.slug} lacks {part!r}"
        assert any(v in text for v in LIVE_VIEWS), f"{info.slug} embeds no live view"
        assert not re.search(r"^\s*(def|class) (?!(solution|check)_)", text, re.M), \
            f"{info.slug} defines reusable logic: it belongs in engine/ or workbench/"


def test_lessons_open_as_notebooks():
    import jupytext
    for info in LESSONS:
        nb = jupytext.read(info.path)
        ours = read_cells(info.path)
        cells = [c for c in nb.cells if c.source.strip()]
        assert [c.cell_type for c in cells] == [c.kind for c in ours], info.slug
        assert [("solution" in c.metadata.get("tags", [])) for c in cells] == \
               [("solution" in c.tags) for c in ours], info.slug


def _comparable(text: str) -> list[str]:
    return [" ".join(line.split()) for line in text.splitlines()
            if MACHINE not in line and line.strip()]


def run_lesson(slug: str) -> str:
    """Run a lesson top to bottom in this process at the small size, as the Lessons page does;
    check its exercises; return what it printed."""
    info = next(i for i in LESSONS if i.slug == slug)
    torch.set_num_threads(1)
    start = time.perf_counter()
    ns = {"__name__": "__lesson__"}
    outputs = list(execute(read_cells(info.path), ns, filename=str(info.path)))
    assert not [o.error for o in outputs if o.error]
    exercises = [v for v in ns.values() if isinstance(v, Exercise)]
    assert len(exercises) >= 2, slug
    for ex in exercises:
        ok, msg = ex.check(ex.solution())
        assert ok, f"{slug} exercise {ex.name}: the reference answer fails: {msg}"
        ok, msg = ex.check(ex.wrong)
        assert not ok, f"{slug} exercise {ex.name}: the check accepts a wrong answer: {msg}"
    took = time.perf_counter() - start
    assert took < 90, f"{slug} took {took:.0f} s at the small size"
    return "".join(o.stdout for o in outputs)


# ---------------------------------------------------------------------- in the real browser
from test_workbench_browser import CHROMIUM, SHOTS, _text, browser, page  # noqa: E402,F401

#: per lesson: the live view's control to move (a slider handle, a button in a framed page) and
#: the text that must change in response
CONTROLS = {
    "01_time_spikes_dt": ("slider", ".wb-threshold .noUi-handle", ".wb-encoder-stats"),
    "02_gamma_memory": ("slider", ".wb-tau-ms .noUi-handle", ".wb-neuron-stats"),
    "03_lnl_neuron": ("slider", ".wb-delay-ms .noUi-handle", ".wb-neuron-stats"),
    "04_learning_without_surrogates": ("slider", ".wb-hidden .noUi-handle", ".wb-gradient-stats"),
    # framed pages: (frame, a control enabled once the page is ready, what to do, what changes)
    "05_spike_pattern": ("frame", ".wb-step button", "click", ".wb-status"),
    "06_sound_localisation": ("frame", ".wb-step button", "click", ".wb-status"),
    "07_resolution_invariance": ("frame", ".wb-run button", ".wb-test-dt .noUi-handle", ".wb-probe"),
    "08_spoken_digits": ("frame", ".wb-step button", "click", ".wb-status"),
}


@pytest.fixture(scope="module")
def lesson_server(data_dir):
    """The workbench in process, lessons at the small size, real data for lesson 8."""
    if not os.path.exists(CHROMIUM):
        pytest.skip("no /usr/bin/chromium")
    from workbench.app import free_port, serve
    saved = {k: os.environ.get(k) for k in ("SPIKINGGAMMA_LESSON_SIZE", "SPIKINGGAMMA_DATA_DIR")}
    os.environ.update({"SPIKINGGAMMA_LESSON_SIZE": "small", "SPIKINGGAMMA_DATA_DIR": str(data_dir)})
    port = free_port()
    server = serve(port=port, threaded=True)
    time.sleep(1.5)
    yield f"http://127.0.0.1:{port}"
    server.stop()
    for k, v in saved.items():
        os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)


def _until(cond, timeout_s, what):
    deadline = time.time() + timeout_s
    while True:
        value = cond()
        if value:
            return value
        assert time.time() < deadline, what
        time.sleep(0.3)


def test_lessons_page_lists_every_lesson_and_every_page_links_to_it(page, lesson_server):
    page.goto(f"{lesson_server}/lessons")
    page.wait_for_selector(".wb-lesson-index", timeout=30000)
    index = _text(page, ".wb-lesson-index")
    for info in LESSONS:
        assert info.title in index
    for name in ("trainer", "neuron", "resolution", "lessons"):
        page.goto(f"{lesson_server}/{name}")
        page.wait_for_selector(".wb-nav", timeout=30000)
        assert "Lessons" in _text(page, ".wb-nav")
    page.goto(f"{lesson_server}/lessons?lesson=no_such_lesson")
    page.wait_for_selector(".wb-error", timeout=30000)
    assert "no_such_lesson" in _text(page, ".wb-error")
    assert page.errors == []


@pytest.mark.parametrize("slug", SLUGS)
def test_lesson_runs_and_its_page_reproduces_it_live(page, lesson_server, slug):
    printed = run_lesson(slug)  # the server's environment: small size, the data folder
    kind = CONTROLS[slug][0]
    page.goto(f"{lesson_server}/lessons?lesson={slug}")
    page.wait_for_selector(".wb-lesson .wb-live-view", timeout=180000)
    assert "Lesson ready" in _text(page, ".wb-lesson .wb-status")
    assert page.locator(".wb-lesson .wb-error").count() == 0
    # the same seed prints the same numbers on the page
    shown = " ".join(" ".join(page.locator(".wb-stdout").evaluate_all(
        "els => els.map(e => (e.shadowRoot || e).textContent)")).split())
    for line in _comparable(printed):
        assert line in shown, f"{slug}: the page does not show {line!r}"
    # the first hidden answer stays hidden until its card is opened
    body = re.search(r"<details><summary>.*?</summary>(.*?)</details>", "\n".join(
        c.source for c in read_cells(next(i.path for i in LESSONS if i.slug == slug))
        if c.kind == "markdown"), re.S).group(1)
    words = next(chunk for chunk in re.split(r"[*`_$(),:;.]", body) if len(chunk.split()) >= 3)
    answer = page.get_by_text(" ".join(words.split()[:3])).first
    assert not answer.is_visible()
    page.locator(".wb-answer .card-header").first.click()
    answer.wait_for(state="visible", timeout=10000)
    if kind == "slider":
        control, watched = CONTROLS[slug][1:]
        before = _until(lambda: _text(page, watched).strip(), 30, f"{watched} never filled")
        page.locator(control).first.focus()
        page.keyboard.press("ArrowRight")
        _until(lambda: _text(page, watched).strip() != before, 180,
               f"{slug}: {watched} did not change after moving {control}")
    else:
        from playwright.sync_api import expect
        ready, action, watched = CONTROLS[slug][1:]
        frame = page.frame_locator(".wb-live-view iframe").first
        expect(frame.locator(ready)).to_be_enabled(timeout=180000)
        shown_text = frame.locator(watched)

        def text():
            return shown_text.evaluate("e => (e.shadowRoot || e).textContent")
        before = text()
        if action == "click":
            frame.locator(ready).click()
        else:
            frame.locator(action).focus()
            page.keyboard.press("ArrowRight")
        _until(lambda: text() != before, 180,
               f"{slug}: {watched} did not change after acting on the live view")
    os.makedirs(SHOTS, exist_ok=True)
    page.screenshot(path=f"{SHOTS}/lesson_{slug}.png", full_page=True)
    assert page.errors == []
