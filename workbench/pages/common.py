"""What every page shares: the template with its navigation, settings' widgets with their help,
and download buttons."""
from __future__ import annotations

import io

import panel as pn

PAGES = {"trainer": "Trainer", "neuron": "Neuron lab", "resolution": "Resolution explorer",
         "lessons": "Lessons"}
ACCENT = "#7b2d8e"


def template(page: str, sidebar: list, main: list):
    """A BootstrapTemplate titled for ``page`` with links to the other pages on top of the sidebar."""
    links = " · ".join(f"**{title}**" if key == page else f"[{title}](./{key})"
                       for key, title in PAGES.items())
    nav = pn.pane.Markdown(links, css_classes=["wb-nav"], margin=(0, 10))
    # Bootstrap rather than Fast: the Fast design fetches a Google font, which fails offline
    return pn.template.BootstrapTemplate(
        title=f"SpikingGamma Workbench · {PAGES[page]}", sidebar=[nav, *sidebar], main=main,
        header_background=ACCENT, sidebar_width=340)


def help_text(text: str) -> pn.pane.Markdown:
    """A short explanation placed under a control (what it is, its unit)."""
    return pn.pane.Markdown(text, styles={"font-size": "0.8em", "color": "#666"},
                            margin=(-12, 10, 4, 12))


def setting(model, name: str, widget_type=None, **kw) -> list:
    """``[widget, help]`` for the param ``name`` of ``model``: the widget is derived from the
    param (range from its softbounds, ``step``, ``label``; Panel's default type unless
    ``widget_type``), its ``doc`` is the help shown below it. ``kw``: layout options."""
    spec = dict(css_classes=[f"wb-{name.replace('_', '-')}"], sizing_mode="stretch_width") | kw
    if widget_type is not None:
        spec["type"] = widget_type
    widget = pn.Param.widget(name, model, spec)
    if "description" in widget.param:  # the help is shown below it, not also in a tooltip
        widget.description = None
    return [widget, help_text(model.param[name].doc)]


def download(label: str, filename: str, make_bytes, css: str) -> pn.widgets.FileDownload:
    """A FileDownload whose content is built when clicked (``make_bytes() -> bytes``)."""
    def callback():
        return io.BytesIO(make_bytes())
    return pn.widgets.FileDownload(callback=callback, filename=filename, label=label,
                                   button_type="primary", button_style="outline",
                                   css_classes=[css], embed=False, sizing_mode="stretch_width")


def lab_watcher(compute, show):
    """A param watcher for a lab: ``show(compute())``. On a served page the computation runs in
    the classroom's lab threads (:class:`workbench.serving.classroom.LabJobs`), off the event
    loop, and only the newest request is shown; elsewhere (a notebook, a script) in place."""
    served = pn.state.curdoc is not None and pn.state.curdoc.session_context is not None
    if not served:
        return lambda *_: show(compute())
    from ..serving import classroom
    asked = [0]

    async def update(*_):
        asked[0] += 1
        mine = asked[0]
        result = await classroom.LABS.run(compute)
        if mine == asked[0]:  # a newer request supersedes this one
            show(result)
    return update
