"""The Trainer's live figures: Bokeh figures built once per session, redrawn by replacing the
data of their ColumnDataSources. Time always in ms.

A redraw sends only new columns (and a title or a colour range) to the browser; nothing is
rebuilt. This is what lets one server redraw thirty sessions: rebuilding the ten HoloViews
elements of :mod:`workbench.pages.plots` cost ~270 ms of server CPU per redraw. The figures show
what :mod:`workbench.pages.plots` exports as PNG, from the same snapshot
(:mod:`workbench.serving.snapshot`) through the same arrays (:func:`workbench.pages.plots.columns`).

    live = LivePlots()
    live.update(snapshot)        # inside the session's callback (document lock held)
    live.figures["loss"]         # a bokeh figure, for pn.pane.Bokeh
"""
from __future__ import annotations

import numpy as np
from bokeh.models import ColorBar, ColumnDataSource, LinearColorMapper
from bokeh.palettes import RdBu11
from bokeh.plotting import figure

from .plots import COLORS, MAX_OUT, H, W, columns, titles

TOOLS = "pan,wheel_zoom,box_zoom,reset,save,hover"
RDBU_R = list(reversed(RdBu11))  # blue (negative) to red (positive), as "RdBu_r"
ORDER = ["input", "hidden", "output_spikes", "signal", "loss", "score", "kernels", "grad",
         "weights", "counts"]


def _fig(x_label: str, y_label: str, **kw):
    f = figure(width=W, height=H, tools=TOOLS, toolbar_location="above", **kw)
    f.xaxis.axis_label, f.yaxis.axis_label = x_label, y_label
    return f


def _xy() -> ColumnDataSource:
    return ColumnDataSource({"x": np.zeros(0), "y": np.zeros(0)})


class LivePlots:
    """Ten figures of one session and their sources; :meth:`update` redraws them all."""

    def __init__(self):
        self.figures, self.sources, self.mappers = {}, {}, {}
        for name, color in [("input", "#555555"), ("hidden", "#1f77b4")]:
            f = _fig("time (ms)", "neuron")
            src = self.sources[name] = _xy()
            f.scatter("x", "y", source=src, color=color, size=3, marker="square", line_alpha=0)
            self.figures[name] = f

        f = self.figures["output_spikes"] = _fig("time (ms)", "neuron", x_range=(0, 1),
                                                  y_range=(-0.5, 0.5))
        self.sources["target_spikes"], self.sources["output_spikes"] = _xy(), _xy()
        f.scatter("x", "y", source=self.sources["target_spikes"], size=22, marker="circle",
                  color="#2ca02c", fill_alpha=0.3, line_width=2, legend_label="target")
        f.scatter("x", "y", source=self.sources["output_spikes"], size=12, marker="triangle",
                  color="#d62728", legend_label="output")
        f.legend.location = "top_right"

        f = self.figures["signal"] = _fig("time (ms)", "signal")
        for j in range(MAX_OUT):  # a fixed number of curves: redraws never add glyphs
            f.line("x", "y", source=self.sources.setdefault(f"signal{j}", _xy()), line_width=2,
                   color=COLORS[j])
            f.line("x", "y", source=self.sources.setdefault(f"target{j}", _xy()),
                   line_dash="dashed", color="#2ca02c")

        for name, color, y_range in [("loss", "#d62728", None), ("score", "#1f77b4", (0, 1.05))]:
            f = _fig("epoch", name, **({"y_range": y_range} if y_range else {}))
            src = self.sources[name] = _xy()
            f.line("x", "y", source=src, color=color)
            f.scatter("x", "y", source=src, color=color, size=4)
            self.figures[name] = f

        f = self.figures["kernels"] = _fig("delay (ms)", "kernel")
        for j in range(MAX_OUT):
            f.line("x", "y", source=self.sources.setdefault(f"kernel{j}", _xy()), line_width=2,
                   color=COLORS[j])

        for name, x_label, y_label in [("grad", "time (ms)", "hidden neuron"),
                                       ("weights", "input neuron", "hidden neuron")]:
            f = _fig(x_label, y_label)
            mapper = self.mappers[name] = LinearColorMapper(palette=RDBU_R, low=-1, high=1)
            src = self.sources[name] = ColumnDataSource(
                {"image": [np.zeros((1, 1))], "x": [0.0], "y": [0.0], "dw": [1.0], "dh": [1.0]})
            f.image("image", x="x", y="y", dw="dw", dh="dh", source=src, color_mapper=mapper)
            f.add_layout(ColorBar(color_mapper=mapper, width=8), "right")
            f.grid.visible = False
            self.figures[name] = f

        f = self.figures["counts"] = _fig("layer", "spikes / neuron / s",
                                          x_range=["hidden", "output"], y_range=(0, 1))
        src = self.sources["counts"] = ColumnDataSource({"x": ["hidden", "output"], "y": [0.0, 0.0]})
        f.vbar(x="x", top="y", width=0.8, source=src, color="#7b2d8e")
        self.update({})

    def _set(self, name: str, data: dict) -> None:
        """New data for a source, unless it equals what the browser has (targets rarely move)."""
        old = self.sources[name].data
        if old.keys() == data.keys() and all(
                len(old[k]) == len(v) and np.array_equal(np.asarray(old[k]), np.asarray(v))
                for k, v in data.items()):
            return
        self.sources[name].data = data

    def update(self, snap: dict) -> None:
        """Redraw every figure from one snapshot (empty before the first epoch)."""
        c, title = columns(snap), titles(snap)
        for name in ORDER:
            self.figures[name].title.text = title[name]
        for name in ("input", "hidden", "output_spikes", "target_spikes", "loss", "score"):
            x, y = c[name]
            self._set(name, {"x": x, "y": y})
        f = self.figures["output_spikes"]
        f.x_range.start, f.x_range.end = 0, c["duration_ms"]
        f.y_range.start, f.y_range.end = -0.5, c["n_outputs"] - 0.5
        self.figures["score"].yaxis.axis_label = c["score_name"]
        for prefix in ("signal", "target", "kernel"):
            for j, (x, y) in enumerate(c[prefix]):
                self._set(f"{prefix}{j}", {"x": x, "y": y})
        for name in ("grad", "weights"):
            img, (x0, y0, x1, y1), lim = c[name]
            self.sources[name].data = {"image": [img], "x": [x0], "y": [y0], "dw": [x1 - x0],
                                       "dh": [y1 - y0]}
            self.mappers[name].update(low=-lim, high=lim)
        self._set("counts", {"x": ["hidden", "output"], "y": list(c["rates"])})
        self.figures["counts"].y_range.end = max(max(c["rates"]), 1.0) * 1.05

