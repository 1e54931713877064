"""Live views that lessons embed: the workbench's labs as Panel layouts, and its pages in a frame.

Every view is built per call (one per session) and carries the CSS class ``wb-live-view``; the
lesson's text around it lives in ``lessons/``. ``setup()`` loads Panel and HoloViews the way a
notebook needs them.
"""
from __future__ import annotations

from urllib.parse import urlencode

import holoviews as hv
import numpy as np
import panel as pn

from .pages.common import help_text

SERVER = "http://127.0.0.1:5006"  # where `spikinggamma serve` runs by default (notebook links)


def setup() -> None:
    """Load Panel and HoloViews (Bokeh) for a notebook, a script or the Lessons page."""
    pn.extension(notifications=True)
    hv.extension("bokeh", logo=False)


def served() -> bool:
    """True inside a workbench session (the Lessons page), False in a notebook or a script."""
    return pn.state.curdoc is not None and pn.state.curdoc.session_context is not None


def workbench_page(page: str, height: int = 900, **query) -> pn.viewable.Viewable:
    """The workbench page ``page`` ("trainer", "neuron", "resolution") with settings ``query``
    (its URL keys), framed in the lesson; in a notebook, a link to a running workbench."""
    path = f"{page}?{urlencode(query)}" if query else page
    if served():
        return pn.pane.HTML(f'<iframe src="./{path}" style="width:100%;height:{height}px;border:1px '
                            f'solid #ccc" title="{page}"></iframe>', sizing_mode="stretch_width",
                            height=height + 10, css_classes=["wb-live-view", f"wb-frame-{page}"])
    return pn.pane.Markdown(f"Live view: run `spikinggamma serve`, then open "
                            f"[{SERVER}/{path}]({SERVER}/{path}).", css_classes=["wb-live-view"])


def _slider(model, name: str, label: str, step: float, css: str):
    return pn.widgets.FloatSlider.from_param(model.param[name], name=label, step=step,
                                             css_classes=[css], sizing_mode="stretch_width")


def neuron_view(keys=("dt_ms", "tau_ms", "delay_ms"), **settings) -> pn.viewable.Viewable:
    """The Neuron lab (input spikes → buckets → signal → spikes) with the controls ``keys``."""
    from .neuron_model import NeuronLabModel
    from .pages.neuron import lab_view

    model = NeuronLabModel(**settings)
    widgets, main, data = lab_view(model, keys)
    stats = pn.pane.Markdown(css_classes=["wb-neuron-stats"])

    def update(*_):  # runs after lab_view's own watcher has refreshed data["d"]
        d = data["d"]
        stats.object = (f"**{len(d['spike_ms'])} output spikes** ({d['rate_hz']:.0f} per s) · "
                        f"peak signal {d['signal'].max():.4f} at "
                        f"{d['time_ms'][d['signal'].argmax()]:.1f} ms")

    update()
    model.param.watch(update, list(keys))
    return pn.Row(pn.Column(*widgets, width=300), pn.Column(stats, main),
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
            ).opts(width=640, height=300, legend_position="top_left", show_grid=True,
                   title=f"{d['n_spikes']} spikes ({d['rate_hz']:.0f} per s), "
                         f"RMS error {d['rms_error']:.3f}")


def encoder_view(**settings) -> pn.viewable.Viewable:
    """A signal sigma-delta coded: sliders ϑ, dt and τ; spikes, reconstruction and error live."""
    from .encoder_model import EncoderLabModel

    model = EncoderLabModel(**settings)
    widgets = [_slider(model, "threshold", "ϑ (signal units)", 0.005, "wb-threshold"),
               help_text("Each spike adds 2ϑ to the estimate ŷ⁰."),
               _slider(model, "dt_ms", "dt (ms)", 0.05, "wb-dt-ms"),
               help_text("The simulation step. Watch the spike count."),
               _slider(model, "tau_ms", "τ (ms)", 0.5, "wb-tau-ms"),
               help_text("How fast the estimate decays between spikes.")]
    d = model.simulate()
    plot = pn.pane.HoloViews(encoder_figure(d), backend="bokeh")
    stats = pn.pane.Markdown(css_classes=["wb-encoder-stats"])
    warn = pn.pane.Alert(alert_type="warning", visible=False)

    def update(*_):
        d = model.simulate()
        plot.object = encoder_figure(d)
        stats.object = (f"**{d['n_spikes']} spikes** in 200 ms · RMS error {d['rms_error']:.3f} · "
                        f"largest error {d['max_error']:.3f} (ϑ = {model.threshold:g})")
        warn.object, warn.visible = d["warning"], bool(d["warning"])

    update()
    model.param.watch(update, ["threshold", "dt_ms", "tau_ms"])
    return pn.Row(pn.Column(*widgets, width=300), pn.Column(stats, warn, plot),
                  css_classes=["wb-live-view"], sizing_mode="stretch_width")


def gradient_figure(d: dict, title: str):
    colors = {"spatial": "#1f77b4", "traces": "#ff7f0e", "bptt": "#2ca02c"}
    dash = {"spatial": "solid", "traces": "solid", "bptt": "dashed"}
    step = hv.Overlay([hv.Curve((d["time_ms"], d["per_step"][m]), "time (ms)", "∂L(t)/∂θ",
                                label=m).opts(color=colors[m], line_dash=dash[m])
                       for m in d["per_step"]]).opts(width=640, height=230, title=f"{title}: "
                                                     "contribution of each step (gradient tap)",
                                                     legend_position="right")
    cum = hv.Overlay([hv.Curve((d["time_ms"], d["cumulative"][m]), "time (ms)", "Σ so far",
                               label=f"{m} (cosine to bptt {d['cosine_to_bptt'][m]:.3f})").opts(
        color=colors[m], line_dash=dash[m]) for m in d["cumulative"]]).opts(
        width=640, height=230, title="Running sum: the sequence's gradient", legend_position="right")
    return (step + cum).cols(1)


def gradient_view(**settings) -> pn.viewable.Viewable:
    """One hidden neuron's gradient, step by step, under spatial, traces and bptt."""
    from .gradient_model import GradientLabModel

    model = GradientLabModel(**settings)
    widgets = [pn.widgets.RadioButtonGroup.from_param(model.param.parameter, css_classes=["wb-parameter"]),
               help_text("Gradient of the input weights w, or of the bucket weights v."),
               pn.widgets.IntSlider.from_param(model.param.hidden, name="hidden neuron",
                                               css_classes=["wb-hidden"]),
               help_text("Whose parameters (summed) are shown."),
               pn.widgets.IntInput.from_param(model.param.seed, name="seed", css_classes=["wb-seed"])]
    plot = pn.pane.HoloViews(backend="bokeh")
    stats = pn.pane.Markdown(css_classes=["wb-gradient-stats"])

    def update(*_):
        d = model.compute()
        plot.object = gradient_figure(d, f"hidden neuron {model.hidden}, {model.parameter}")
        stats.object = (f"**Hidden neuron {model.hidden}, {model.parameter}:** sequence gradient "
                        + " · ".join(f"{m} {d['cumulative'][m][-1]:.4g}" for m in d["cumulative"])
                        + " · whole layer, relative error to bptt: " + " · ".join(
                            f"{m} {d['relative_error'][m]:.2g}" for m in ("spatial", "traces")))

    update()
    model.param.watch(update, ["parameter", "hidden", "seed"])
    return pn.Row(pn.Column(*widgets, width=300), pn.Column(stats, plot),
                  css_classes=["wb-live-view"], sizing_mode="stretch_width")


def raster(times_ms, channels, title: str, width: int = 640, height: int = 220):
    """A spike raster (time in ms against channel) for lesson figures."""
    return hv.Scatter((np.asarray(times_ms), np.asarray(channels)), "time (ms)", "channel").opts(
        width=width, height=height, size=3, color="black", title=title)
