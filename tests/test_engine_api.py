"""Public API, validation of bad input, taps, tasks and the CLI."""
import json
import math
import subprocess
import sys

import pytest
import torch

import engine
from engine.tasks import CoincidenceTask, PatternTask, make_task
from engine.tasks.spiketrains import bin_times, match_spikes, van_rossum


@pytest.mark.parametrize("field, value, words", [
    ("dt_ms", 0.0, "> 0"), ("dt_ms", -1.0, "> 0"), ("dt_ms", float("nan"), "finite"),
    ("tau_ms", 0.0, "> 0"), ("n_buckets", 0, ">= 1"), ("threshold", 0.0, "> 0"),
    ("sizes", (3,), "at least two"), ("sizes", (3, 0, 2), ">= 1"),
    ("bucket_weights", "layer", "'neuron'"), ("readout", "softmax", "'spiking'"),
    ("tau_ms", (5.0, 5.0, 5.0), "one value per layer"),
])
def test_bad_config_names_field_and_range(field, value, words):
    with pytest.raises(ValueError) as err:
        engine.NetworkConfig(sizes=(3, 4, 2), **{field: value}) if field != "sizes" \
            else engine.NetworkConfig(sizes=value)
    assert field.split("[")[0] in str(err.value) and words in str(err.value)


def test_config_is_frozen_and_round_trips():
    cfg = engine.NetworkConfig(sizes=(3, 4, 2), tau_ms=(2.0, (1.0, 2.0, 3.0, 4.0)))
    with pytest.raises(Exception):
        cfg.dt_ms = 2.0
    assert engine.NetworkConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg
    assert cfg.layers[1].tau_ms == (1.0, 2.0, 3.0, 4.0)


def test_bad_inputs_are_rejected_with_expected_shape():
    net = engine.Network(engine.NetworkConfig(sizes=(3, 4, 2)))
    with pytest.raises(ValueError, match=r"\[T, B, 3\]"):
        engine.simulate(net, torch.zeros(10, 3))
    with pytest.raises(ValueError, match="finite"):
        engine.simulate(net, torch.full((10, 1, 3), float("nan")))


def test_simulate_shapes_and_readme_example():
    cfg = engine.NetworkConfig(sizes=(20, 30, 2), dt_ms=1.0, tau_ms=5.0, n_buckets=8, threshold=0.1,
                               bucket_weights="neuron", adaptive_threshold=False, readout="spiking")
    net = engine.Network(cfg, seed=0)
    inputs = (torch.rand(100, 4, 20, generator=torch.Generator().manual_seed(0)) < 0.05).float()
    result = engine.simulate(net, inputs)
    assert [s.shape for s in result.spikes] == [(100, 4, 30), (100, 4, 2)]
    assert [s.shape for s in result.signals] == [(100, 4, 30), (100, 4, 2)]
    with engine.Recorder(net, ["layers.0.buckets", "layers.1.spikes"]) as rec:
        again = engine.simulate(net, inputs)
    assert rec["layers.0.buckets"].shape == (100, 4, 20, 8)
    assert torch.equal(rec["layers.1.spikes"], result.spikes[1])
    for a, b in zip(result.signals + result.spikes, again.signals + again.spikes):
        assert torch.equal(a, b)  # taps only observe: bitwise equal


def test_float64_cpu_network_and_analog_inputs():
    cfg = engine.NetworkConfig(sizes=(2, 3, 1), input_encoding="analog", input_threshold=0.05,
                               dtype="float64", readout="linear")
    net = engine.Network(cfg)
    t = torch.linspace(0, 1, 200, dtype=torch.float64)
    signal = torch.stack([0.5 + 0.4 * torch.sin(6 * t), 0.3 * t], -1).unsqueeze(1)  # [T, 1, 2]
    result = engine.simulate(net, signal)
    assert result.input_spikes.sum() > 0 and result.signals[-1].dtype == torch.float64
    assert result.spikes[-1].sum() == 0  # a linear readout does not spike


@pytest.mark.parametrize("mode", ["spatial", "traces", "bptt"])
def test_recorder_taps_gradients_decimates_and_bounds(mode):
    net = engine.Network(engine.NetworkConfig(sizes=(4, 5, 2), weight_gain=3.0, threshold=0.05))
    inputs = (torch.rand(40, 2, 4, generator=torch.Generator().manual_seed(1)) < 0.3).float()
    targets = torch.rand(40, 2, 2)
    names = ["layers.0.preact.grad", "layers.1.weight.grad", "layers.0.threshold",
             "layers.1.estimate", "layers.0.signal"]
    with engine.Recorder(net, names, every=4, max_steps=5) as rec:
        engine.gradients(net, inputs, targets, mode=mode)
    assert rec["layers.0.preact.grad"].shape == (5, 2, 5)
    assert rec["layers.1.weight.grad"].shape == (5, 2, 5)
    assert rec["layers.0.threshold"].shape == (5, 2, 5)
    assert all(t % 4 == 0 for _, t in rec.steps("layers.0.signal"))
    assert not net._step_hooks and not net._grad_hooks  # removed on exit
    with pytest.raises(ValueError, match="unknown tap"):
        engine.Recorder(net, ["layers.9.spikes"])


def test_per_step_weight_gradients_sum_to_the_total():
    net = engine.Network(engine.NetworkConfig(sizes=(4, 5, 2), weight_gain=3.0, threshold=0.05,
                                              dtype="float64"))
    inputs = (torch.rand(30, 1, 4, generator=torch.Generator().manual_seed(1)) < 0.3).double()
    targets = torch.rand(30, 1, 2, dtype=torch.float64)
    with engine.Recorder(net, ["layers.0.weight.grad"]) as rec:
        total = engine.gradients(net, inputs, targets, mode="traces")
    assert torch.allclose(rec["layers.0.weight.grad"].sum(0), total["layers.0.weight"])


def test_spike_train_metrics():
    a = torch.tensor([10.0, 50.0])
    assert van_rossum(a, a) == 0.0
    assert van_rossum(a, torch.tensor([10.0])) == pytest.approx(math.sqrt(0.5))
    assert match_spikes(torch.tensor([11.5, 80.0]), torch.tensor([10.0, 50.0]), 2.0) == 1
    trains = [torch.tensor([0.05, 0.55, 12.3]), torch.tensor([99.99])]
    assert torch.equal(bin_times(trains, 1.0, 100.0).sum(0), bin_times(trains, 0.1, 100.0).sum(0))


def test_tasks_give_the_same_spikes_at_every_dt():
    task = PatternTask(n_inputs=10, n_hidden=5, n_outputs=2)
    nets = [engine.Network(task.network_config(dt)) for dt in (1.0, 0.1)]
    (a, ta), (b, tb) = (task.batch(n) for n in nets)
    assert a.shape == (500, 1, 10) and b.shape == (5000, 1, 10)
    assert torch.equal(a.sum(0), b.sum(0))
    # the decoded target has the same area in ms at both dt (height 2ϑ = 1 times τ = 5 ms each)
    assert float(ta.sum()) * 1.0 == pytest.approx(float(tb.sum()) * 0.1, rel=1e-4)
    assert float(ta.sum()) == pytest.approx(2 * 3 * 1.0 * 5.0, rel=1e-3)
    coin = CoincidenceTask()
    x, y = coin.batch(engine.Network(coin.network_config(1.0)))
    assert x.shape[1] == coin.batch_size and y.max() < coin.n_classes
    assert len(coin.learned_delays_ms(engine.Network(coin.network_config()))) == coin.n_classes
    with pytest.raises(ValueError, match="task"):
        make_task("mnist")
    with pytest.raises(ValueError, match="n_outputs"):
        PatternTask(n_outputs=7)


def test_save_and_load_round_trip(tmp_path):
    net = engine.Network(engine.NetworkConfig(sizes=(3, 4, 2), bucket_weights="synapse"), seed=3)
    net.save(tmp_path / "m.pt")
    back = engine.Network.load(tmp_path / "m.pt")
    assert back.cfg == net.cfg
    assert all(torch.equal(a, b) for a, b in zip(net.state_dict().values(), back.state_dict().values()))


def test_cli_train_json():
    out = subprocess.run([sys.executable, "-m", "engine.cli", "train", "--task", "coincidence",
                          "--epochs", "2", "--mode", "spatial", "--json"],
                         capture_output=True, text=True, timeout=300, check=True)
    row = json.loads(out.stdout)
    for key in ("task", "dt_ms", "mode", "accuracy", "spikes_per_neuron_per_s", "peak_memory_mb",
                "wall_s", "learned_delay_ms"):
        assert key in row
    assert row["task"] == "coincidence" and 0.0 <= row["accuracy"] <= 1.0


def test_cli_test_dt_ms_evaluates_the_trained_network_at_each_dt():
    out = subprocess.run([sys.executable, "-m", "engine.cli", "train", "--task", "pattern",
                          "--epochs", "2", "--mode", "spatial", "--json", "--test-dt-ms", "2", "1",
                          "0.50", "--train-dt-ms", "1", "0.5"],
                         capture_output=True, text=True, timeout=300, check=True)
    row = json.loads(out.stdout)
    assert list(row["test_at_dt"]) == ["2", "1", "0.50"]  # the values as given
    for metrics in row["test_at_dt"].values():
        for key in ("match_score", "matched_fraction", "spurious_spikes", "output_spike_ms",
                    "spikes_per_neuron_per_s", "hidden_spikes_per_neuron_per_s"):
            assert key in metrics
    assert row["test_at_dt"]["1"]["match_score"] == row["match_score"]  # same network, same dt
    bad = subprocess.run([sys.executable, "-m", "engine.cli", "train", "--epochs", "1",
                          "--test-dt-ms", "0"], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "--test-dt-ms" in bad.stderr


def test_test_at_dt_leaves_the_network_as_it_was():
    from engine.experiment import Experiment, test_at_dt
    from engine.tasks import CoincidenceTask
    ex = Experiment(CoincidenceTask(n_test=16), dt_ms=1.0, mode="spatial")
    before = {k: v.clone() for k, v in ex.net.state_dict().items()}
    out = test_at_dt(ex.task, ex.net, [0.5, "2"])
    assert set(out) == {"0.5", "2"} and ex.net.dt_ms == 1.0
    assert all(torch.equal(before[k], v) for k, v in ex.net.state_dict().items())
    with pytest.raises(ValueError, match="dt_ms"):
        test_at_dt(ex.task, ex.net, [-1.0])


def test_experiment_draws_each_epoch_dt_and_returns_home():
    from engine.experiment import Experiment
    ex = Experiment("coincidence", dt_ms=1.0, mode="spatial", train_dt_ms=(0.5, 2.0), seed=3)
    dts = {ex.run_epoch()["dt_ms"] for _ in range(8)}
    assert dts == {0.5, 2.0} and ex.net.dt_ms == 1.0
    with pytest.raises(ValueError, match="train_dt_ms"):
        Experiment("coincidence", train_dt_ms=(0.0,))


def test_cli_pattern_trains_at_two_resolutions_unless_told(capsys):
    from engine.cli import main
    rows = {}
    for extra in ([], ["--train-dt-ms", "1"], ["--dt-ms", "0.5"]):
        assert main(["train", "--task", "pattern", "--epochs", "2", "--n-hidden", "8", "--json",
                     *extra]) == 0
        rows[" ".join(extra)] = json.loads(capsys.readouterr().out)
    assert rows[""]["train_dt_ms"] == [2.0, 1.0]  # the task's factors times --dt-ms
    assert rows["--train-dt-ms 1"]["train_dt_ms"] == [1.0]
    assert rows["--dt-ms 0.5"]["train_dt_ms"] == [1.0, 0.5] and rows["--dt-ms 0.5"]["dt_ms"] == 0.5


def test_cli_bad_value_is_a_clear_error():
    out = subprocess.run([sys.executable, "-m", "engine.cli", "train", "--dt-ms", "-1",
                          "--epochs", "1"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and "dt_ms" in out.stderr and "> 0" in out.stderr


def test_engine_imports_no_ui_library():
    code = ("import sys, engine, engine.tasks, engine.experiment, engine.cli, engine.data;"
            "bad=[m for m in ('panel','holoviews','bokeh','param') if m in sys.modules];"
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_coincidence_tuning_reads_the_delay_built_into_the_kernels():
    task = CoincidenceTask()
    net = engine.Network(task.network_config())
    n = task.n_per_side
    with torch.no_grad():
        net.layers[0].weight.fill_(1.0)
        v = net.layers[0].bucket_weight  # [H, 2n, K], τ = 2 ms
        v.zero_()
        v[:, :n, 2] = 1.0  # population A through bucket 2 (peak 2τ = 4 ms later)
        v[:, n:, 0] = 1.0  # population B through bucket 0
        net.layers[1].weight.fill_(1.0)
    assert task.hidden_tuning_ms(net).sub(4.0).abs().max() <= 1.0
    assert task.learned_delays_ms(net) == pytest.approx([float(task.hidden_tuning_ms(net)[0])] * 5)


def test_cli_trains_on_a_real_data_set_and_names_missing_data(data_dir, tmp_path):
    out = subprocess.run([sys.executable, "-m", "engine.cli", "train", "--task", "qtdb",
                          "--epochs", "2", "--n-hidden", "16", "8", "--data-dir",
                          str(data_dir), "--json"], capture_output=True, text=True, timeout=300, check=True)
    row = json.loads(out.stdout)
    assert row["task"] == "qtdb" and 0.0 <= row["accuracy"] <= 1.0 and row["spikes_per_neuron_per_s"] > 0
    assert (row["dt_ms"], row["mode"]) == (4.0, "spatial")  # the data set's recipe fills the flags left out
    assert row["synops_per_sample"] > 0  # two hidden layers trained and counted
    missing = subprocess.run([sys.executable, "-m", "engine.cli", "train", "--task", "fsdd", "--epochs", "1",
                              "--data-dir", str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert missing.returncode == 2 and "Jakobovski/free-spoken-digit-dataset" in missing.stderr


def test_a_data_set_with_several_hidden_layers_deepens_its_per_layer_settings(data_dir):
    from engine.cli import main
    from engine.tasks import make_task
    task = make_task("qtdb", n_hidden=(16, 8), data_dir=str(data_dir), n_test=4)
    one = make_task("qtdb", n_hidden=16, data_dir=str(data_dir), n_test=4).network_config(4.0)
    cfg = task.network_config(4.0)
    assert cfg.sizes == (one.sizes[0], 16, 8, one.sizes[-1])
    # qtdb names (first layer, rest): the second hidden layer takes the output layer's memory
    first, out = one.layers
    assert [s.tau_ms for s in cfg.layers] == [first.tau_ms, out.tau_ms, out.tau_ms]
    assert [s.weight_gain for s in cfg.layers] == [first.weight_gain, out.weight_gain, out.weight_gain]
    assert first.tau_ms != out.tau_ms
    with pytest.raises(ValueError, match="n_hidden"):
        make_task("qtdb", n_hidden=(16, 0), data_dir=str(data_dir))
    with pytest.raises(SystemExit) as stop:
        main(["train", "--task", "pattern", "--n-hidden", "8", "8", "--epochs", "1"])
    assert stop.value.code == 2
