"""Headless tests of the workbench's param models (no browser, no Panel server)."""
import subprocess
import sys
import time

from workbench.models.trainer import TrainerModel
from workbench.serving.session import TrainerSession


def test_import_is_light():
    code = "import sys, workbench; print('panel' in sys.modules or 'torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_models_and_serving_import_no_panel():
    code = ("import sys, workbench.models.trainer, workbench.models.neuron, workbench.models.encoder, "
            "workbench.models.gradient, workbench.models.resolution, workbench.serving.session, "
            "workbench.serving.resolution; print('panel' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_models_hold_no_threads():
    import workbench.models as models
    for path in sorted(__import__("pathlib").Path(models.__file__).parent.glob("*.py")):
        assert "threading" not in path.read_text(), path.name


def test_widget_ranges_and_help_come_from_the_params():
    """Each setting's range, step, label and help are written once, on its param."""
    import panel as pn

    from workbench.pages.trainer import SETTINGS, settings_widgets
    m = TrainerModel()
    widgets = {w.css_classes[0]: w for w in settings_widgets(m) if isinstance(w, pn.widgets.Widget)}
    helps = [h.object for h in settings_widgets(m) if isinstance(h, pn.pane.Markdown)]
    for name in SETTINGS:
        p, w = m.param[name], widgets[f"wb-{name.replace('_', '-')}"]
        assert p.doc in helps
        if getattr(p, "softbounds", None) is not None:
            assert (w.start, w.end) == p.softbounds, name
    assert widgets["wb-lr"].end == m.param.lr.softbounds[1]
    m.lr = m.param.lr.softbounds[1] * 1.5  # outside the widget's range: refused the same way
    assert "lr" in m.error and m.lr == 3e-2
    m.seed = m.param.seed.softbounds[1]
    assert m.error == ""


def test_bad_dt_shows_message_and_keeps_state():
    m = TrainerSession()
    m.train_epochs(1)
    m.dt_ms = 0.0
    assert "dt_ms" in m.error
    assert m.dt_ms == 1.0 and m.ex.net.dt_ms == 1.0
    m.n_buckets = 0  # the engine's own validation names the field
    assert "n_buckets" in m.error and m.n_buckets == 4
    m.dt_ms = 0.5
    assert m.error == ""
    assert m.train_epochs(1)[0]["dt_ms"] == 0.5


def test_training_reduces_loss():
    m = TrainerSession()
    rows = m.train_epochs(10)
    assert max(r["loss"] for r in rows[-3:]) < 0.7 * rows[0]["loss"]
    snap = m.latest()
    assert snap["grad"]["values"].shape[1] == 50
    assert snap["kernels"]["kernels"].shape[1] == 1


def test_dt_change_mid_training_keeps_training():
    m = TrainerSession()
    m.train_epochs(2)
    weights = m.ex.net.layers[0].weight.detach().clone()
    m.dt_ms = 0.5
    rows = m.train_epochs(2)
    assert [r["dt_ms"] for r in rows] == [0.5, 0.5]
    assert m.epoch == 4  # same run, not restarted
    assert not (m.ex.net.layers[0].weight.detach() == weights).all()
    assert m.latest()["signal"]["time_ms"][-1] > 400  # time stays in ms


def test_tau_carries_over_and_k_restarts():
    m = TrainerSession()
    m.train_epochs(1)
    m.tau_ms = 4.0
    m.train_epochs(1)
    assert m.epoch == 2 and float(m.ex.net.layers[0].tau_ms[0]) == 4.0
    m.n_buckets = 3
    m.train_epochs(1)
    assert m.epoch == 1 and m.ex.net.cfg.layers[0].n_buckets == 3


def test_input_synapse_applies_live_and_a_preset_brings_its_own():
    m = TrainerSession()  # pattern: the task's 1-ms input synapse
    assert m.input_synapse_ms == 1.0 and "--input-synapse-ms 1" in m.cli_command()
    m.train_epochs(1)
    assert m.ex.net.cfg.input_synapse_ms == 1.0
    m.input_synapse_ms = 0.0  # impulse inputs, on the running network
    m.train_epochs(1)
    assert m.epoch == 2 and m.ex.net.cfg.input_synapse_ms == 0.0
    assert m.url_state()["synapse"] == 0.0
    m.input_synapse_ms = -1.0
    assert "input_synapse_ms" in m.error and m.input_synapse_ms == 0.0
    m.preset = "coincidence"
    assert m.input_synapse_ms == m.task().network_config(1.0).input_synapse_ms


def _until(m, cond, timeout_s=120.0):
    """Pull the model's status until ``cond()``; the deadline only stops a hang."""
    deadline = time.monotonic() + timeout_s
    while not (m.pull(), cond())[1]:
        assert time.monotonic() < deadline, m.status
        time.sleep(0.05)


def test_play_pause_resume_reset_in_a_worker_process():
    m = TrainerSession()
    try:
        m.play()
        _until(m, lambda: m.epoch >= 2)
        assert m.worker is not None and m.worker.alive  # trains outside this process
        assert m.ex is None  # the run lives in the worker meanwhile
        m.pause()
        assert m.status.startswith("paused")  # at once, before the worker has stopped
        _until(m, lambda: m.worker is None)  # the run came back, the slot is free
        paused_at = m.epoch
        assert m.ex.epoch_index == paused_at == m.latest()["epoch"]
        time.sleep(1.0)
        assert (m.pull(), m.epoch)[1] == paused_at and not m.running
        m.play()
        _until(m, lambda: m.epoch > paused_at)  # the same run continues
        m.reset()
        _until(m, lambda: m.epoch == 0 and m.worker is None)
        assert not m.running and m.latest() is None
        assert m.ex is None  # built with the next epoch, in the worker
    finally:
        m.stop()


def test_settings_apply_in_the_worker_and_bad_ones_show_while_it_trains():
    m = TrainerSession()
    try:
        m.play()
        _until(m, lambda: m.epoch >= 1)
        m.tau_ms = 6.0
        m.dt_ms = 0.0  # invalid: a message, the run goes on at the old dt
        assert "dt_ms" in m.error and m.running
        at = m.epoch
        _until(m, lambda: m.epoch > at + 1)
        assert "dt 1 ms" in m.status
        m.pause()
        _until(m, lambda: m.worker is None)
        assert float(m.ex.net.layers[0].tau_ms[0]) == 6.0 and m.ex.net.dt_ms == 1.0
        assert m.export("model")[:2] == b"PK"  # a zip (torch.save) built here after the pause
    finally:
        m.stop()


def test_divergence_in_the_worker_pauses_and_keeps_the_last_good_parameters():
    m = TrainerSession()
    m.train_epochs(1)
    try:
        m.ex.net.layers[0].weight.data.fill_(1e38)  # the next epoch's loss is not finite
        good = {k: v.clone() for k, v in m.ex.net.state_dict().items()}
        m.play()
        _until(m, lambda: not m.running)
        assert m.error.startswith("Paused:") and "diverg" in m.error.lower()
        _until(m, lambda: m.worker is None)
        after = m.ex.net.state_dict()
        assert all((after[k] == v).all() for k, v in good.items())
    finally:
        m.stop()


def test_url_state_round_trip():
    a = TrainerModel(preset="coincidence", dt_ms=0.5, tau_ms=2.0, n_buckets=6, seed=7,
                     mode="traces", adaptive_threshold=True, bucket_weights="synapse")
    query = {k: str(v) for k, v in a.url_state().items()}
    b = TrainerModel()
    b.apply_url_state(query)
    assert b.url_state() == a.url_state()
    assert "--task coincidence --dt-ms 0.5 --mode traces" in b.cli_command()


def test_exports_round_trip(tmp_path):
    import xarray as xr

    from engine import Network
    from workbench import exports
    from workbench.pages import plots

    m = TrainerSession()
    m.train_epochs(1)
    png = exports.png_bytes(plots.static_layout(m.latest()))
    assert png[:4] == b"\x89PNG"
    nc = tmp_path / "rec.nc"
    nc.write_bytes(exports.netcdf_bytes(exports.recording_dataset(m.ex, m.recorder, "cmd")))
    ds = xr.open_dataset(nc)
    assert ds.attrs["dt_ms"] == 1.0 and ds["hidden_spikes"].shape == (500, 50)
    assert "hidden_preact_grad" in ds
    pt = tmp_path / "model.pt"
    pt.write_bytes(exports.model_bytes(m.ex.net))
    assert Network.load(pt).cfg.sizes == m.ex.net.cfg.sizes


def test_neuron_lab_warns_on_saturation():
    from workbench.models.neuron import NeuronLabModel

    lab = NeuronLabModel()
    d = lab.simulate()
    assert d["buckets"].shape == (400, 6) and d["warning"] == ""
    lab.param.update(dt_ms=5.0, threshold=0.01)
    assert "would saturate" in lab.simulate()["warning"]


def test_preset_loads_its_defaults_but_a_link_wins():
    model = TrainerModel()
    model.preset = "coincidence"
    assert (model.tau_ms, model.n_buckets, model.bucket_weights) == (2.0, 6, "synapse")
    linked = TrainerModel()
    linked.apply_url_state({"preset": "coincidence", "tau": "3.0", "K": "5"})
    assert (linked.preset, linked.tau_ms, linked.n_buckets) == ("coincidence", 3.0, 5)
    assert "--task coincidence" in linked.cli_command() and "--tau-ms 3" in linked.cli_command()


def test_real_data_presets_appear_when_the_data_directory_is_set(monkeypatch, data_dir):
    monkeypatch.delenv("SPIKINGGAMMA_DATA_DIR", raising=False)
    assert TrainerSession().param.preset.objects == ["pattern", "coincidence"]
    monkeypatch.setenv("SPIKINGGAMMA_DATA_DIR", str(data_dir))
    m = TrainerSession()
    assert {"qtdb", "fsdd", "nmnist", "smnist"} <= set(m.param.preset.objects)
    m.apply_url_state({"preset": "qtdb", "dt": "4", "hidden": "16"})
    assert m.error == "" and m.lr == 0.01
    rows = m.train_epochs(2)
    assert [r["dt_ms"] for r in rows] == [4.0, 4.0] and 0.0 <= rows[-1]["accuracy"] <= 1.0
    assert "--task qtdb" in m.cli_command()


def test_a_real_data_preset_keeps_its_per_layer_memory_until_tau_moves(monkeypatch, data_dir):
    monkeypatch.setenv("SPIKINGGAMMA_DATA_DIR", str(data_dir))
    m = TrainerSession()
    m.apply_url_state({"preset": "fsdd", "hidden": "8"})
    m.train_epochs(1)
    readout = m.ex.net.cfg.layers[-1]
    assert readout.tau_ms == (10.0, 20.0, 40.0, 80.0, 160.0)  # the recipe's long readout memory
    assert "--tau-ms" not in m.cli_command()
    m.param.update(tau_ms=5.0, n_buckets=3)  # moved: one τ and K for every layer
    m.train_epochs(1)
    assert {l.tau_ms for l in m.ex.net.cfg.layers} == {(5.0,) * 3}
    assert "--tau-ms 5 --n-buckets 3" in m.cli_command()


def test_a_real_data_preset_ramps_its_recipes_spike_cost(monkeypatch, data_dir):
    from engine.tasks.datasets import RECIPES
    monkeypatch.setenv("SPIKINGGAMMA_DATA_DIR", str(data_dir))
    m = TrainerSession()
    m.apply_url_state({"preset": "fsdd", "hidden": "8"})
    recipe, task = RECIPES["fsdd"], m.task()
    assert m.spike_cost == recipe.spike_cost > 0
    assert m.spike_cost_ramp == round(recipe.spike_cost_ramp * task.default_epochs) > 0
    assert f"--spike-cost-ramp {m.spike_cost_ramp}" in m.cli_command()
    m.train_epochs(1)
    assert m.ex.trainer.learner.spike_cost == 0.0  # the first epoch of the ramp
    m.spike_cost_ramp = 0  # live: the full weight from the next epoch on
    m.train_epochs(1)
    assert m.ex.trainer.learner.spike_cost == recipe.spike_cost
    m.spike_cost_ramp = -1
    assert "spike_cost_ramp must be between 0 and 2000" in m.error and m.spike_cost_ramp == 0


def test_live_plots_redraw_by_new_source_data_not_new_glyphs():
    from workbench.pages.live_plots import LivePlots

    m = TrainerSession()
    m.train_epochs(2)
    snap = m.latest()
    live = LivePlots()
    glyphs = {name: list(f.renderers) for name, f in live.figures.items()}
    live.update(snap)
    assert {name: list(f.renderers) for name, f in live.figures.items()} == glyphs
    assert live.figures["loss"].title.text.endswith("plots of epoch 2")
    assert list(live.sources["loss"].data["y"]) == [r["loss"] for r in snap["history"]]
    assert len(live.sources["hidden"].data["x"]) == len(snap["hidden_raster"]["time_ms"]) > 0
    w = live.sources["weights"].data["image"][0]
    assert w.shape == (50, snap["n_inputs"]) and live.mappers["weights"].high == abs(w).max()
    live.update({})  # after a reset: empty plots
    assert len(live.sources["hidden"].data["x"]) == 0
    assert live.figures["loss"].title.text.endswith("plots of epoch 0")
