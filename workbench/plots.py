"""HoloViews figures of a Trainer snapshot (see :mod:`workbench.snapshot`); time always in ms.

Each function maps a snapshot dict (possibly empty, before the first epoch) to one element, so
the same functions feed the live DynamicMaps and the PNG export. Bokeh options are set with
``backend="bokeh"`` so that the matplotlib renderer of the export ignores them.
"""
from __future__ import annotations

import holoviews as hv
import holoviews.plotting.bokeh  # noqa: F401  (options below are bokeh options)
import numpy as np

W, H = 460, 230
_COMMON = dict(width=W, height=H, framewise=True, tools=["hover"], show_grid=True,
               toolbar="above")


def _opts(el, **kw):
    if isinstance(el, hv.Overlay):  # framewise is a per-element option
        el = hv.Overlay([e.opts(backend="bokeh", framewise=True) for e in el])
    return el.opts(backend="bokeh", **{**_COMMON, **kw})


def _raster(r: dict | None, label: str, color: str, n: int | None = None):
    r = r or {"time_ms": np.zeros(0), "neuron": np.zeros(0)}
    el = hv.Scatter((r["time_ms"], r["neuron"]), "time (ms)", "neuron", label=label)
    return el.opts(backend="bokeh", color=color, size=3, marker="square", line_alpha=0)


def input_raster(s: dict):
    return _opts(_raster(s.get("input_raster"), "input", "#555555"), title="Input spikes (last epoch)")


def hidden_raster(s: dict):
    return _opts(_raster(s.get("hidden_raster"), "hidden", "#1f77b4"),
                 title="Hidden spikes (last epoch)")


def output_spikes(s: dict):
    out = _raster(s.get("output_raster"), "output", "#d62728").opts(
        backend="bokeh", size=12, marker="triangle")
    tgt = _raster(s.get("target_raster"), "target", "#2ca02c").opts(
        backend="bokeh", size=22, marker="circle", fill_alpha=0.3, line_alpha=1, line_width=2)
    return _opts(tgt * out, title="Output spikes vs target spikes", legend_position="top_right",
                 xlim=(0, s.get("duration_ms", 1.0)),
                 ylim=(-0.5, max(s.get("n_outputs", 1), 1) - 0.5))


MAX_OUT = 5  # fixed number of curves, so that live updates never add or remove glyphs
_COLORS = ["#1f77b4", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2"]


def _column(a, j):
    return a[:, j] if a is not None and j < a.shape[1] else np.zeros(0)


def output_signal(s: dict):
    sig = s.get("signal") or {}
    t = sig.get("time_ms", np.zeros(0))
    curves = []
    for j in range(MAX_OUT):
        out = _column(sig.get("output"), j)
        curves.append(hv.Curve((t[:len(out)], out), "time (ms)", "signal").opts(
            backend="bokeh", line_width=2, color=_COLORS[j]))
        tgt = _column(sig.get("target"), j)
        curves.append(hv.Curve((t[:len(tgt)], tgt), "time (ms)", "signal").opts(
            backend="bokeh", line_dash="dashed", color="#2ca02c"))
    title = ("Output signal x (solid) vs target (dashed)" if "target" in sig else
             f"Output logits x per class (label {sig.get('label', '–')})")
    return _opts(hv.Overlay(curves), title=title)


def history(s: dict):
    rows = s.get("history") or [{"epoch": 0, "loss": np.nan}]
    score = s.get("score_name", "score")
    ep = np.array([r["epoch"] for r in rows], dtype=float)
    loss_v = np.array([r["loss"] for r in rows], dtype=float)
    score_v = np.array([r.get(score, np.nan) for r in rows], dtype=float)
    loss = hv.Curve((ep, loss_v), "epoch", "loss").opts(
        backend="bokeh", color="#d62728")
    metric = hv.Curve((ep, score_v), "epoch", hv.Dimension("score", label=score)).opts(
        backend="bokeh", color="#1f77b4")
    loss = loss * hv.Scatter(loss.data, "epoch", "loss").opts(backend="bokeh", color="#d62728", size=4)
    metric = metric * hv.Scatter(metric.data, "epoch", hv.Dimension("score", label=score)).opts(
        backend="bokeh", color="#1f77b4", size=4)
    return (_opts(loss, title=f"Loss over epochs (last 500) · plots of epoch {s.get('epoch', 0)}"),
            _opts(metric, title=f"Task metric: {score.replace('_', ' ')}", ylim=(0, 1.05)))


def loss_history(s: dict):
    return history(s)[0]


def score_history(s: dict):
    return history(s)[1]


def kernels(s: dict):
    k = s.get("kernels") or {}
    t = k.get("time_ms", np.zeros(0))
    curves = [hv.Curve((t, _column(k.get("kernels"), j)) if j < k.get("kernels", np.zeros((0, 0))).shape[1]
                       else (np.zeros(0), np.zeros(0)), "delay (ms)", "kernel").opts(
                  backend="bokeh", line_width=2, color=_COLORS[j]) for j in range(MAX_OUT)]
    delays = ", ".join(f"{d:.1f}" for d in k.get("delay_ms", []))
    return _opts(hv.Overlay(curves), title=f"Learned delay kernels Σₖ vᵏhₖ(t); delay (ms): {delays}")


def weights(s: dict):
    w = s.get("weights")
    w = np.zeros((1, 1)) if w is None else w
    lim = float(np.abs(w).max()) or 1.0
    img = hv.Image(w, bounds=(-0.5, -0.5, w.shape[1] - 0.5, w.shape[0] - 0.5),
                   kdims=["input neuron", "hidden neuron"], vdims=["w"])
    return _opts(img, title="Hidden-layer weights w_ij", cmap="RdBu_r", clim=(-lim, lim),
                 colorbar=True, show_grid=False)


def grad_tap(s: dict):
    g = s.get("grad")
    if not g or len(g["time_ms"]) < 2:
        g = {"time_ms": np.array([0.0, 1.0]), "values": np.zeros((2, 1))}
    v, t = g["values"], g["time_ms"]
    lim = float(np.abs(v).max()) or 1.0
    step = float(t[1] - t[0])
    img = hv.Image(v.T, bounds=(t[0] - step / 2, -0.5, t[-1] + step / 2, v.shape[1] - 0.5),
                   kdims=["time (ms)", "hidden neuron"], vdims=["dL/dx"])
    return _opts(img, title="Gradient tap ∂L/∂x (hidden layer, per step)", cmap="RdBu_r",
                 clim=(-lim, lim), colorbar=True, show_grid=False)


def counts(s: dict):
    names = ["hidden", "output"]
    rates = list(s.get("rate_hz", [])) + [0.0, 0.0]
    bars = hv.Bars([(n, r) for n, r in zip(names, rates)], "layer", "spikes / neuron / s")
    cnt = s.get("spike_counts", [])
    title = "Spikes per neuron per second · counts " + ", ".join(
        f"{n} {c}" for n, c in zip(names, cnt))
    return _opts(bars, title=title, framewise=False, ylim=(0, None), color="#7b2d8e")


FIGURES = {"input": input_raster, "hidden": hidden_raster, "output_spikes": output_spikes,
           "signal": output_signal, "loss": loss_history, "score": score_history, "kernels": kernels, "weights": weights,
           "grad": grad_tap, "counts": counts}


def static_layout(s: dict):
    """All figures of a snapshot in one Layout (for export)."""
    return hv.Layout([FIGURES[name](s) for name in FIGURES]).cols(2)
