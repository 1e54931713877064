"""Trainer page (landing page): settings, transport, live plots and downloads of one run."""
from __future__ import annotations

import time

import panel as pn
import param
from panel.io import hold
from panel.io.callbacks import PeriodicCallback

from .. import classroom, plots
from ..live_plots import ORDER, LivePlots
from ..trainer_model import URL_KEYS, TrainerModel
from .common import download, help_text, template

IDLE_POLL_MS = 500  # paused or queued: thirty idle sessions must not keep the server busy

HELP = {
    "preset": "Task: `pattern` learns 3 precise output spikes; `coincidence` learns delays "
              "(interaural time difference). Restarts.",
    "dt_ms": "Simulation time step in ms (0.05–5). Applies live: training continues at the new "
             "resolution; all parameters are in ms.",
    "tau_ms": "Time constant τ of each gamma bucket (ms). Applies live (τ is carried over).",
    "n_buckets": "Number K of gamma buckets per input; mean delay of bucket k ≈ (k+1)·τ. "
                 "**Changing K restarts the network.**",
    "threshold_hidden": "Sigma-delta threshold ϑ of the hidden layer (signal units); "
                        "a spike carries 2ϑ. Applies live.",
    "threshold_out": "Output threshold ϑ (signal units). Applies live.",
    "adaptive_threshold": "ϑ rises by 0.5·ϑ per spike and decays with 15 ms: fewer spikes.",
    "input_synapse_ms": "Time constant τ_s (ms) of the synapse input events pass before the "
                        "buckets; 0: each event is a jump. With τ_s ≈ 1 ms a network trained at "
                        "one dt keeps its spikes at finer dt (Resolution explorer). Applies live.",
    "bucket_weights": "Bucket weights v per neuron (one delay kernel per neuron) or per synapse "
                      "(one per synapse). Restarts.",
    "mode": "`spatial`: gradient through the current step only; `traces`: eligibility traces "
            "(exact for one hidden layer, slower). Restarts.",
    "lr": "Adam learning rate (one update per sequence). Applies live.",
    "n_hidden": "Hidden neurons. Restarts.",
    "seed": "Seed of weights and task data. Restarts.",
    "speed": "At most this many epochs per second (20 = as fast as the CPU allows).",
}

WIDGETS = {
    "dt_ms": dict(type=pn.widgets.FloatSlider, start=0.05, end=5.0, step=0.05, name="dt (ms)"),
    "tau_ms": dict(type=pn.widgets.FloatSlider, start=0.5, end=20.0, step=0.5, name="τ (ms)"),
    "n_buckets": dict(type=pn.widgets.IntSlider, start=1, end=8, name="buckets K"),
    "threshold_hidden": dict(type=pn.widgets.FloatSlider, start=0.01, end=1.0, step=0.01,
                             name="hidden ϑ (signal units)"),
    "threshold_out": dict(type=pn.widgets.FloatSlider, start=0.05, end=2.0, step=0.05,
                          name="output ϑ (signal units)"),
    "lr": dict(type=pn.widgets.FloatInput, start=1e-5, end=0.5, step=1e-3,
               name="learning rate"),
    "n_hidden": dict(type=pn.widgets.IntSlider, start=4, end=200, name="hidden neurons"),
    "seed": dict(type=pn.widgets.IntInput, start=0, end=10**6, name="seed"),
    "speed": dict(type=pn.widgets.FloatSlider, start=0.2, end=20.0, step=0.2,
                  name="speed (epochs/s, max)"),
    "preset": dict(type=pn.widgets.Select, name="preset (task)"),
    "bucket_weights": dict(type=pn.widgets.RadioButtonGroup, name="bucket weights v"),
    "mode": dict(type=pn.widgets.RadioButtonGroup, name="learning mode"),
    "adaptive_threshold": dict(type=pn.widgets.Checkbox, name="adaptive threshold"),
    "input_synapse_ms": dict(type=pn.widgets.FloatSlider, start=0.0, end=5.0, step=0.25,
                             name="input synapse τ_s (ms)"),
}


def settings_widgets(model: TrainerModel) -> list:
    out = []
    for name in ["preset", "dt_ms", "tau_ms", "n_buckets", "threshold_hidden", "threshold_out",
                 "adaptive_threshold", "input_synapse_ms", "bucket_weights", "mode", "lr",
                 "n_hidden", "seed", "speed"]:
        spec = dict(WIDGETS[name])
        cls = spec.pop("type")
        css = f"wb-{name.replace('_', '-')}"
        if cls is pn.widgets.RadioButtonGroup:
            out.append(pn.pane.Markdown(spec.pop("name"), margin=(0, 10, -8, 10)))
        w = cls.from_param(model.param[name], css_classes=[css], sizing_mode="stretch_width",
                           **spec)
        out += [w, help_text(HELP[name])]
    return out


def transport(model: TrainerModel) -> pn.Row:
    buttons = []
    for label, action, kind in [("Play", model.play, "success"), ("Pause", model.pause, "warning"),
                                ("Step", model.step, "primary"), ("Reset", model.reset, "danger")]:
        name = label.lower()
        b = pn.widgets.Button(name=label, button_type=kind, css_classes=[f"wb-{name}"], width=66,
                              margin=(5, 3))
        b.on_click(lambda event, action=action: action())
        buttons.append(b)
    return pn.Row(*buttons, sizing_mode="stretch_width")


def downloads(model: TrainerModel) -> list:
    from .. import exports

    def png():
        return exports.png_bytes(plots.static_layout(model.latest() or {}))

    def command():
        return (model.cli_command() + "\n").encode()

    return [download("Figures (PNG)", "trainer.png", png, "wb-dl-png"),
            download("Recording (NetCDF)", "recording.nc", lambda: model.export("recording"),
                     "wb-dl-recording"),
            download("Model (state dict + config)", "model.pt", lambda: model.export("model"),
                     "wb-dl-model"),
            download("CLI command", "train.sh", command, "wb-dl-command")]


def create_page(model: TrainerModel | None = None):
    """The Trainer page of one browser session."""
    model = model or TrainerModel()
    if pn.state.location is not None:
        model.apply_url_state(dict(pn.state.location.query_params))  # preset defaults, then the link
        with model.applying_url():
            pn.state.location.sync(model, dict(URL_KEYS))
    live = LivePlots()
    status = pn.pane.Markdown(model.param.status, css_classes=["wb-status"],
                              styles={"font-size": "1.1em"})
    alert = pn.pane.Alert(model.param.error, alert_type="danger", css_classes=["wb-error"],
                          visible=model.param.error.rx.bool())
    cmd = pn.pane.Markdown(pn.bind(lambda epoch, *_: f"`{model.cli_command()}`",
                                   model.param.epoch, *[model.param[n] for n in URL_KEYS]),
                           css_classes=["wb-command"])

    callback = {}

    def poll():
        # one tick, one message: status line, command and (when an epoch is new) every plot's
        # data leave together (hold); ticks are 1/max_redraws_per_s apart while the run trains
        with hold():
            snap = model.pull()
            if snap is not None:
                live.update(snap)
        period = (round(1000 / classroom.LIMITS.max_redraws_per_s)
                  if model.status.startswith("training") else IDLE_POLL_MS)
        if callback["cb"].period != period:
            callback["cb"].period = period

    if pn.state.curdoc is not None and pn.state.curdoc.session_context is not None:
        # background: Panel marks every foreground callback "busy", and pn.state.busy sets the
        # busy indicator of every session's template: with thirty sessions each tick of each
        # one cost thirty updates, 60 % of the server's event loop (py-spy)
        callback["cb"] = PeriodicCallback(callback=poll, period=IDLE_POLL_MS, background=True)
        callback["cb"].start()

        def closed(ctx):
            callback["cb"].stop()
            model.close()
        pn.state.on_session_destroyed(closed)
    # one Column, not 40 items: the template adds each item as a document root, and Bokeh
    # re-walks every model of the document per root (2.6 s of server CPU per session with 40)
    sidebar = [pn.Column(transport(model), *settings_widgets(model), pn.pane.Markdown("### Export"),
                         *downloads(model), sizing_mode="stretch_width")]
    grid = pn.GridBox(*[pn.pane.Bokeh(live.figures[n], css_classes=[f"wb-plot-{n}"])
                        for n in ORDER], ncols=2)
    main = [pn.Column(status, alert, grid, pn.pane.Markdown("**Equivalent command:**"), cmd,
                      sizing_mode="stretch_width")]
    page = template("trainer", sidebar, main)
    # no busy spinner: Panel keeps one process-wide "busy" flag and sets the spinner of every
    # session's page each time any session handles an event (N sessions: N updates per event)
    with param.edit_constant(page):
        page.busy_indicator = None
    page.wb_model, page.wb_live = model, live  # for tests and the benchmark
    return page
