"""The hidden spike cost (Learner/Trainer ``spike_cost``) and the counts hardware pays for
(SimResult.hardware_counts): validation, gradients that agree across modes and paths, synaptic
operations counted right, and a cost that lowers the rate while the task is still learned."""
import pytest
import torch

import engine
from engine.learn.losses import spike_cost_scales

LAMBDA = 1e-3


def net_of(sizes=(6, 5, 3), seed=1, **kw):
    n = len(sizes) - 1
    cfg = engine.NetworkConfig(sizes=sizes, dt_ms=1.0, tau_ms=(3.0,) + (4.0,) * (n - 1),
                               n_buckets=(3,) + (4,) * (n - 1), threshold=0.05, weight_gain=3.0,
                               dtype="float64", **kw)
    return engine.Network(cfg, seed=seed)


def data(T=60, B=2, n_in=6, n_out=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    inputs = (torch.rand(T, B, n_in, generator=g) < 0.2).double()
    return inputs, torch.randn(T, B, n_out, generator=g, dtype=torch.float64)


def cost_part(net, inputs, targets, mode, chunk_steps=16, **kw):
    """The spike cost's share of the gradient: with it minus without it."""
    with_cost = engine.gradients(net, inputs, targets, mode=mode, spike_cost=LAMBDA,
                                 chunk_steps=chunk_steps, **kw)
    without = engine.gradients(net, inputs, targets, mode=mode, chunk_steps=chunk_steps, **kw)
    return {k: with_cost[k] - without[k] for k in with_cost}


def rel_err(ref, got):
    keys = sorted(ref)
    a = torch.cat([ref[k].flatten() for k in keys])
    b = torch.cat([got[k].flatten() for k in keys])
    assert a.norm() > 0
    return float((a - b).norm() / a.norm())


@pytest.mark.parametrize("value", [-1.0, float("nan"), float("inf"), "0.1", True])
def test_bad_spike_cost_names_the_field(value):
    net = net_of()
    for build in (lambda: engine.Learner(net, spike_cost=value),
                  lambda: engine.Trainer(net, spike_cost=value)):
        with pytest.raises(ValueError, match="spike_cost must be a finite number >= 0"):
            build()


@pytest.mark.parametrize("flag, value, message", [
    ("--spike-cost", "-1", "spike_cost must be a finite number >= 0"),
    ("--spike-cost-ramp", "-2", "spike_cost_ramp must be an integer >= 0")])
def test_cli_rejects_a_bad_spike_cost_setting(capsys, flag, value, message):
    from engine.cli import main
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--task", "pattern", "--epochs", "1", flag, value, "--json"])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_spike_cost_is_the_estimated_hidden_rate_times_its_weight():
    net = net_of()
    inputs, targets = data()
    plain = engine.run(net, inputs, learner=engine.Learner(net, "spatial"), targets=targets)
    costly = engine.run(net, inputs, learner=engine.Learner(net, "spatial", spike_cost=LAMBDA),
                        targets=targets)
    y = plain.signals[0]  # [T, B, N]: the one hidden layer
    (scale,) = spike_cost_scales(net)
    estimated_hz = float((y * scale).sum(-1).mean())  # mean over steps and batch
    assert costly.loss - plain.loss == pytest.approx(LAMBDA * estimated_hz, rel=1e-9)
    # y/(2ϑτ) per ms is the encoder's rate: the estimate is the measured rate, give or take
    measured = plain.spikes_per_neuron_per_s(0)
    assert 0.5 * measured < estimated_hz < 1.5 * measured


@pytest.mark.parametrize("bucket_weights", ["neuron", "synapse"])
@pytest.mark.parametrize("adaptive", [False, True])
def test_spike_cost_gradient_traces_equal_bptt_and_spatial_exact_on_one_hidden_layer(
        bucket_weights, adaptive):
    net = net_of(bucket_weights=bucket_weights, adaptive_threshold=adaptive)
    inputs, targets = data()
    ref = cost_part(net, inputs, targets, "bptt", chunk_steps=None)
    assert rel_err(ref, cost_part(net, inputs, targets, "traces")) <= 1e-6
    # a hidden y depends on the parameters through this step only (input buckets are constants):
    # the cost's gradient is exact in spatial, as the readout's task gradient is
    assert rel_err(ref, cost_part(net, inputs, targets, "spatial")) <= 1e-6


def test_spike_cost_gradient_on_three_layers_as_the_task_loss():
    """Two hidden layers: traces exact for the layer below the last hidden one (whose y the cost
    reads through its buckets), truncated further down, like the task loss (MODEL.md §3)."""
    net = net_of(sizes=(6, 5, 4, 3))
    inputs, targets = data()
    ref = cost_part(net, inputs, targets, "bptt", chunk_steps=None)
    got = cost_part(net, inputs, targets, "traces")
    above = {k: v for k, v in ref.items() if not k.startswith("layers.0.")}
    assert rel_err(above, {k: got[k] for k in above}) <= 1e-6
    cos = torch.nn.functional.cosine_similarity(ref["layers.0.weight"].flatten(),
                                                got["layers.0.weight"].flatten(), dim=0)
    assert float(cos) > 0.5


@pytest.mark.parametrize("mode", ["spatial", "traces"])
def test_spike_cost_per_step_equals_chunked(mode):
    net = net_of(sizes=(6, 5, 4, 3), bucket_weights="synapse", adaptive_threshold=True)
    inputs, targets = data()
    step = engine.gradients(net, inputs, targets, mode=mode, spike_cost=LAMBDA, chunk_steps=None)
    chunk = engine.gradients(net, inputs, targets, mode=mode, spike_cost=LAMBDA, chunk_steps=16)
    assert rel_err(step, chunk) <= 1e-9


def test_synaptic_operations_on_a_hand_built_network():
    net = net_of(sizes=(2, 3, 1))
    inputs = torch.zeros(20, 2, 2, dtype=torch.float64)
    inputs[3, 0, 0] = inputs[7, 0, 1] = inputs[9, 1, 0] = 1.0
    inputs[12, 1, 1] = 2.0  # two events in one bin
    with torch.no_grad():  # a silent hidden layer: only the input events cost operations
        net.layers[0].weight.zero_()
    silent = engine.simulate(net, inputs)
    assert silent.input_events == 5.0
    assert silent.synaptic_ops_per_sample() == 5.0 * 3 / 2  # events × fan-out 3, per sample of 2
    with torch.no_grad():  # now the hidden layer fires: each spike reaches the one output
        net.layers[0].weight.fill_(5.0)
    res = engine.simulate(net, inputs)
    hidden_spikes = float(res.spikes[0].sum())
    assert hidden_spikes > 0
    assert res.synaptic_ops_per_sample() == pytest.approx((5.0 * 3 + hidden_spikes * 1) / 2)
    counts = res.hardware_counts()
    seconds = 20 * 1.0 / 1000 * 2
    assert counts["hidden_spikes_per_neuron_per_s"] == pytest.approx(hidden_spikes / 3 / seconds)
    assert counts["output_spikes_per_neuron_per_s"] == pytest.approx(
        float(res.spikes[1].sum()) / 1 / seconds)


def test_evaluations_report_the_hardware_counts():
    from engine.experiment import Experiment
    for task in ("pattern", "coincidence"):
        metrics = Experiment(task, seed=0).evaluate()
        for key in ("hidden_spikes_per_neuron_per_s", "output_spikes_per_neuron_per_s",
                    "synops_per_sample"):
            assert metrics[key] >= 0, (task, key)
        assert metrics["synops_per_sample"] > 0


def test_a_spike_cost_lowers_the_rate_while_the_pattern_is_still_learned():
    from engine.experiment import Experiment
    runs = {}
    for cost in (0.0, 3e-5):
        ex = Experiment("pattern", dt_ms=1.0, mode="traces", seed=0, spike_cost=cost)
        rows = [ex.run_epoch() for _ in range(60)]
        runs[cost] = (max(r["match_score"] for r in rows[-20:]), ex.evaluate())
    (score_free, free), (score_sparse, sparse) = runs[0.0], runs[3e-5]
    assert score_free == 1.0 and score_sparse == 1.0
    assert sparse["hidden_spikes_per_neuron_per_s"] < 0.7 * free["hidden_spikes_per_neuron_per_s"]


@pytest.mark.parametrize("mode", ["bptt", "ottt"])
def test_lif_baselines_pay_the_same_spike_cost(mode):
    from engine.baselines import LIFConfig, LIFNetwork, LIFTrainer, run_lif
    with pytest.raises(ValueError, match="spike_cost must be a finite number >= 0"):
        LIFTrainer(LIFNetwork(LIFConfig(sizes=(8, 16, 2))), spike_cost=-1.0)
    g = torch.Generator().manual_seed(0)
    inputs = (torch.rand(40, 4, 8, generator=g) < 0.3).float()
    labels = torch.randint(2, (4,), generator=g)
    losses, grads = {}, {}
    for cost in (0.0, 1e-2):
        net = LIFNetwork(LIFConfig(sizes=(8, 16, 2), weight_gain=(3.0, 1.0)), seed=0)
        res = run_lif(net, inputs, labels, mode=mode, spike_cost=cost)
        losses[cost], grads[cost] = res.loss, net.layers[0].weight.grad.clone()
    hidden_hz = float(res.spike_counts[0].sum()) / 16 / (40 * 1e-3 * 4)
    assert hidden_hz > 0
    assert losses[1e-2] - losses[0.0] == pytest.approx(1e-2 * hidden_hz, rel=1e-5)
    assert not torch.allclose(grads[0.0], grads[1e-2])  # the surrogate carries the cost


@pytest.mark.parametrize("value", [-1, 1.5, "2", True])
def test_bad_spike_cost_ramp_names_the_field(value):
    from engine.baselines import LIFConfig, LIFNetwork, LIFTrainer
    for build in (lambda: engine.Trainer(net_of(), spike_cost=LAMBDA, spike_cost_ramp=value),
                  lambda: LIFTrainer(LIFNetwork(LIFConfig(sizes=(8, 16, 2))), spike_cost_ramp=value)):
        with pytest.raises(ValueError, match="spike_cost_ramp must be an integer >= 0"):
            build()


def test_cli_spike_cost_ramp_in_epochs_and_a_recipe_fraction(capsys):
    import json

    from engine.cli import main
    from engine.learn.losses import ramp_over
    assert main(["train", "--task", "pattern", "--epochs", "4", "--n-hidden", "8", "--json",
                 "--spike-cost", "1e-3", "--spike-cost-ramp", "2"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["spike_cost"] == 1e-3 and out["spike_cost_ramp_epochs"] == 2
    assert ramp_over(0.5, 160) == 80 and ramp_over(0.0, 160) == 0
    for bad in (1.5, -0.1, "0.5"):
        with pytest.raises(ValueError, match="spike_cost_ramp must be a fraction of the run in"):
            ramp_over(bad, 160)


def test_the_spike_cost_ramps_up_from_zero_over_its_sequences():
    inputs, targets = data()
    ramped = engine.Trainer(net_of(), mode="spatial", spike_cost=LAMBDA, spike_cost_ramp=4)
    weights = []
    for _ in range(6):
        ramped.train_sequence(inputs, targets)
        weights.append(ramped.learner.spike_cost)
    assert weights == pytest.approx([0.0, LAMBDA / 4, LAMBDA / 2, 3 * LAMBDA / 4, LAMBDA, LAMBDA])
    # what the learner uses is the ramped weight: two sequences of the ramp are one without a cost
    # and one at a quarter of it
    ramped = engine.Trainer(net_of(), mode="spatial", spike_cost=LAMBDA, spike_cost_ramp=4)
    by_hand = engine.Trainer(net_of(), mode="spatial")
    for weight in (0.0, LAMBDA / 4):
        by_hand.set_spike_cost(weight)
        ramped.train_sequence(inputs, targets)
        by_hand.train_sequence(inputs, targets)
        assert all(torch.equal(p, q) for p, q in zip(ramped.net.parameters(), by_hand.net.parameters()))
    assert not torch.equal(ramped.net.layers[0].weight, net_of().layers[0].weight)  # it learned


def test_a_ramped_spike_cost_keeps_a_network_alive_that_the_full_weight_silences():
    # coincidence, 200 epochs at λ = 5e-4: from the first sequence on, the cost drives every hidden
    # unit below zero for every input before the task has shaped them (silent, chance accuracy);
    # ramped over the first half, the same weight leaves a network that spikes and learns
    from engine.experiment import Experiment
    scores = {}
    for ramp in (0, 100):
        ex = Experiment("coincidence", mode="spatial", seed=0, spike_cost=5e-4, spike_cost_ramp=ramp)
        for _ in range(200):
            ex.run_epoch()
        scores[ramp] = ex.evaluate()
    chance = 1 / 5
    assert scores[0]["hidden_spikes_per_neuron_per_s"] == 0.0
    assert scores[0]["accuracy"] < chance + 0.05
    assert scores[100]["hidden_spikes_per_neuron_per_s"] > 1.0
    assert scores[100]["accuracy"] > 2 * chance
