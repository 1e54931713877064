"""Trainer page (landing page): settings, transport, live plots and downloads of one run."""
from __future__ import annotations

import panel as pn
import param
from panel.io import hold
from panel.io.callbacks import PeriodicCallback

from ..models.trainer import URL_KEYS, TrainerModel
from ..serving import classroom
from ..serving.session import TrainerSession
from . import plots
from .live_plots import ORDER, LivePlots
from .common import download, setting, template

IDLE_POLL_MS = 500  # paused or queued: thirty idle sessions must not keep the server busy

SETTINGS = ("preset", "dt_ms", "tau_ms", "n_buckets", "threshold_hidden", "threshold_out",
            "adaptive_threshold", "input_synapse_ms", "bucket_weights", "mode", "lr", "spike_cost",
            "spike_cost_ramp", "n_hidden", "seed", "speed")
#: where Panel's default widget for a param is not the one wanted (the rest: sliders, a select,
#: a checkbox); ranges, steps, labels and help come from the params themselves
WIDGET_TYPES = {"lr": pn.widgets.FloatInput, "spike_cost": pn.widgets.FloatInput,
                "seed": pn.widgets.IntInput, "spike_cost_ramp": pn.widgets.IntInput,
                "bucket_weights": pn.widgets.RadioButtonGroup, "mode": pn.widgets.RadioButtonGroup}


def settings_widgets(model: TrainerModel) -> list:
    """One widget per setting, derived from its param (range, step, label), its help below."""
    out = []
    for name in SETTINGS:
        kind = WIDGET_TYPES.get(name)
        if kind is pn.widgets.RadioButtonGroup:  # shows no label of its own
            out.append(pn.pane.Markdown(model.param[name].label, margin=(0, 10, -8, 10)))
        out += setting(model, name, kind)
    return out


def transport(model: TrainerSession) -> pn.Row:
    buttons = []
    for label, action, kind in [("Play", model.play, "success"), ("Pause", model.pause, "warning"),
                                ("Step", model.step, "primary"), ("Reset", model.reset, "danger")]:
        name = label.lower()
        b = pn.widgets.Button(name=label, button_type=kind, css_classes=[f"wb-{name}"], width=66,
                              margin=(5, 3))
        b.on_click(lambda event, action=action: action())
        buttons.append(b)
    return pn.Row(*buttons, sizing_mode="stretch_width")


def downloads(model: TrainerSession) -> list:
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


def create_page(model: TrainerSession | None = None):
    """The Trainer page of one browser session."""
    model = model or TrainerSession()
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
