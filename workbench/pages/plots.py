"""Figures of a Trainer snapshot (see :mod:`workbench.serving.snapshot`); time always in ms.

:func:`columns` and :func:`titles` turn a snapshot (possibly empty, before the first epoch) into
the arrays and titles of the ten figures; the HoloViews functions below draw them for the PNG
export (and anything else that wants elements), :mod:`workbench.pages.live_plots` for the live
page.
Bokeh options are set with ``backend="bokeh"`` so that the matplotlib renderer of the export
ignores them.
"""
from __future__ import annotations

import holoviews as hv
import holoviews.plotting.bokeh  # noqa: F401  (options below are bokeh options)
import numpy as np

W, H = 460, 230
_COMMON = dict(width=W, height=H, framewise=True, tools=["hover"], show_grid=True,
               toolbar="above")
MAX_OUT = 5  # fixed number of curves, so that live updates never add or remove glyphs
COLORS = ["#1f77b4", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2"]
_EMPTY = np.zeros(0)


# ---------------------------------------------------------------------- arrays and titles
def _xy(r: dict | None) -> tuple[np.ndarray, np.ndarray]:
    r = r or {"time_ms": _EMPTY, "neuron": _EMPTY}
    return np.asarray(r["time_ms"], dtype=float), np.asarray(r["neuron"], dtype=float)


def _column(a, j):
    return a[:, j] if a is not None and j < a.shape[1] else _EMPTY


def _curves(t, values) -> list[tuple[np.ndarray, np.ndarray]]:
    """MAX_OUT (time, values[:, j]) pairs, empty for the columns values does not have."""
    out = []
    for j in range(MAX_OUT):
        v = _column(values, j)
        out.append((t[:len(v)], v))
    return out


def _image(values: np.ndarray, x0: float, x1: float) -> tuple:
    """(rows = neurons [N, X], (left, bottom, right, top), symmetric colour limit)."""
    lim = float(np.abs(values).max()) or 1.0
    return values, (x0, -0.5, x1, values.shape[0] - 0.5), lim


def columns(s: dict) -> dict:
    """The arrays each figure draws, from one snapshot ({} before the first epoch)."""
    sig = s.get("signal") or {}
    t_sig = sig.get("time_ms", _EMPTY)
    rows = s.get("history") or [{"epoch": 0, "loss": np.nan}]
    score = s.get("score_name", "score")
    ep = np.array([r["epoch"] for r in rows], dtype=float)
    k = s.get("kernels") or {}
    kern = k.get("kernels")
    g = s.get("grad")
    if not g or len(g["time_ms"]) < 2:
        g = {"time_ms": np.array([0.0, 1.0]), "values": np.zeros((2, 1))}
    t_g = g["time_ms"]
    step = float(t_g[1] - t_g[0])
    w = s.get("weights")
    w = np.zeros((1, 1)) if w is None else w  # [H, N_in]
    return {"input": _xy(s.get("input_raster")), "hidden": _xy(s.get("hidden_raster")),
            "output_spikes": _xy(s.get("output_raster")),
            "target_spikes": _xy(s.get("target_raster")),
            "duration_ms": float(s.get("duration_ms", 1.0)),
            "n_outputs": max(int(s.get("n_outputs", 1)), 1),
            "signal": _curves(t_sig, sig.get("output")), "target": _curves(t_sig, sig.get("target")),
            "loss": (ep, np.array([r["loss"] for r in rows], dtype=float)),
            "score": (ep, np.array([r.get(score, np.nan) for r in rows], dtype=float)),
            "score_name": score,
            "kernel": _curves(k.get("time_ms", _EMPTY), kern),
            "grad": _image(g["values"].T, t_g[0] - step / 2, t_g[-1] + step / 2),  # [H, T_bins]
            "weights": _image(w, -0.5, w.shape[1] - 0.5),
            "rates": (list(s.get("rate_hz", [])) + [0.0, 0.0])[:2]}


def titles(s: dict) -> dict:
    """Each figure's title; the loss plot's names the epoch its plots show."""
    sig = s.get("signal") or {}
    score = s.get("score_name", "score")
    delays = ", ".join(f"{d:.1f}" for d in (s.get("kernels") or {}).get("delay_ms", []))
    counts = ", ".join(f"{n} {c}" for n, c in zip(["hidden", "output"], s.get("spike_counts", [])))
    return {"input": "Input spikes (last epoch)", "hidden": "Hidden spikes (last epoch)",
            "output_spikes": "Output spikes vs target spikes",
            "signal": ("Output signal x (solid) vs target (dashed)" if "target" in sig else
                       f"Output logits x per class (label {sig.get('label', '–')})"),
            "loss": f"Loss over epochs (last 500) · plots of epoch {s.get('epoch', 0)}",
            "score": f"Task metric: {score.replace('_', ' ')}",
            "kernels": f"Learned delay kernels Σₖ vᵏhₖ(t); delay (ms): {delays}",
            "grad": "Gradient tap ∂L/∂x (hidden layer, per step)",
            "weights": "Hidden-layer weights w_ij",
            "counts": "Spikes per neuron per second · counts " + counts}


# ---------------------------------------------------------------------- HoloViews elements
def _opts(el, **kw):
    if isinstance(el, hv.Overlay):  # framewise is a per-element option
        el = hv.Overlay([e.opts(backend="bokeh", framewise=True) for e in el])
    return el.opts(backend="bokeh", **{**_COMMON, **kw})


def _raster(xy, label: str, color: str):
    el = hv.Scatter(xy, "time (ms)", "neuron", label=label)
    return el.opts(backend="bokeh", color=color, size=3, marker="square", line_alpha=0)


def input_raster(s: dict):
    return _opts(_raster(columns(s)["input"], "input", "#555555"), title=titles(s)["input"])


def hidden_raster(s: dict):
    return _opts(_raster(columns(s)["hidden"], "hidden", "#1f77b4"), title=titles(s)["hidden"])


def output_spikes(s: dict):
    c = columns(s)
    out = _raster(c["output_spikes"], "output", "#d62728").opts(
        backend="bokeh", size=12, marker="triangle")
    tgt = _raster(c["target_spikes"], "target", "#2ca02c").opts(
        backend="bokeh", size=22, marker="circle", fill_alpha=0.3, line_alpha=1, line_width=2)
    return _opts(tgt * out, title=titles(s)["output_spikes"], legend_position="top_right",
                 xlim=(0, c["duration_ms"]), ylim=(-0.5, c["n_outputs"] - 0.5))


def output_signal(s: dict):
    c, curves = columns(s), []
    for out, tgt, color in zip(c["signal"], c["target"], COLORS):
        curves.append(hv.Curve(out, "time (ms)", "signal").opts(
            backend="bokeh", line_width=2, color=color))
        curves.append(hv.Curve(tgt, "time (ms)", "signal").opts(
            backend="bokeh", line_dash="dashed", color="#2ca02c"))
    return _opts(hv.Overlay(curves), title=titles(s)["signal"])


def history(s: dict):
    c, t = columns(s), titles(s)
    score = hv.Dimension("score", label=c["score_name"])
    loss = hv.Curve(c["loss"], "epoch", "loss").opts(backend="bokeh", color="#d62728")
    metric = hv.Curve(c["score"], "epoch", score).opts(backend="bokeh", color="#1f77b4")
    loss = loss * hv.Scatter(c["loss"], "epoch", "loss").opts(backend="bokeh", color="#d62728", size=4)
    metric = metric * hv.Scatter(c["score"], "epoch", score).opts(backend="bokeh", color="#1f77b4",
                                                                 size=4)
    return _opts(loss, title=t["loss"]), _opts(metric, title=t["score"], ylim=(0, 1.05))


def loss_history(s: dict):
    return history(s)[0]


def score_history(s: dict):
    return history(s)[1]


def kernels(s: dict):
    curves = [hv.Curve(xy, "delay (ms)", "kernel").opts(backend="bokeh", line_width=2, color=color)
              for xy, color in zip(columns(s)["kernel"], COLORS)]
    return _opts(hv.Overlay(curves), title=titles(s)["kernels"])


def _image_element(image, kdims, vdim: str, title: str):
    values, bounds, lim = image
    # hv.Image draws an array's first row on top; row i is neuron i, drawn at y = i
    img = hv.Image(np.flipud(values), bounds=bounds, kdims=kdims, vdims=[vdim])
    return _opts(img, title=title, cmap="RdBu_r", clim=(-lim, lim), colorbar=True, show_grid=False)


def weights(s: dict):
    return _image_element(columns(s)["weights"], ["input neuron", "hidden neuron"], "w",
                          titles(s)["weights"])


def grad_tap(s: dict):
    return _image_element(columns(s)["grad"], ["time (ms)", "hidden neuron"], "dL/dx",
                          titles(s)["grad"])


def counts(s: dict):
    bars = hv.Bars(list(zip(["hidden", "output"], columns(s)["rates"])), "layer",
                   "spikes / neuron / s")
    return _opts(bars, title=titles(s)["counts"], framewise=False, ylim=(0, None), color="#7b2d8e")


FIGURES = {"input": input_raster, "hidden": hidden_raster, "output_spikes": output_spikes,
           "signal": output_signal, "loss": loss_history, "score": score_history,
           "kernels": kernels, "weights": weights, "grad": grad_tap, "counts": counts}


def static_layout(s: dict):
    """All figures of a snapshot in one Layout (for export)."""
    return hv.Layout([FIGURES[name](s) for name in FIGURES]).cols(2)
