"""Lessons page: the list of lessons (``/lessons``) and one lesson (``/lessons?lesson=NN_name``)
shown from its stored, executed notebook (:mod:`workbench.lesson_build`): its text, printed
output, figures, live views made for this session, exercises with answer boxes, reference
answers collapsed. The page never runs lesson code: a lesson not built yet is built in a
separate process, and its outputs appear here as its cells finish."""
from __future__ import annotations

import asyncio
import base64
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

#: printed output: near-black on white, large enough to read when projected (WCAG AAA contrast)
OUTPUT_CSS = """
pre { color: #111111; background: #ffffff; border: 1px solid #c8c8c8; border-left: 4px solid #7b2d8e;
      padding: 0.6em 0.8em; margin: 0.3em 0; font-size: 15px; line-height: 1.45;
      white-space: pre-wrap; overflow-x: auto; }
"""
CODE_CSS = ("summary { cursor: pointer; font-weight: 600; color: #333; padding: 4px 0; } "
            "pre { color: #111; background: #f6f6f6; padding: 0.5em; font-size: 13px; "
            "overflow-x: auto; }")
#: inline code in the text: dark enough to read when projected
TEXT_CSS = ":host { font-size: 1.02em; } code { color: #4a1259; background: #f3eef5; }"
ERROR_CSS = "pre { color: #5c0000; background: #fff4f4; font-size: 14px; white-space: pre-wrap; }"

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


def markdown_cell(text: str) -> list:
    """Markdown with each ``<details><summary>…</summary>…</details>`` as a collapsed card."""
    out, pos = [], 0
    for m in _DETAILS.finditer(text):
        if text[pos:m.start()].strip():
            out.append(pn.pane.Markdown(text[pos:m.start()], sizing_mode="stretch_width",
                                        stylesheets=[TEXT_CSS]))
        out.append(pn.Card(pn.pane.Markdown(m.group(2).strip(), sizing_mode="stretch_width",
                                            stylesheets=[TEXT_CSS]),
                           title=html.unescape(m.group(1)), collapsed=True,
                           css_classes=["wb-answer"], sizing_mode="stretch_width"))
        pos = m.end()
    if text[pos:].strip():
        out.append(pn.pane.Markdown(text[pos:], sizing_mode="stretch_width", stylesheets=[TEXT_CSS]))
    return out


def code_pane(source: str) -> pn.pane.HTML:
    """A code cell's source, folded (plain HTML: no per-session Markdown rendering)."""
    return pn.pane.HTML(f"<details><summary>code</summary><pre>{html.escape(source)}</pre>"
                        "</details>", css_classes=["wb-code"], sizing_mode="stretch_width",
                        stylesheets=[CODE_CSS])


def printed(text: str, css: str = "wb-stdout") -> pn.pane.HTML:
    """Printed output, readable when projected."""
    return pn.pane.HTML(f"<pre>{html.escape(text.rstrip())}</pre>", css_classes=[css],
                        stylesheets=[OUTPUT_CSS if css == "wb-stdout" else ERROR_CSS],
                        sizing_mode="stretch_width")


def figure(stored: dict) -> pn.pane.HTML:
    """A stored figure drawn by the browser (``Bokeh.embed.embed_item`` in a frame that loads
    the server's own BokehJS): no Bokeh model is made on the server, so a page costs the server
    next to nothing per figure."""
    item = json.loads(stored["item"])
    height = int(item.pop("height", 0) or 400)
    doc = FIGURE_HTML.replace("__ITEM__", json.dumps(item).replace("</", "<\\/"))
    return pn.pane.HTML(f'<iframe srcdoc="{html.escape(doc, quote=True)}" title="figure" '
                        f'style="width:100%;height:{height + 20}px;border:0" loading="lazy">'
                        "</iframe>", sizing_mode="stretch_width", height=height + 30,
                        css_classes=["wb-figure"])


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


def render_outputs(outputs: list) -> list:
    """A code cell's stored outputs as this session's panes."""
    mimes = [o.get("data", {}) for o in outputs if o.get("output_type") in
             ("display_data", "execute_result")]
    quiet = any(EXERCISE_MIME in d or SOLUTION_MIME in d for d in mimes)  # the box says it all
    text = "".join(o.get("text", "") for o in outputs
                   if o.get("output_type") == "stream" and o.get("name") == "stdout")
    parts = [printed(text)] if text.strip() and not quiet else []
    for o in outputs:
        kind = o.get("output_type")
        if kind == "error":
            parts.append(pn.pane.Alert(f"This cell failed: {o.get('ename')}: {o.get('evalue')}"
                                       " (the rest of the lesson still shows)",
                                       alert_type="danger", css_classes=["wb-error"]))
            continue
        if kind not in ("display_data", "execute_result"):
            continue
        data = o.get("data", {})
        try:
            if VIEW_MIME in data:
                parts.append(make_view(data[VIEW_MIME]))
            elif FIGURE_MIME in data:
                parts.append(figure(data[FIGURE_MIME]))
            elif EXERCISE_MIME in data:
                parts.append(answer_box(data[EXERCISE_MIME]))
            elif SOLUTION_MIME in data:
                s = data[SOLUTION_MIME]
                parts.append(pn.pane.Markdown(
                    f"**Reference answer {s['name']}:** `{s['value']!r}`  \n**Why:** {s['why']}",
                    css_classes=["wb-solution-value"], sizing_mode="stretch_width"))
            elif "image/png" in data:
                parts.append(pn.pane.PNG(base64.b64decode(data["image/png"]), sizing_mode="scale_width",
                                         max_width=1100, css_classes=["wb-figure"]))
            elif kind == "execute_result" and data.get("text/plain", "").strip():
                parts.append(printed(data["text/plain"]))
        except Exception as err:  # a view that cannot be made here: say so, show the rest
            parts.append(pn.pane.Alert(f"This output cannot be shown: {type(err).__name__}: {err}",
                                       alert_type="warning", css_classes=["wb-error"]))
    return parts


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
        self.layout = [self.status] + self.cells(nb or lesson_build.read_source(info.path))
        if nb is not None:
            self.fill(nb, complete=True)
        else:
            self.progress()

    def cells(self, nb) -> list:
        out = []
        for i, cell in enumerate(nb.cells):
            if cell.cell_type == "markdown":
                out += markdown_cell(cell.source)
                continue
            code = code_pane(cell.source)
            self.slots[i] = pn.Column(sizing_mode="stretch_width")
            if "solution" in cell.metadata.get("tags", []):
                out.append(pn.Card(code, self.slots[i], title="Reference answer (open it after trying)",
                                   collapsed=True, css_classes=["wb-answer", "wb-solution"],
                                   sizing_mode="stretch_width"))
            else:
                out += [code, self.slots[i]]
        return out

    def fill(self, nb, complete: bool, done: int | None = None) -> None:
        """Show the outputs of every finished cell not shown yet."""
        for i, cell in enumerate(nb.cells):
            if i not in self.slots or (done is not None and i >= done):
                continue
            outputs = cell.get("outputs", [])
            if self.shown.get(i) != len(outputs) or i not in self.shown:
                self.slots[i].objects = render_outputs(outputs)
                self.shown[i] = len(outputs)
        if complete:
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
            self.fill(nb, complete=True)
            return True
        partial = _read_notebook(self.building)
        n = len(self.slots)
        if partial is not None:
            done = partial.metadata.get("spikinggamma", {}).get("cells_done", 0)
            self.fill(partial, complete=False, done=done)
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
