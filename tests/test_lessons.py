"""Every lesson: its form, its two editions, a small-size build in a real Jupyter kernel (no cell
fails; every exercise's reference answer passes its check, its wrong answer fails without the
reference value in the message; at least half the exercises are predictions or
constructions), the Lessons page never running lesson code in the server process, and each
lesson's page in the real browser: the stored outputs at once, answer boxes, reference answers
hidden until opened, readable output, the live view reacting to a control.

Tests assert behaviour, never wall-clock time; lessons run at the small size."""
import os
import re
import time

import pytest

from workbench.exercises import EXERCISE_MIME, SOLUTION_MIME, check_answer
from workbench.lessons import list_lessons

LESSONS = list_lessons()
SLUGS = [i.slug for i in LESSONS]
LIVE_VIEWS = ("encoder_view(", "neuron_view(", "gradient_view(", "workbench_page(")
MACHINE = "[machine]"  # lines of measurements that vary run to run (memory, wall time)


def test_at_least_eight_lessons_each_with_every_part():
    assert len(LESSONS) >= 8
    for info in LESSONS:
        text = info.path.read_text(encoding="utf-8")
        assert info.title.startswith("Lesson ") and re.search(r"\d+ min", info.time), info
        assert info.promise.endswith("."), f"{info.slug}: the index would cut the promise"
        for part in ("**Objectives.**", "**Prerequisites.**", "## Teacher's note", "<details>",
                     "Exercise(", 'tags=["solution"]', ".solution(", "engine", "Before class"):
            assert part in text, f"{info.slug} lacks {part!r}"
        assert any(v in text for v in LIVE_VIEWS), f"{info.slug} embeds no live view"
        assert not re.search(r"^\s*(def|class) ", text, re.M), \
            f"{info.slug} defines reusable logic: it belongs in engine/ or workbench/"


def test_editions_open_as_notebooks():
    import nbformat

    from workbench.lesson_build import edition, read_source
    for info in LESSONS:
        source = read_source(info.path)
        student, teacher = edition(info.path, "student"), edition(info.path, "teacher")
        for nb in (student, teacher):
            nbformat.validate(nb)
            assert nb.metadata["kernelspec"]["name"] == "python3"
        tags = [("solution" in c.metadata.get("tags", [])) for c in teacher.cells]
        assert any(tags) and len(teacher.cells) == len(source.cells), info.slug
        assert not any("solution" in c.metadata.get("tags", []) for c in student.cells), info.slug
        assert not any("Teacher's note" in c.source for c in student.cells), info.slug
        assert any("Teacher's note" in c.source for c in teacher.cells), info.slug


# ------------------------------------------------------------------- built in a real kernel
@pytest.fixture(scope="session")
def lesson_cache(tmp_path_factory, data_dir):
    """Every lesson built once at the small size (a Jupyter kernel per lesson) into a fresh
    cache, with the real data for lesson 8; the environment the lesson server uses too."""
    from workbench.lesson_build import build
    keys = ("SPIKINGGAMMA_LESSON_SIZE", "SPIKINGGAMMA_DATA_DIR", "SPIKINGGAMMA_CACHE_DIR")
    saved = {k: os.environ.get(k) for k in keys}
    cache = tmp_path_factory.mktemp("cache")
    os.environ.update({"SPIKINGGAMMA_LESSON_SIZE": "small", "SPIKINGGAMMA_DATA_DIR": str(data_dir),
                       "SPIKINGGAMMA_CACHE_DIR": str(cache)})
    stored = {info.slug: build(info.path, "small", log=lambda line: None) for info in LESSONS}
    yield stored
    for k, v in saved.items():
        os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)


def _outputs(nb, mime):
    return [o["data"][mime] for c in nb.cells for o in c.get("outputs", [])
            if mime in o.get("data", {})]


def _value_forms(value) -> list[str]:
    """How a reference value could appear in a message."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)):
        return [str(value), str(list(value))]
    v = float(value)
    forms = {f"{v:g}", f"{v:.1f}", f"{v:.2f}", f"{v:.3f}", f"{v:.4f}", repr(value)}
    if v == int(v):
        forms.add(str(int(v)))
    # a rounding that names another number (0.05 as "0.1") is not the value
    return sorted(f for f in forms if abs(float(f) - v) <= 0.02 * abs(v) + 1e-12)


def _contains(message: str, form: str) -> bool:
    if re.fullmatch(r"-?[\d.]+", form):  # a number: not as part of a longer one
        return re.search(rf"(?<![\d.]){re.escape(form)}(?![\d])", message) is not None
    return form.lower() in message.lower()


@pytest.mark.parametrize("slug", SLUGS)
def test_lesson_builds_and_its_exercises_check_without_telling(lesson_cache, slug):
    import nbformat
    nb = nbformat.read(str(lesson_cache[slug]), as_version=4)
    meta = nb.metadata["spikinggamma"]
    assert meta["complete"] and meta["size"] == "small"
    failed = {i: [f"{o['ename']}: {o['evalue']}" for o in nb.cells[i]["outputs"]
                  if o["output_type"] == "error"] for i in meta["errors"]}
    assert not failed, f"{slug}: cells failed: {failed}"
    assert meta["kernel_pid"] and meta["kernel_pid"] != os.getpid()
    exercises = {s["name"]: s for s in _outputs(nb, EXERCISE_MIME)}
    solutions = {s["name"]: s for s in _outputs(nb, SOLUTION_MIME)}
    assert len(exercises) >= 2 and set(exercises) == set(solutions), slug
    thinking = [n for n, s in exercises.items() if s["task"] in ("predict", "construct")]
    assert 2 * len(thinking) >= len(exercises), f"{slug}: mostly lookups: {exercises}"
    for name, spec in exercises.items():
        ref = solutions[name]
        assert ref["ok"] and ref["why"], f"{slug} {name}: the reference answer fails its check"
        assert check_answer(spec, ref["value"])[0], f"{slug} {name}"
        ok, message = check_answer(spec, spec["wrong"])
        assert not ok and message.startswith("not yet") and spec["hint"] in message, (name, message)
        for form in _value_forms(ref["value"]):
            assert not _contains(message, form), \
                f"{slug} {name}: a wrong answer's message gives the value away: {message!r}"
        assert check_answer(spec, "")[1] == "not answered yet"


def test_the_page_never_runs_lesson_code_in_the_server_process(tmp_path, monkeypatch):
    """A lesson opened before it is built is built in another process (a Jupyter kernel started
    by a builder process); the page only reads what it stores."""
    import nbformat

    from workbench import lesson_build
    from workbench.pages import lessons as page
    probe = tmp_path / "pids.txt"
    lessons = tmp_path / "lessons"
    lessons.mkdir()
    (lessons / "01_probe.py").write_text(
        "# %% [markdown]\n# # Lesson 1 · Probe\n#\n# **Promise.** It says where it ran.\n#\n"
        "# **Time.** 1 min\n\n# %%\nimport os\n"
        f"open({str(probe)!r}, 'a').write(f'{{os.getpid()}}\\n')\nprint('ran in', os.getpid())\n",
        encoding="utf-8")
    monkeypatch.setenv("SPIKINGGAMMA_LESSON_DIR", str(lessons))
    monkeypatch.setenv("SPIKINGGAMMA_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("SPIKINGGAMMA_LESSON_SIZE", "small")
    info = next(i for i in list_lessons() if i.slug == "01_probe")
    view = page.LessonView(info, "small")  # what create_page makes for ?lesson=01_probe
    assert not view.ready and "Building" in view.status.object
    stored = lesson_build.stored_path(info.path, "small")
    deadline = time.time() + 600
    while not view.progress():
        assert time.time() < deadline, "the background build never finished"
        time.sleep(0.5)
    assert "Lesson ready" in view.status.object
    pids = {int(p) for p in probe.read_text().split()}
    assert pids and os.getpid() not in pids
    nb = nbformat.read(str(stored), as_version=4)
    assert nb.metadata["spikinggamma"]["builder_pid"] != os.getpid()
    shown = " ".join(p.object for c in view.slots.values() for p in c.objects
                     if isinstance(p.object, str))
    assert f"ran in {pids.pop()}" in shown
    # built once: a second view shows it at once, nothing runs again
    again = page.LessonView(info, "small")
    assert again.ready and "Lesson ready" in again.status.object
    assert len(probe.read_text().split()) == 1
    # laid out from the stored notebook's plan: the printed line in one of few panes
    assert any("ran in" in str(getattr(p, "object", "")) for p in again.layout)
    assert page.stored_plan(stored, nb) is page.stored_plan(stored, nb)  # made once per version


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
def lesson_server(lesson_cache):
    """The workbench in process, serving the lessons built at the small size."""
    if not os.path.exists(CHROMIUM):
        pytest.skip("no /usr/bin/chromium")
    from workbench.app import free_port, serve
    port = free_port()
    server = serve(port=port, threaded=True)
    time.sleep(1.5)
    yield f"http://127.0.0.1:{port}"
    server.stop()


#: a Panel pane's shown text: its shadow root without the style sheets
SHOWN_TEXT = ("e => [...(e.shadowRoot || e).childNodes].filter(n => !['STYLE', 'LINK']"
              ".includes(n.nodeName)).map(n => n.textContent).join(' ')")


def _until(cond, timeout_s, what):
    deadline = time.time() + timeout_s
    while True:
        value = cond()
        if value:
            return value
        assert time.time() < deadline, what
        time.sleep(0.3)


def _contrast(fg: str, bg: str) -> float:
    def lum(css):
        r, g, b = (int(x) / 255 for x in re.findall(r"[\d.]+", css)[:3])
        lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in (r, g, b)]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]
    hi, lo = sorted((lum(fg), lum(bg)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_lessons_page_lists_every_lesson_with_whole_promises(page, lesson_server):
    page.goto(f"{lesson_server}/lessons")
    page.wait_for_selector(".wb-lesson-index", timeout=30000)
    index = " ".join(_text(page, ".wb-lesson-index").split())
    for info in LESSONS:
        assert info.title in index
        assert info.promise.endswith(".") and info.promise in index, info.slug
    for name in ("trainer", "neuron", "resolution", "lessons"):
        page.goto(f"{lesson_server}/{name}")
        page.wait_for_selector(".wb-nav", timeout=30000)
        assert "Lessons" in _text(page, ".wb-nav")
    page.goto(f"{lesson_server}/lessons?lesson=no_such_lesson")
    page.wait_for_selector(".wb-error", timeout=30000)
    assert "no_such_lesson" in _text(page, ".wb-error")
    assert page.errors == []


def test_a_class_receives_built_lessons_whole(lesson_server, lesson_cache):
    """What the load benchmark's `document` client does: several students at once receive a
    lesson's whole document, status "Lesson ready" included, without a browser."""
    from workbench.bench.bench_lessons import _documents
    rows = _documents(lesson_server, [SLUGS[0], SLUGS[6]], 4, timeout_s=300)
    assert [r["ok"] for r in rows] == [True] * 4, rows


@pytest.mark.parametrize("slug", SLUGS)
def test_lesson_page_shows_the_stored_lesson_live(page, lesson_server, lesson_cache, slug):
    import nbformat
    nb = nbformat.read(str(lesson_cache[slug]), as_version=4)
    printed = "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", [])
                      if o.get("name") == "stdout" and not any(
                          m in x.get("data", {}) for x in c["outputs"]
                          for m in (EXERCISE_MIME, SOLUTION_MIME)))
    kind = CONTROLS[slug][0]
    page.goto(f"{lesson_server}/lessons?lesson={slug}")
    page.wait_for_selector(".wb-lesson .wb-live-view", timeout=60000)
    _until(lambda: "Lesson ready" in _text(page, ".wb-lesson .wb-status"), 60, "not ready")
    assert page.locator(".wb-lesson .wb-error").count() == 0
    # the stored run's numbers, as printed, in strong contrast
    stdout = page.locator(".wb-stdout")
    shown = " ".join(" ".join(stdout.evaluate_all(
        "els => els.map(e => (e.shadowRoot || e).textContent)")).split())
    for line in printed.splitlines():
        if line.strip() and MACHINE not in line:
            assert " ".join(line.split()) in shown, f"{slug}: the page does not show {line!r}"
    fg, bg = stdout.first.evaluate(
        "e => { const p = (e.shadowRoot || e).querySelector('pre'); const s = getComputedStyle(p);"
        " return [s.color, s.backgroundColor]; }")
    assert _contrast(fg, bg) >= 7.0, (fg, bg)
    # an answer box per exercise: a wrong answer gets "not yet" and a hint, never the value
    spec = _outputs(nb, EXERCISE_MIME)[0]
    ref = next(s for s in _outputs(nb, SOLUTION_MIME) if s["name"] == spec["name"])
    box = page.locator(".wb-exercise").first
    box.locator(".wb-answer-input input").fill(str(spec["wrong"]))
    box.locator(".wb-check button").click()
    message = box.locator(".wb-exercise-message")

    def said_text():
        return message.evaluate(SHOWN_TEXT)
    _until(lambda: "Not yet" in said_text(), 60, "no verdict")
    said = said_text()
    assert spec["hint"].split(":")[0][:30] in said
    assert not any(_contains(said, f) for f in _value_forms(ref["value"])), said
    assert page.locator(".wb-exercise").count() == len(_outputs(nb, EXERCISE_MIME))
    # a reference answer stays hidden until its card is opened, then shows value and why
    value = page.locator(".wb-solution .wb-solution-value").first
    assert not value.is_visible()
    page.locator(".wb-solution summary").first.click()
    value.wait_for(state="visible", timeout=10000)
    opened = " ".join(value.evaluate(SHOWN_TEXT).split())
    assert ref["why"][:40] in opened and repr(ref["value"])[:6] in opened, opened
    if kind == "slider":
        control, watched = CONTROLS[slug][1:]
        before = _until(lambda: _text(page, watched).strip(), 30, f"{watched} never filled")
        page.locator(control).first.focus()
        page.keyboard.press("ArrowRight")
        _until(lambda: _text(page, watched).strip() != before, 180,
               f"{slug}: {watched} did not change after moving {control}")
        assert "?lesson=" in page.url and "=" in page.url.split("lesson=")[1]
    else:
        from playwright.sync_api import expect
        ready, action, watched = CONTROLS[slug][1:]
        assert page.locator(".wb-live-view iframe").first.get_attribute("src") is None  # on demand
        page.locator(".wb-live-view .wb-open-frame").first.click()
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
