"""Resolution explorer page: one trained network at dt = 2, 1, 0.5, 0.1 ms beside a LIF baseline."""
from __future__ import annotations

import holoviews as hv
import numpy as np
import panel as pn

from ..resolution_model import DTS_MS, ResolutionModel
from .common import download, help_text, template


def figure(results: dict, which: str, title: str):
    rows = results.get(which, {})
    els = [hv.Spikes(results.get("target_ms", np.zeros(0)), "time (ms)", label="target").opts(
        backend="bokeh", color="#2ca02c", line_width=4, alpha=0.4, spike_length=len(DTS_MS),
        position=-0.5)]
    for i, dt in enumerate(DTS_MS):
        r = rows.get(dt, {"spike_ms": np.zeros(0), "matched_fraction": 0, "rate_hz": 0})
        els.append(hv.Spikes(r["spike_ms"], "time (ms)",
                             label=f"dt {dt:g} ms: matched {r['matched_fraction']:.2f}, "
                                   f"{r['rate_hz']:.0f} spikes/s").opts(
            backend="bokeh", position=i - 0.4, spike_length=0.8, line_width=2))
    return hv.Overlay(els).opts(backend="bokeh", width=620, height=280, title=title,
                                legend_position="bottom", yaxis=None, show_grid=True)


def create_page(model: ResolutionModel | None = None):
    model = model or ResolutionModel()
    if pn.state.location is not None:
        pn.state.location.sync(model, {"epochs": "epochs", "seed": "seed"})
    epochs = pn.widgets.IntSlider.from_param(model.param.epochs, name="training epochs (at 1 ms)",
                                             start=1, end=200, css_classes=["wb-epochs"])
    seed = pn.widgets.IntInput.from_param(model.param.seed, name="seed", css_classes=["wb-seed"])
    run = pn.widgets.Button(name="Run", button_type="primary", css_classes=["wb-run"])
    status = pn.pane.Markdown(model.param.status, css_classes=["wb-status"])
    gamma = pn.pane.HoloViews(figure({}, "gamma", "SpikingGamma"), backend="bokeh")
    lif = pn.pane.HoloViews(figure({}, "lif", "LIF + BPTT (surrogate)"), backend="bokeh")

    def on_run(_):
        model.status = "training and simulating…"
        run.disabled = True
        try:
            res = model.run()
            gamma.object = figure(res, "gamma", "SpikingGamma, trained at 1 ms")
            lif.object = figure(res, "lif", "LIF + BPTT with surrogate gradients, trained at 1 ms")
        except ValueError as err:
            model.status = f"error: {err}"
        finally:
            run.disabled = False

    run.on_click(on_run)

    def png():
        from ..exports import png_bytes
        return png_bytes(figure(model.results, "gamma", "SpikingGamma")
                         + figure(model.results, "lif", "LIF"))

    sidebar = [epochs, help_text("Epochs of the pattern task at dt = 1 ms (both networks)."),
               seed, run, pn.pane.Markdown("### Export"),
               download("Figures (PNG)", "resolution.png", png, "wb-dl-png")]
    intro = pn.pane.Markdown(
        "Both networks learn the `pattern` task at dt = 1 ms, then run at 2, 1, 0.5 and 0.1 ms "
        "with the same time constants in ms. SpikingGamma's buckets have dt-invariant kernels, "
        "so its output spikes should stay put; the LIF network's do not.")
    return template("resolution", sidebar, [pn.Column(intro, status, gamma, lif)])
