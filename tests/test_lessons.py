"""Every lesson: its form, a small-size run top to bottom (in process, as the Lessons page runs
it, and as a script in a fresh process: the same seed prints the same numbers), the exercises'
reference answers, and its page in the real browser with its live view reacting to a control."""
import os
import re
import subprocess
import sys
import time

import pytest
import torch

from workbench.lessons import Exercise, execute, list_lessons, read_cells

SMALL = {"SPIKINGGAMMA_LESSON_SIZE": "small"}
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
    return [line for line in text.splitlines() if MACHINE not in line]


@pytest.mark.parametrize("slug", SLUGS)
def test_lesson_runs_reproduces_and_reference_answers_pass(slug, data_dir, monkeypatch):
    info = next(i for i in LESSONS if i.slug == slug)
    for k, v in SMALL.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("SPIKINGGAMMA_DATA_DIR", str(data_dir))
    torch.set_num_threads(1)
    start = time.perf_counter()
    ns = {"__name__": "__lesson__"}
    outputs = list(execute(read_cells(info.path), ns, filename=str(info.path)))
    assert not [o.error for o in outputs if o.error]
    printed = "".join(o.stdout for o in outputs)
    exercises = [v for v in ns.values() if isinstance(v, Exercise)]
    assert len(exercises) >= 2, slug
    for ex in exercises:
        ok, msg = ex.check(ex.solution())
        assert ok, f"{slug} exercise {ex.name}: the reference answer fails: {msg}"
        ok, msg = ex.check(ex.wrong)
        assert not ok, f"{slug} exercise {ex.name}: the check accepts a wrong answer: {msg}"
    in_process_s = time.perf_counter() - start
    # the same lesson as a script in a fresh process prints the same numbers
    env = {**os.environ, **SMALL, "SPIKINGGAMMA_DATA_DIR": str(data_dir),
           "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, str(info.path)], capture_output=True, text=True,
                          env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert _comparable(proc.stdout) == _comparable(printed)
    assert in_process_s < 60, f"{slug} took {in_process_s:.0f} s at the small size"
