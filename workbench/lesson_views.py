"""Live views that lessons embed: the workbench's labs as Panel layouts, and its pages in a frame.

Every view is built per call (one per session) and carries the CSS class ``wb-live-view``; the
lesson's text around it lives in ``lessons/``. ``setup()`` loads Panel and HoloViews the way a
notebook needs them.

When a lesson is *built* for the Lessons page (:mod:`workbench.lesson_build` sets
``$SPIKINGGAMMA_LESSON_BUILD`` in its kernel), nothing live is made: a view is stored as its name
and settings (:data:`VIEW_MIME`), which the page turns into a fresh view for each session, and a
HoloViews figure as a Bokeh JSON item (:data:`FIGURE_MIME`), a matplotlib figure as a PNG.
The labs keep their settings in the page's URL (query keys named after their sliders).
"""
from __future__ import annotations

import html
import json
import os
from urllib.parse import urlencode

import holoviews as hv
import numpy as np
import panel as pn

from .pages.common import help_text, lab_watcher

SERVER = "http://127.0.0.1:5006"  # where `spikinggamma serve` runs by default (notebook links)
VIEW_MIME = "application/vnd.spikinggamma.view+json"
FIGURE_MIME = "application/vnd.spikinggamma.bokeh+json"
BUILD_ENV = "SPIKINGGAMMA_LESSON_BUILD"


def building() -> bool:
    """True in the kernel that builds a lesson for the Lessons page."""
    return os.environ.get(BUILD_ENV) == "1"


def figure_item(obj) -> str:
    """A HoloViews object rendered to a Bokeh JSON item (``bokeh.embed.json_item``), its plots
    stretched to the width they are given."""
    from bokeh.embed import json_item
    from bokeh.models import LayoutDOM
    model = hv.render(obj, backend="bokeh")
    height = _height(model)
    for m in model.select({"type": LayoutDOM}):
        m.sizing_mode = "stretch_width"
    model.sizing_mode = "stretch_width"
    return json.dumps({**json_item(model), "height": height})


def _height(model) -> int:
    """The height (px) a rendered HoloViews figure needs: its plots' heights, row by row."""
    from bokeh.models import Column, GridPlot, Row
    if isinstance(model, GridPlot):
        rows: dict[int, int] = {}
        for child, r, _c in model.children:
            rows[r] = max(rows.get(r, 0), _height(child))
        return sum(rows.values()) + 40
    if isinstance(model, Column):
        return sum(_height(c) for c in model.children)
    if isinstance(model, Row):
        return max((_height(c) for c in model.children), default=0)
    return int(getattr(model, "height", None) or 300)


class StoredView:
    """A live view as data (built lessons): which view, with which settings."""

    def __init__(self, view: str, **settings):
        self.spec = {"view": view, "settings": settings}

    def _repr_mimebundle_(self, include=None, exclude=None):
        return {VIEW_MIME: self.spec, "text/plain": f"(live view: {self.spec['view']})"}


def setup() -> None:
    """Load Panel and HoloViews (Bokeh) for a notebook, a script or the Lessons page; in a
    lesson build, store figures as data instead."""
    if building():
        import holoviews.plotting.bokeh  # noqa: F401  (the backend, without its notebook JS)
        hv.Store.set_current_backend("bokeh")
        _store_figures()
        return
    pn.extension(notifications=True)
    hv.extension("bokeh", logo=False)


def _store_figures() -> None:
    from IPython import get_ipython
    ip = get_ipython()
    if ip is None:
        return
    from IPython.core.formatters import JSONFormatter
    from traitlets import ObjectName, Unicode

    class FigureFormatter(JSONFormatter):
        format_type = Unicode(FIGURE_MIME)
        print_method = ObjectName("_repr_sg_figure_")

    formatters = ip.display_formatter.formatters
    formatters[FIGURE_MIME] = FigureFormatter(parent=ip.display_formatter)
    # the item as a string: a notebook file sorts JSON keys, and Bokeh reads definitions in order
    formatters[FIGURE_MIME].for_type(hv.core.Dimensioned, lambda obj: {"item": figure_item(obj)})
    formatters["text/plain"].for_type(hv.core.Dimensioned, lambda obj, p, cycle: p.text(""))
    from IPython.core.pylabtools import select_figure_formats
    select_figure_formats(ip, {"png"}, dpi=90)


def served() -> bool:
    """True inside a workbench session (the Lessons page), False in a notebook or a script."""
    return pn.state.curdoc is not None and pn.state.curdoc.session_context is not None


def workbench_page(page: str, height: int = 900, **query) -> pn.viewable.Viewable:
    """The workbench page ``page`` ("trainer", "neuron", "resolution") with settings ``query``
    (its URL keys), framed in the lesson; in a notebook, a link to a running workbench."""
    if building():
        return StoredView("workbench_page", page=page, height=height, **query)
    path = f"{page}?{urlencode(query)}" if query else page
    if served():
        # opened on demand: the framed page is its own session (and, for the Trainer, a training
        # slot's client), so it starts when the student asks for it, in the browser, without a
        # round trip: a class opening a lesson does not open a Trainer per student at once
        title = {"trainer": "Trainer", "resolution": "Resolution explorer"}.get(page, page)
        opener = ("const f = this.nextElementSibling; f.src = f.dataset.src; "
                  "f.style.display = 'block'; this.remove();")
        return pn.pane.HTML(
            f'<button class="wb-open-frame" onclick="{opener}" style="font-size:1.05em;'
            'padding:0.5em 1em;background:#7b2d8e;color:#fff;border:0;border-radius:4px;'
            f'cursor:pointer">Open the live {title} here (its own session)</button>'
            f'<iframe data-src="./{html.escape(path, quote=True)}" title="{page}" '
            f'style="display:none;width:100%;height:{height}px;border:1px solid #ccc"></iframe>',
            sizing_mode="stretch_width", css_classes=["wb-live-view", f"wb-frame-{page}"])
    return pn.pane.Markdown(f"Live view: run `spikinggamma serve`, then open "
                            f"[{SERVER}/{path}]({SERVER}/{path}).", css_classes=["wb-live-view"])


def _sync_url(model, keys) -> None:
    """Keep the lab's settings ``keys`` in the page's URL query (a served page only)."""
    if served() and pn.state.location is not None:
        pn.state.location.sync(model, {k: k for k in keys})


VIEWS = {}  # name -> function, filled below: what a stored view may name


def make_view(spec: dict) -> pn.viewable.Viewable:
    """A fresh live view from a stored one (``StoredView.spec``)."""
    settings = dict(spec.get("settings", {}))
    if spec["view"] == "neuron_view" and "keys" in settings:
        settings["keys"] = tuple(settings["keys"])
    return VIEWS[spec["view"]](**settings)


def _slider(model, name: str, label: str, step: float, css: str):
    return pn.widgets.FloatSlider.from_param(model.param[name], name=label, step=step,
                                             css_classes=[css], sizing_mode="stretch_width")


def neuron_view(keys=("dt_ms", "tau_ms", "delay_ms"), **settings) -> pn.viewable.Viewable:
    """The Neuron lab (input spikes → buckets → signal → spikes) with the controls ``keys``."""
    if building():
        return StoredView("neuron_view", keys=list(keys), **settings)
    from .models.neuron import NeuronLabModel
    from .pages.neuron import lab_view

    model = NeuronLabModel(**settings)
    _sync_url(model, keys)
    stats = pn.pane.Markdown(css_classes=["wb-neuron-stats"])

    def show(d):
        stats.object = (f"**{len(d['spike_ms'])} output spikes** ({d['rate_hz']:.0f} per s) · "
                        f"peak signal {d['signal'].max():.4f} at "
                        f"{d['time_ms'][d['signal'].argmax()]:.1f} ms")

    widgets, main, _ = lab_view(model, keys, on_show=show)
    return pn.Row(pn.Column(*widgets, width=300), pn.Column(stats, main, sizing_mode="stretch_width"),
                  css_classes=["wb-live-view"], sizing_mode="stretch_width")


def encoder_figure(d: dict):
    """Signal, sigma-delta spikes and the estimate ŷ⁰ rebuilt from them (time in ms)."""
    t = d["time_ms"]
    top = float(d["signal"].max())
    return (hv.Curve((t, d["signal"]), "time (ms)", "signal", label="signal y").opts(line_width=2)
            * hv.Curve((t, d["estimate"]), "time (ms)", "signal",
                       label="estimate ŷ⁰ rebuilt from spikes").opts(color="#d62728")
            * hv.Spikes(d["spike_ms"], "time (ms)", label="spikes").opts(
                color="#7b2d8e", spike_length=0.12 * top, alpha=0.6)
            ).opts(responsive=True, min_width=360, height=300, legend_position="top_left",
                   show_grid=True,
                   title=f"{d['n_spikes']} spikes ({d['rate_hz']:.0f} per s), "
                         f"RMS error {d['rms_error']:.3f}")


def encoder_view(**settings) -> pn.viewable.Viewable:
    """A signal sigma-delta coded: sliders ϑ, dt and τ; spikes, reconstruction and error live."""
    if building():
        return StoredView("encoder_view", **settings)
    from .models.encoder import EncoderLabModel

    model = EncoderLabModel(**settings)
    _sync_url(model, ("threshold", "dt_ms", "tau_ms"))
    widgets = [_slider(model, "threshold", "ϑ (signal units)", 0.005, "wb-threshold"),
               help_text("Each spike adds about 2ϑ to the estimate ŷ⁰ (2ϑ·b₀)."),
               _slider(model, "dt_ms", "dt (ms)", 0.05, "wb-dt-ms"),
               help_text("The simulation step. Watch the spike count."),
               _slider(model, "tau_ms", "τ (ms)", 0.5, "wb-tau-ms"),
               help_text("How fast the estimate decays between spikes.")]
    plot = pn.pane.HoloViews(backend="bokeh", sizing_mode="stretch_width")
    stats = pn.pane.Markdown(css_classes=["wb-encoder-stats"])
    warn = pn.pane.Alert(alert_type="warning", visible=False)

    def show(d):
        plot.object = encoder_figure(d)
        stats.object = (f"**{d['n_spikes']} spikes** in 200 ms · RMS error {d['rms_error']:.3f} · "
                        f"largest error {d['max_error']:.3f} (ϑ = {d['threshold']:g})")
        warn.object, warn.visible = d["warning"], bool(d["warning"])

    show(model.simulate())
    model.param.watch(lab_watcher(model.simulate, show), ["threshold", "dt_ms", "tau_ms"])
    return pn.Row(pn.Column(*widgets, width=300), pn.Column(stats, warn, plot, sizing_mode="stretch_width"),
                  css_classes=["wb-live-view"], sizing_mode="stretch_width")


def gradient_figure(d: dict, title: str):
    colors = {"spatial": "#1f77b4", "traces": "#ff7f0e", "bptt": "#2ca02c"}
    dash = {"spatial": "solid", "traces": "solid", "bptt": "dashed"}
    step = hv.Overlay([hv.Curve((d["time_ms"], d["per_step"][m]), "time (ms)", "∂L(t)/∂θ",
                                label=m).opts(color=colors[m], line_dash=dash[m])
                       for m in d["per_step"]]).opts(
        responsive=True, min_width=360, height=230, legend_position="right",
        title=f"{title}: contribution of each step (gradient tap)")
    cum = hv.Overlay([hv.Curve((d["time_ms"], d["cumulative"][m]), "time (ms)", "Σ so far",
                               label=f"{m} (cosine to bptt {d['cosine_to_bptt'][m]:.3f})").opts(
        color=colors[m], line_dash=dash[m]) for m in d["cumulative"]]).opts(
        responsive=True, min_width=360, height=230, title="Running sum: the sequence's gradient",
        legend_position="right")
    return (step + cum).cols(1)


def gradient_view(**settings) -> pn.viewable.Viewable:
    """One hidden neuron's gradient, step by step, under spatial, traces and bptt."""
    if building():
        return StoredView("gradient_view", **settings)
    from .models.gradient import GradientLabModel

    model = GradientLabModel(**settings)
    _sync_url(model, ("parameter", "hidden", "seed"))
    widgets = [pn.widgets.RadioButtonGroup.from_param(model.param.parameter, css_classes=["wb-parameter"]),
               help_text("Gradient of the input weights w, or of the bucket weights v."),
               pn.widgets.IntSlider.from_param(model.param.hidden, name="hidden neuron",
                                               css_classes=["wb-hidden"]),
               help_text("Whose parameters (summed) are shown."),
               pn.widgets.IntInput.from_param(model.param.seed, name="seed", css_classes=["wb-seed"])]
    plot = pn.pane.HoloViews(backend="bokeh", sizing_mode="stretch_width")
    stats = pn.pane.Markdown(css_classes=["wb-gradient-stats"])

    def compute():  # the settings read now, in the lab thread when served
        return model.compute(), model.hidden, model.parameter

    def show(out):
        d, hidden, parameter = out
        plot.object = gradient_figure(d, f"hidden neuron {hidden}, {parameter}")
        stats.object = (f"**Hidden neuron {hidden}, {parameter}:** sequence gradient "
                        + " · ".join(f"{m} {d['cumulative'][m][-1]:.4g}" for m in d["cumulative"])
                        + " · whole layer, relative error to bptt: " + " · ".join(
                            f"{m} {d['relative_error'][m]:.2g}" for m in ("spatial", "traces")))

    show(compute())
    model.param.watch(lab_watcher(compute, show), ["parameter", "hidden", "seed"])
    return pn.Row(pn.Column(*widgets, width=300), pn.Column(stats, plot, sizing_mode="stretch_width"),
                  css_classes=["wb-live-view"], sizing_mode="stretch_width")


def raster(times_ms, channels, title: str, width: int = 640, height: int = 220):
    """A spike raster (time in ms against channel) for lesson figures."""
    return hv.Scatter((np.asarray(times_ms), np.asarray(channels)), "time (ms)", "channel").opts(
        width=width, height=height, size=3, color="black", title=title)


VIEWS.update(workbench_page=workbench_page, neuron_view=neuron_view, encoder_view=encoder_view,
             gradient_view=gradient_view)
