"""Lessons page: the list of lessons (``/lessons``) and one lesson run and rendered
(``/lessons?lesson=NN_name``): its text, its figures and its live views, answers collapsed."""
from __future__ import annotations

import html
import re

import panel as pn

from ..lessons import Cell, execute, lesson_size, list_lessons, read_cells
from .common import template

_DETAILS = re.compile(r"<details>\s*<summary>(.*?)</summary>(.*?)</details>", re.S)


def index() -> list:
    rows = ["Each lesson is one file in `lessons/` (jupytext percent format): read it here with "
            "its live views, run it with `python lessons/NN_name.py`, or open it as a notebook "
            "(`jupytext --to notebook lessons/NN_name.py`). Exercises are answered in the notebook."]
    for info in list_lessons():
        rows.append(f"### [{info.title}](./lessons?lesson={info.slug})\n{info.promise}  \n"
                    f"*{info.time}*")
    return [pn.pane.Markdown("\n\n".join(rows), css_classes=["wb-lesson-index"],
                             sizing_mode="stretch_width")]


def markdown_cell(text: str) -> list:
    """Markdown with each ``<details><summary>…</summary>…</details>`` as a collapsed card."""
    out, pos = [], 0
    for m in _DETAILS.finditer(text):
        if text[pos:m.start()].strip():
            out.append(pn.pane.Markdown(text[pos:m.start()], sizing_mode="stretch_width"))
        out.append(pn.Card(pn.pane.Markdown(m.group(2).strip(), sizing_mode="stretch_width"),
                           title=html.unescape(m.group(1)), collapsed=True,
                           css_classes=["wb-answer"], sizing_mode="stretch_width"))
        pos = m.end()
    if text[pos:].strip():
        out.append(pn.pane.Markdown(text[pos:], sizing_mode="stretch_width"))
    return out


def show_value(value):
    """A cell's last value as the notebook would show it (None: nothing)."""
    import holoviews as hv
    if value is None:
        return None
    if isinstance(value, pn.viewable.Viewable):
        return value
    if isinstance(value, (hv.core.Dimensioned, hv.DynamicMap)):
        return pn.pane.HoloViews(value, backend="bokeh")
    if type(value).__name__ == "Figure" and hasattr(value, "savefig"):
        return pn.pane.Matplotlib(value, dpi=80, tight=True)
    return pn.pane.Markdown(f"```\n{value!r}\n```", sizing_mode="stretch_width")


def code_cell(cell: Cell, stdout: str, value, error: str) -> list:
    parts = [pn.Card(pn.pane.Markdown(f"```python\n{cell.source}\n```", sizing_mode="stretch_width"),
                     title="code", collapsed=True, css_classes=["wb-code"],
                     sizing_mode="stretch_width")]
    if stdout.strip():
        parts.append(pn.pane.Markdown(f"```\n{stdout.rstrip()}\n```", css_classes=["wb-stdout"],
                                      sizing_mode="stretch_width"))
    shown = show_value(value)
    if shown is not None:
        parts.append(shown)
    if error:
        parts.append(pn.pane.Alert(f"The lesson stopped here: {error}", alert_type="danger",
                                   css_classes=["wb-error"]))
    if "solution" in cell.tags:
        return [pn.Card(*parts, title="Reference answer (open it after trying)", collapsed=True,
                        css_classes=["wb-answer", "wb-solution"], sizing_mode="stretch_width")]
    return parts


def render(slug: str) -> list:
    """Run the lesson ``slug`` (at $SPIKINGGAMMA_LESSON_SIZE) and lay out every cell."""
    info = next(i for i in list_lessons() if i.slug == slug)
    out = []
    for res in execute(read_cells(info.path), filename=str(info.path)):
        if res.cell.kind == "markdown":
            out += markdown_cell(res.cell.source)
        else:
            out += code_cell(res.cell, res.stdout, res.value, res.error)
    return out


def create_page():
    """``/lessons`` lists the lessons; ``?lesson=NN_name`` runs and shows one."""
    slug = (pn.state.location.query_params.get("lesson") if pn.state.location is not None
            else None)
    slugs = [i.slug for i in list_lessons()]
    body = pn.Column(sizing_mode="stretch_width", css_classes=["wb-lesson"])
    sidebar = [pn.pane.Markdown("### Lessons\n" + "\n".join(
        f"{k + 1}. [{i.title.split('·')[-1].strip()}](./lessons?lesson={i.slug})"
        for k, i in enumerate(list_lessons())), css_classes=["wb-lesson-list"])]
    if not slug:
        body.extend(index())
    elif slug not in slugs:
        body.append(pn.pane.Alert(f"No lesson named {slug!r}; pick one from the list.",
                                  alert_type="warning", css_classes=["wb-error"]))
        body.extend(index())
    else:
        status = pn.pane.Markdown(f"Running the lesson ({lesson_size()} size)…",
                                  css_classes=["wb-status"])
        body.append(status)

        def load():
            body.extend(render(slug))
            status.object = f"Lesson ready ({lesson_size()} size; same seed, same figures)."

        if pn.state.curdoc is not None and pn.state.curdoc.session_context is not None:
            pn.state.onload(load)
        else:
            load()
    return template("lessons", sidebar, [body])
