"""Lessons page: the list of lessons (``/lessons``) and one lesson (``/lessons?lesson=NN_name``)
shown from its stored, executed notebook (:mod:`workbench.lesson_build`): its text, printed
output, figures, live views made for this session, exercises with answer boxes, reference
answers collapsed. The page never runs lesson code: a lesson not built yet is built in a
separate process, and its outputs appear here as its cells finish."""
from __future__ import annotations

import asyncio
import functools
import html
import os
import re
import json
import threading

import panel as pn

from .. import lesson_build
from ..exercises import EXERCISE_MIME, SOLUTION_MIME, check_answer
from ..lesson_views import FIGURE_MIME, VIEW_MIME, make_view
from ..lessons import lesson_size, list_lessons
from .common import download, template

_DETAILS = re.compile(r"<details>\s*<summary>(.*?)</summary>(.*?)</details>", re.S)
#: a stored figure's frame: the server's BokehJS (relative URLs resolve against the page's)
FIGURE_HTML = (
    '<!DOCTYPE html><html><head><meta charset="utf-8">'
    '<script src="static/js/bokeh.min.js"></script>'
    '<script src="static/js/bokeh-gl.min.js"></script>'
    '<style>html,body{margin:0;padding:0;background:#fff}</style></head>'
    '<body><div id="fig" style="width:100%"></div>'
    '<script>Bokeh.embed.embed_item(__ITEM__, "fig");</script></body></html>')
POLL_MS = 1000  # while a lesson builds, look for new outputs this often
SOLUTION_TITLE = "Reference answer (open it after trying)"

#: the lesson's text, code, printed output and errors (one stylesheet for a block of them):
#: printed output near-black on white, large enough to read when projected (WCAG AAA contrast)
LESSON_CSS = """
:host { font-size: 1.02em; }
code { color: #4a1259; background: #f3eef5; }
table { border-collapse: collapse; margin: 0.5em 0; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; }
blockquote { border-left: 4px solid #ddd; margin-left: 0; padding-left: 1em; color: #333; }
details.wb-answer { border: 1px solid #ddd; border-radius: 4px; padding: 0.3em 0.8em; margin: 0.5em 0; }
details.wb-solution { border-color: #7b2d8e; }
details > summary { cursor: pointer; font-weight: 600; color: #333; padding: 4px 0; }
.wb-code pre { color: #111; background: #f6f6f6; padding: 0.5em; font-size: 13px; overflow-x: auto; }
.wb-stdout pre { color: #111111; background: #ffffff; border: 1px solid #c8c8c8;
  border-left: 4px solid #7b2d8e; padding: 0.6em 0.8em; margin: 0.3em 0; font-size: 15px;
  line-height: 1.45; white-space: pre-wrap; overflow-x: auto; }
.wb-error { color: #5c0000; background: #fff4f4; border: 1px solid #e6b3b3; border-radius: 4px;
  padding: 0.6em 0.8em; margin: 0.3em 0; font-size: 14px; white-space: pre-wrap; }
.wb-figure img { max-width: min(100%, 1100px); height: auto; }
"""


@functools.cache
def _markdown_parser():
    from markdown_it import MarkdownIt
    return MarkdownIt("gfm-like").enable("table")


def _markdown(text: str) -> str:
    """Markdown as HTML with markdown-it (the parser Panel's Markdown pane uses)."""
    return _markdown_parser().render(text)

_NB_CACHE: dict = {}
_NB_LOCK = threading.Lock()


def _read_notebook(path):
    """The notebook at ``path``, parsed once per version of the file (None if absent)."""
    import nbformat
    try:
        stamp = os.stat(path).st_mtime_ns
    except OSError:
        return None
    key = str(path)
    with _NB_LOCK:
        hit = _NB_CACHE.get(key)
        if hit and hit[0] == stamp:
            return hit[1]
    try:
        nb = nbformat.read(str(path), as_version=4)
    except Exception:  # replaced while read: the next poll reads it
        return None
    with _NB_LOCK:
        _NB_CACHE[key] = (stamp, nb)
    return nb


def index() -> list:
    size = lesson_size()
    rows = ["Each lesson is one file in `lessons/` (jupytext percent format). Read it here with "
            "its live views and answer its exercises in the boxes under them, download it as a "
            "notebook (student or teacher edition, in the sidebar of each lesson), or run it with "
            "`python lessons/NN_name.py`. Before class, build them all once: "
            "`spikinggamma lessons build` (the server also builds what is missing when it starts)."]
    for info in list_lessons():
        ready = lesson_build.stored_path(info.path, size).exists()
        rows.append(f"### [{info.title}](./lessons?lesson={info.slug})\n{info.promise}  \n"
                    f"*{info.time}* · {'built' if ready else 'not built yet'}")
    return [pn.pane.Markdown("\n\n".join(rows), css_classes=["wb-lesson-index"],
                             sizing_mode="stretch_width", styles={"font-size": "1.05em"})]


# A lesson page is laid out from a *plan*, made once per version of the stored notebook and
# shared by every session: static HTML (text, code, printed output, figures, errors) as strings,
# consecutive ones merged into one pane, and the live parts as (kind, spec) tuples that each
# session turns into fresh widgets. Few panes per page: less work for the server and the browser.


def markdown_plan(text: str) -> list:
    """Markdown with each ``<details><summary>…</summary>…</details>`` collapsed."""
    out, pos = [], 0
    for m in _DETAILS.finditer(text):
        out.append(_markdown(text[pos:m.start()]))
        out.append(f'<details class="wb-answer"><summary>{m.group(1)}</summary>'
                   f"{_markdown(m.group(2).strip())}</details>")
        pos = m.end()
    out.append(_markdown(text[pos:]))
    return [h for h in out if h.strip()]


def code_html(source: str) -> str:
    """A code cell's source, folded."""
    return (f'<details class="wb-code"><summary>code</summary><pre>{html.escape(source)}</pre>'
            "</details>")


def printed(text: str) -> str:
    """Printed output, readable when projected."""
    return f'<div class="wb-stdout"><pre>{html.escape(text.rstrip())}</pre></div>'


def figure(stored: dict) -> str:
    """A stored figure drawn by the browser (``Bokeh.embed.embed_item`` in a frame that loads
    the server's own BokehJS): no Bokeh model is made on the server, so a page costs the server
    next to nothing per figure."""
    item = json.loads(stored["item"])
    height = int(item.pop("height", 0) or 400)
    doc = FIGURE_HTML.replace("__ITEM__", json.dumps(item).replace("</", "<\\/"))
    return (f'<div class="wb-figure"><iframe srcdoc="{html.escape(doc, quote=True)}" '
            f'title="figure" style="width:100%;height:{height + 20}px;border:0" loading="lazy">'
            "</iframe></div>")


def output_plan(outputs: list) -> list:
    """A code cell's stored outputs as plan items."""
    mimes = [o.get("data", {}) for o in outputs if o.get("output_type") in
             ("display_data", "execute_result")]
    quiet = any(EXERCISE_MIME in d or SOLUTION_MIME in d for d in mimes)  # the box says it all
    text = "".join(o.get("text", "") for o in outputs
                   if o.get("output_type") == "stream" and o.get("name") == "stdout")
    parts = [printed(text)] if text.strip() and not quiet else []
    for o in outputs:
        kind = o.get("output_type")
        if kind == "error":
            parts.append(f'<div class="wb-error">This cell failed: '
                         f"{html.escape(str(o.get('ename')))}: {html.escape(str(o.get('evalue')))}"
                         " (the rest of the lesson still shows)</div>")
            continue
        if kind not in ("display_data", "execute_result"):
            continue
        data = o.get("data", {})
        if VIEW_MIME in data:
            parts.append(("view", data[VIEW_MIME]))
        elif FIGURE_MIME in data:
            parts.append(figure(data[FIGURE_MIME]))
        elif EXERCISE_MIME in data:
            parts.append(("exercise", data[EXERCISE_MIME]))
        elif SOLUTION_MIME in data:
            v = data[SOLUTION_MIME]
            parts.append(f'<div class="wb-solution-value"><p><b>Reference answer '
                         f"{html.escape(v['name'])}:</b> <code>{html.escape(repr(v['value']))}"
                         f"</code><br><b>Why:</b> {html.escape(v['why'])}</p></div>")
        elif "image/png" in data:
            parts.append(f'<div class="wb-figure"><img src="data:image/png;base64,'
                         f'{data["image/png"].strip()}" alt="figure"></div>')
        elif kind == "execute_result" and data.get("text/plain", "").strip():
            parts.append(printed(data["text/plain"]))
    return parts


def answer_box(spec: dict) -> pn.Column:
    """An answer box for the exercise ``spec``, checked by the notebook's own check (in a thread:
    a construction runs the engine)."""
    box = pn.widgets.TextInput(placeholder="your answer: a number, a name, or a list like [0, 1, 0]",
                               css_classes=["wb-answer-input"], sizing_mode="stretch_width")
    button = pn.widgets.Button(name=f"Check my answer to {spec['name']}", button_type="primary",
                               css_classes=["wb-check"])
    message = pn.pane.Markdown("", css_classes=["wb-exercise-message"], sizing_mode="stretch_width",
                               styles={"font-size": "1.05em"})

    async def check(_=None):
        button.disabled = True
        try:
            ok, text = await asyncio.to_thread(check_answer, spec, box.value)
        finally:
            button.disabled = False
        message.object = ("**Correct.** " if ok else "**Not yet.** ") + html.escape(
            text.split(": ", 1)[1] if ": " in text else text)

    button.on_click(check)
    return pn.Column(pn.pane.Markdown(f"**Your answer to exercise {spec['name']}**",
                                      margin=(0, 10)),
                     pn.Row(box, button, sizing_mode="stretch_width"), message,
                     css_classes=["wb-exercise"], sizing_mode="stretch_width",
                     styles={"border": "2px solid #7b2d8e", "border-radius": "6px",
                             "padding": "4px"})



def lesson_plan(nb) -> list:
    """The whole executed lesson as plan items."""
    out = []
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            out += markdown_plan(cell.source)
        elif "solution" in cell.metadata.get("tags", []):
            parts = [code_html(cell.source), *output_plan(cell.get("outputs", []))]
            static = all(isinstance(part, str) for part in parts)
            out.append(solution_html(parts) if static else ("solution", parts))
        else:
            out += [code_html(cell.source), *output_plan(cell.get("outputs", []))]
    return out


def solution_html(parts: list[str]) -> str:
    """A reference answer of static parts, collapsed until opened (no widget per session)."""
    return (f'<details class="wb-answer wb-solution"><summary>{SOLUTION_TITLE}</summary>'
            f'{"".join(parts)}</details>')


def solution_card(*objects) -> pn.Card:
    """A reference answer: collapsed until opened."""
    return pn.Card(*objects, title=SOLUTION_TITLE, collapsed=True,
                   css_classes=["wb-answer", "wb-solution"], sizing_mode="stretch_width")


def realize(plan: list) -> list:
    """This session's panes for ``plan``: consecutive HTML in one pane, live parts made fresh."""
    out, run = [], []

    def flush():
        if run:
            out.append(pn.pane.HTML("".join(run), sizing_mode="stretch_width",
                                    stylesheets=[LESSON_CSS], css_classes=["wb-text"]))
            run.clear()
    for item in plan:
        if isinstance(item, str):
            run.append(item)
            continue
        flush()
        kind, spec = item
        try:
            if kind == "view":
                out.append(make_view(spec))
            elif kind == "exercise":
                out.append(answer_box(spec))
            else:
                out.append(solution_card(*realize(spec)))
        except Exception as err:  # a view that cannot be made here: say so, show the rest
            out.append(pn.pane.Alert(f"This output cannot be shown: {type(err).__name__}: {err}",
                                     alert_type="warning", css_classes=["wb-error"]))
    flush()
    return out


_PLANS: dict = {}


def stored_plan(path, nb) -> list:
    """``lesson_plan(nb)``, made once per version of the file at ``path``."""
    stamp = os.stat(path).st_mtime_ns
    with _NB_LOCK:
        hit = _PLANS.get(str(path))
        if hit and hit[0] == stamp:
            return hit[1]
    plan = lesson_plan(nb)
    with _NB_LOCK:
        _PLANS[str(path)] = (stamp, plan)
    return plan


class LessonView:
    """One session's view of one lesson: the cells laid out at once from the stored notebook,
    or from the source while it builds (outputs filled in as cells finish)."""

    def __init__(self, info, size: str):
        self.info, self.size = info, size
        self.stored = lesson_build.stored_path(info.path, size)
        self.building = lesson_build.building_path(info.path, size)
        self.status = pn.pane.Markdown("", css_classes=["wb-status"], sizing_mode="stretch_width")
        self.slots: dict[int, pn.Column] = {}
        self.shown: dict[int, int] = {}  # cell index -> outputs shown
        self.started = False
        self.builder = None  # the build process this view started, if any
        self.ready = False
        nb = _read_notebook(self.stored)
        if nb is not None:  # built: laid out at once from the plan every session shares
            self.layout = [self.status, *realize(stored_plan(self.stored, nb))]
            self.finish(nb)
        else:  # building: the source's cells, each code cell's outputs filled in as it finishes
            self.layout = [self.status, *self.cells(lesson_build.read_source(info.path))]
            self.progress()

    def cells(self, nb) -> list:
        out = []
        for i, cell in enumerate(nb.cells):
            if cell.cell_type == "markdown":
                out += realize(markdown_plan(cell.source))
                continue
            code = realize([code_html(cell.source)])
            self.slots[i] = pn.Column(sizing_mode="stretch_width")
            if "solution" in cell.metadata.get("tags", []):
                out.append(solution_card(*code, self.slots[i]))
            else:
                out += [*code, self.slots[i]]
        return out

    def fill(self, nb, done: int | None = None) -> None:
        """Show the outputs of every finished cell not shown yet."""
        for i, cell in enumerate(nb.cells):
            if i not in self.slots or (done is not None and i >= done):
                continue
            outputs = cell.get("outputs", [])
            if self.shown.get(i) != len(outputs):
                self.slots[i].objects = realize(output_plan(outputs))
                self.shown[i] = len(outputs)

    def finish(self, nb) -> None:
        meta = nb.metadata.get("spikinggamma", {})
        failed = len(meta.get("errors", []))
        self.status.object = (f"Lesson ready ({self.size} size, built {meta.get('built', '')}; "
                              "same seed, same figures)."
                              + (f" {failed} cell(s) failed: see the red boxes." if failed else ""))
        self.ready = True

    def progress(self) -> bool:
        """Look for a stored or a partly built notebook; → True once the lesson is ready."""
        if self.ready:
            return True
        nb = _read_notebook(self.stored)
        if nb is not None:
            self.fill(nb)
            self.finish(nb)
            return True
        partial = _read_notebook(self.building)
        n = len(self.slots)
        if partial is not None:
            done = partial.metadata.get("spikinggamma", {}).get("cells_done", 0)
            self.fill(partial, done=done)
            ran = sum(1 for i in self.slots if i < done)
            self.status.object = (f"Building the lesson ({self.size} size): {ran} of {n} code cells "
                                  "run; outputs appear as each cell finishes.")
        elif lesson_build.is_building(self.info.path, self.size) or (
                self.builder is not None and self.builder.poll() is None):
            self.status.object = f"Building the lesson ({self.size} size): starting a kernel…"
        elif not self.started:
            self.builder = lesson_build.start_background([self.info.slug], self.size)
            self.started = True
            self.status.object = (f"Building the lesson ({self.size} size) for the first time; "
                                  "its text is below, its outputs appear as cells finish.")
        else:
            self.status.object = ("The lesson's build stopped before it finished; run "
                                  f"`spikinggamma lessons build --lessons {self.info.slug}` "
                                  "on the server to see why.")
            return True
        return False


def create_page():
    """``/lessons`` lists the lessons; ``?lesson=NN_name`` shows one."""
    slug = (pn.state.location.query_params.get("lesson") if pn.state.location is not None
            else None)
    lessons = list_lessons()
    body = pn.Column(sizing_mode="stretch_width", css_classes=["wb-lesson"])
    sidebar = [pn.pane.Markdown("### Lessons\n" + "\n".join(
        f"{k + 1}. [{i.title.split('·')[-1].strip()}](./lessons?lesson={i.slug})"
        for k, i in enumerate(lessons)), css_classes=["wb-lesson-list"])]
    info = next((i for i in lessons if i.slug == slug), None)
    if not slug:
        body.extend(index())
    elif info is None:
        body.append(pn.pane.Alert(f"No lesson named {slug!r}; pick one from the list.",
                                  alert_type="warning", css_classes=["wb-error"]))
        body.extend(index())
    else:
        view = LessonView(info, lesson_size())
        body.extend(view.layout)
        sidebar += [
            pn.pane.Markdown("### Notebooks\nThe same lesson to open in JupyterLab or Colab: "
                             "the student edition has no reference answers."),
            download("Student notebook (.ipynb)", f"{info.slug}_student.ipynb",
                     lambda: lesson_build.edition_bytes(info.path, "student"), "wb-download-student"),
            download("Teacher notebook (.ipynb)", f"{info.slug}_teacher.ipynb",
                     lambda: lesson_build.edition_bytes(info.path, "teacher"), "wb-download-teacher")]
        if not view.ready and pn.state.curdoc is not None and \
                pn.state.curdoc.session_context is not None:
            holder = {}

            def poll():
                if view.progress():
                    holder["cb"].stop()

            holder["cb"] = pn.state.add_periodic_callback(poll, period=POLL_MS)
    return template("lessons", sidebar, [body])
