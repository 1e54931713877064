"""Neuron lab page: input spikes → K gamma buckets → signal → sigma-delta spikes and estimate."""
from __future__ import annotations

import holoviews as hv
import panel as pn

from ..models.neuron import URL_KEYS, NeuronLabModel
from .common import download, lab_watcher, setting, template

W = 520


def figures(d: dict):
    """The lab's figures from :meth:`NeuronLabModel.simulate` output (time in ms)."""
    t = d["time_ms"]
    inp = hv.Spikes(d["input_ms"], "time (ms)").opts(backend="bokeh", color="black", width=W,
                                                     height=90, title="Input spikes", yaxis=None)
    buckets = hv.Overlay([hv.Curve((t, d["buckets"][:, k]), "time (ms)", "bucket value",
                                   label=f"k={k} (v={d['v'][k]:.2f})")
                          for k in range(d["buckets"].shape[1])]).opts(
        backend="bokeh", width=W, height=250, title="Gamma buckets ŷᵏ of the input",
        legend_position="right", tools=["hover"])
    out = (hv.Curve((t, d["signal"]), "time (ms)", "signal", label="signal y").opts(
               backend="bokeh", line_width=2)
           * hv.Curve((t, d["estimate"]), "time (ms)", "signal", label="estimate ŷ⁰ from spikes").opts(
               backend="bokeh", color="#d62728")
           * hv.Spikes(d["spike_ms"], "time (ms)", label="output spikes").opts(
               backend="bokeh", color="#7b2d8e", spike_length=0.15 * max(d["signal"].max(), 1e-3))
           ).opts(backend="bokeh", width=W, height=250, legend_position="top_right",
                  title=f"Signal, sigma-delta spikes ({d['rate_hz']:.0f} spikes/s) and reconstruction")
    kt = d["kernel_time_ms"]
    kern = hv.Overlay([hv.Curve((kt, d["kernels"][:, k]), "time after a spike (ms)", "response",
                                label=f"k={k}: mean delay {d['bucket_delay_ms'][k]:.0f} ms")
                       for k in range(d["kernels"].shape[1])]).opts(
        backend="bokeh", width=W, height=250, legend_position="right",
        title="Gamma kernels of the buckets (in ms: the same at every dt)")
    return hv.Layout([inp, buckets, out, kern]).cols(1)


def lab_view(model: NeuronLabModel, keys=tuple(URL_KEYS), on_show=None):
    """Widgets for the settings ``keys`` and the live figures: ``(widgets, main, data)``, where
    ``data["d"]`` is the latest simulation shown (the Lessons page embeds the same view);
    ``on_show(d)``, if given, is called with each simulation shown, the first one included."""
    widgets = [w for name in keys for w in setting(model, name)]  # from the model's params
    data = {}
    plot = pn.pane.HoloViews(backend="bokeh", css_classes=["wb-neuron-plot"])
    warn = pn.pane.Alert(alert_type="warning", css_classes=["wb-warning"], visible=False)

    def show(d):
        data["d"] = d
        plot.object = figures(d)
        warn.object, warn.visible = d["warning"], bool(d["warning"])
        if on_show is not None:
            on_show(d)

    show(model.simulate())
    model.param.watch(lab_watcher(model.simulate, show), list(URL_KEYS))
    return widgets, pn.Column(warn, plot, sizing_mode="stretch_width"), data


def create_page(model: NeuronLabModel | None = None):
    model = model or NeuronLabModel()
    if pn.state.location is not None:
        pn.state.location.sync(model, dict(URL_KEYS))
    widgets, view, data = lab_view(model)

    def png():
        from ..exports import png_bytes
        return png_bytes(figures(data["d"]))

    def rec():
        from ..exports import netcdf_bytes
        import xarray as xr
        d = data["d"]
        ds = xr.Dataset({"buckets": (("time_ms", "bucket"), d["buckets"]),
                         "signal": (("time_ms",), d["signal"]),
                         "estimate": (("time_ms",), d["estimate"])},
                        coords={"time_ms": d["time_ms"]},
                        attrs={k: getattr(model, k) for k in URL_KEYS})
        return netcdf_bytes(ds)

    sidebar = [*widgets, pn.pane.Markdown("### Export"),
               download("Figures (PNG)", "neuron.png", png, "wb-dl-png"),
               download("Recording (NetCDF)", "neuron.nc", rec, "wb-dl-recording")]
    intro = pn.pane.Markdown(
        "One neuron with one input. Each input spike of height 1 enters **bucket 0**; bucket k "
        "spills into bucket k+1 with time constant τ, so bucket k is the input smoothed and "
        "delayed by about k·τ. The neuron's signal is y = ReLU(w·Σₖ vᵏ·ŷᵏ): the bucket weights "
        "v make a smooth, learnable delay. The sigma-delta encoder spikes whenever y exceeds its "
        "own estimate by ϑ. Equations: `engine/model/buckets.py`, `engine/model/encoder.py`.",
        sizing_mode="stretch_width")
    return template("neuron", sidebar, [pn.Column(intro, view, sizing_mode="stretch_width")])
