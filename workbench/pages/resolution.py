"""Resolution explorer page: networks trained at dt = 1 ms, run at 2 … 0.1 ms and at any test dt.

It opens with a result: the stored run (or, without one, a run trained in the background with a
progress bar); then the test-dt slider runs the same trained networks at any dt in 0.05–2 ms.
"""
from __future__ import annotations

import holoviews as hv
import holoviews.plotting.bokeh  # noqa: F401  (options below are bokeh options)
import numpy as np
import pandas as pd
import panel as pn

from ..models.resolution import DTS_MS, KINDS, LIF_KINDS, SG_KINDS, URL_KEYS, table_rows
from ..serving import classroom
from ..serving.resolution import ResolutionExplorer
from .common import download, setting, template

POLL_MS = 200
TITLES = {"sg-spatial": "SpikingGamma (online, spatial; 1-ms input synapse)",
          "sg-impulses": "SpikingGamma with impulse inputs (no input synapse)",
          "lif-bptt": "LIF + BPTT (surrogate)", "lif-ottt": "LIF + OTTT (surrogate, online)"}
DT_COLORS = ("#d62728", "#9467bd", "#2ca02c", "#1f77b4", "#111111")
COLORS = {"sg-spatial": "#7b2d8e", "sg-impulses": "#c080d0", "lif-bptt": "#1f77b4",
          "lif-ottt": "#ff7f0e"}


def spikes_figure(results: dict, kind: str, probe: dict | None = None):
    """Output spikes at each dt (one row each) against the target spikes (green bands)."""
    per_dt = results.get("dts", {}).get(kind, {})
    rows = [(f"{dt} ms", m) for dt, m in per_dt.items()]
    if probe and kind in probe:
        rows.append((f"test {probe[kind]['dt_ms']:g} ms", probe[kind]))
    n = max(len(rows), 1)
    tol = results.get("tolerance_ms", 2.0)
    targets = [t for ts in results.get("target_ms", []) for t in ts]
    bands = [hv.VSpan(t - tol, t + tol).opts(backend="bokeh", color="#2ca02c", alpha=0.15)
             for t in targets]
    els = [hv.Spikes(np.asarray(targets, dtype=float), "time (ms)", label="target ± 2 ms").opts(
        backend="bokeh", color="#2ca02c", line_width=3, spike_length=n, position=-0.5)]
    for i, (label, m) in enumerate(rows):
        times = np.asarray([t for ts in m["output_spike_ms"] for t in ts], dtype=float)
        y = n - 1 - i
        els.append(hv.Spikes(times, "time (ms)").opts(
            backend="bokeh", position=y - 0.4, spike_length=0.8, line_width=2,
            color=COLORS[kind]))
        els.append(hv.Text(2.0, y, f"{label}: {m['match_score']:.2f}", halign="left",
                           fontsize=8).opts(backend="bokeh"))
    return hv.Overlay(els + bands).opts(
        backend="bokeh", width=640, height=60 + 34 * n, title=TITLES[kind], yaxis=None,
        show_grid=True, show_legend=False)


def kernels_figure(results: dict):
    """The hidden layer's bucket kernels in ms at each dt, overlaid (one spike of height 1)."""
    curves = []
    for dt, k in results.get("kernels", {}).items():
        vals = k["values"]
        for b in range(vals.shape[1]):
            curves.append(hv.Curve((k["time_ms"], vals[:, b]), "time since the spike (ms)",
                                   "bucket value", label=f"dt {dt} ms").opts(
                backend="bokeh", line_width=1.5, interpolation="steps-mid",
                color=DT_COLORS[list(results["kernels"]).index(dt) % len(DT_COLORS)]))
    if not curves:
        curves = [hv.Curve([], "time since the spike (ms)", "bucket value")]
    return hv.Overlay(curves).opts(backend="bokeh", width=640, height=260, show_grid=True,
                                   legend_position="right",
                                   title="Bucket kernels in ms at each dt (hidden layer input)")


def create_page(model: ResolutionExplorer | None = None):
    model = model or ResolutionExplorer()
    if pn.state.location is not None:
        pn.state.location.sync(model, dict(URL_KEYS))
    # ranges, steps, labels and help: the model's params
    epochs = setting(model, "epochs")
    seed = setting(model, "seed", pn.widgets.IntInput)
    run = pn.widgets.Button(name="Run", button_type="primary", css_classes=["wb-run"])
    test_dt_setting = setting(model, "test_dt_ms", css_classes=["wb-test-dt"], disabled=True)
    test_dt = test_dt_setting[0]
    progress = pn.indicators.Progress(value=model.param.progress, max=100,
                                      sizing_mode="stretch_width", css_classes=["wb-progress"])
    status = pn.pane.Markdown(model.param.status, css_classes=["wb-status"])
    probe_text = pn.pane.Markdown("", css_classes=["wb-probe"])
    figs = {kind: pn.pane.HoloViews(spikes_figure({}, kind), backend="bokeh") for kind in KINDS}
    table = pn.pane.DataFrame(pd.DataFrame(), index=False, css_classes=["wb-table"])
    kernels = pn.pane.HoloViews(kernels_figure({}), backend="bokeh")
    work = {"thread": None, "pending": None, "drawn": 0, "done": 0, "error": None}

    def start(jobs, label):
        """Run ``jobs`` one after the other in a thread; each finished job is drawn. While a run
        is busy the latest request waits its turn (a slider moved twice runs once more)."""
        if work["thread"] is not None and work["thread"].is_alive():
            work["pending"] = (jobs, label)
            return
        model.status = label
        run.disabled = True

        def target():
            for job in jobs:
                try:
                    classroom.check_stopping()
                    job()
                except ValueError as err:  # bad settings: say so, keep the page running
                    work["error"] = str(err)
                    break
                except classroom.Stopping:
                    break
                finally:
                    work["done"] += 1

        work["thread"] = classroom.background(target)

    def draw():
        res, probe = model.results, model.probe_results
        for kind, pane in figs.items():
            pane.object = spikes_figure(res, kind, probe)
        rows = table_rows(res)
        for kind, m in (probe or {}).items():
            rows += table_rows({"dts": {kind: {f"{m['dt_ms']:g} (test)": m}}})
        table.object = pd.DataFrame(rows)
        kernels.object = kernels_figure(res)
        if probe.get("sg-spatial"):
            sg = probe["sg-spatial"]
            lifs = [f"{k.upper()} {round(probe[k]['matched_fraction'] * probe[k]['target_spikes'])}"
                    f"/{probe[k]['target_spikes']}, {probe[k]['spurious_spikes']} spurious"
                    for k in KINDS[1:] if k in probe]
            probe_text.object = (
                f"**At test dt = {sg['dt_ms']:g} ms:** SpikingGamma matched "
                f"{round(sg['matched_fraction'] * sg['target_spikes'])}/{sg['target_spikes']}, "
                f"{sg['spurious_spikes']} spurious" + "".join(" · " + t for t in lifs))

    def poll():
        idle = work["thread"] is not None and not work["thread"].is_alive()  # before the count
        if work["done"] != work["drawn"]:
            work["drawn"] = work["done"]
            if work["error"]:
                model.status = f"error: {work['error']}"
                work["error"] = None
            draw()
        if idle and work["pending"] is not None:
            pending, work["pending"] = work["pending"], None
            start(*pending)
        elif idle and run.disabled:
            run.disabled = test_dt.disabled = False

    def probe_jobs(dt):
        # SpikingGamma first (fast), then the LIF networks (their per-step loop is slower)
        return [lambda: model.probe(dt, tuple(SG_KINDS)), lambda: model.probe(dt, LIF_KINDS)]

    def slider_jobs(dt):
        done = f"ran the trained networks at test dt = {dt:g} ms (the table's '(test)' rows)"
        return [*probe_jobs(dt), lambda: setattr(model, "status", done)]

    def compare_jobs():
        return [model.compare, *probe_jobs(test_dt.value)]

    run.on_click(lambda _: start(compare_jobs(), "training and running at each dt…"))
    test_dt.param.watch(lambda e: start(slider_jobs(e.new),
                                        f"running the trained networks at {e.new:g} ms…"), "value")

    if pn.state.curdoc is not None and pn.state.curdoc.session_context is not None:
        pn.state.add_periodic_callback(poll, period=POLL_MS)
        pn.state.onload(lambda: start(compare_jobs(), "loading the trained networks and running "
                                                       "them at each dt…"))

    def png():
        from ..exports import png_bytes
        res = model.results
        return png_bytes(hv.Layout([spikes_figure(res, k) for k in figs] + [kernels_figure(res)])
                         .cols(1))

    sidebar = [*epochs, *seed, run, progress, pn.pane.Markdown("### Test at any dt"),
               *test_dt_setting,
               pn.pane.Markdown("### Export"),
               download("Figures (PNG)", "resolution.png", png, "wb-dl-png")]
    intro = pn.pane.Markdown(
        f"Four networks learn the `pattern` task (three precise output spikes) at dt = 1 ms, "
        f"then run unchanged at {', '.join(f'{d:g}' for d in DTS_MS)} ms: SpikingGamma with "
        "online learning, the same with impulse inputs, and LIF networks trained with surrogate "
        "gradients (BPTT, OTTT). SpikingGamma's buckets step exactly in ms "
        "(`engine.model.buckets.bucket_step`) and its encoder sends as many spikes per step as the "
        "signal needs (`engine.model.encoder`), so its kernels are the same in ms at every dt (last "
        "plot). Its input events enter through a 1-ms synapse (`engine.model.synapse`): with "
        "impulses instead, the hidden signal has sub-millisecond peaks that a 1-ms grid steps "
        "over and a finer grid sees, so the network fires more, and its output spikes can move, "
        "below the dt it was trained at (compare the two SpikingGamma rows; BENCHMARKS.md, "
        "resolution).")
    main = [pn.Column(intro, status, probe_text, table, *figs.values(), kernels)]
    return template("resolution", sidebar, main)
