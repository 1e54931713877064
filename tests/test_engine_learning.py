"""Learning without surrogate gradients: traces equals bptt; online memory is flat in T."""
import math

import pytest
import torch

import engine


def two_layer(bucket_weights="neuron", adaptive=False, dtype="float64", **kw):
    cfg = engine.NetworkConfig(sizes=(6, 5, 3), dt_ms=1.0, tau_ms=(3.0, 4.0), n_buckets=(3, 4),
                               threshold=0.05, bucket_weights=bucket_weights,
                               adaptive_threshold=adaptive, dtype=dtype, weight_gain=3.0, **kw)
    return engine.Network(cfg, seed=1)


def data(T=60, B=2, n_in=6, n_out=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    inputs = (torch.rand(T, B, n_in, generator=g) < 0.2).double()
    return inputs, torch.randn(T, B, n_out, generator=g, dtype=torch.float64)


def flat(grads, keys):
    return torch.cat([grads[k].flatten() for k in keys])


@pytest.mark.parametrize("bucket_weights", ["neuron", "synapse"])
@pytest.mark.parametrize("adaptive", [False, True])
@pytest.mark.parametrize("loss", ["mse", "mse_hinge"])
@pytest.mark.parametrize("chunk_steps", [None, 16])  # the per-step reference, the fast path
def test_traces_equal_bptt_on_two_layers(bucket_weights, adaptive, loss, chunk_steps):
    net = two_layer(bucket_weights, adaptive)
    inputs, targets = data()
    ref = engine.gradients(net, inputs, targets, mode="bptt", loss=loss)
    got = engine.gradients(net, inputs, targets, mode="traces", loss=loss, chunk_steps=chunk_steps)
    keys = sorted(ref)
    a, b = flat(ref, keys), flat(got, keys)
    assert a.norm() > 0 and all(ref[k].abs().sum() > 0 for k in keys)
    assert float((a - b).norm() / a.norm()) <= 1e-6


def test_traces_equal_bptt_with_cross_entropy_and_warmup():
    cfg = engine.NetworkConfig(sizes=(6, 5, 3), dt_ms=0.5, threshold=0.05, dtype="float64",
                               readout="linear", weight_gain=3.0, bucket_weights="synapse")
    net = engine.Network(cfg, seed=2)
    inputs, _ = data(T=80)
    labels = torch.tensor([0, 2])
    ref = engine.gradients(net, inputs, labels, mode="bptt", loss="ce", warmup_ms=10.0)
    got = engine.gradients(net, inputs, labels, mode="traces", loss="ce", warmup_ms=10.0)
    a, b = flat(ref, sorted(ref)), flat(got, sorted(ref))
    assert float((a - b).norm() / a.norm()) <= 1e-6


def test_spatial_is_close_to_bptt_and_documented():
    """Measured (README): cosine(spatial, bptt) ≈ 0.89 per-neuron, ≈ 0.95 per-synapse here (the
    spike count per step lets the hidden estimate follow y closely, and more of the gradient
    flows through the past; with the paper's one-spike encoder it was 0.98 / 0.95)."""
    for bw, floor in (("neuron", 0.85), ("synapse", 0.9)):
        net = two_layer(bw)
        inputs, targets = data()
        ref = engine.gradients(net, inputs, targets, mode="bptt")
        sp = engine.gradients(net, inputs, targets, mode="spatial")
        keys = sorted(ref)
        cos = torch.nn.functional.cosine_similarity(flat(ref, keys), flat(sp, keys), dim=0)
        assert floor < float(cos) < 1 - 1e-6  # close, but not the same gradient


def test_readout_gradients_are_exact_in_spatial_mode():
    net = two_layer()
    inputs, targets = data()
    ref = engine.gradients(net, inputs, targets, mode="bptt")
    sp = engine.gradients(net, inputs, targets, mode="spatial")
    for k in ("layers.1.weight", "layers.1.bucket_weight", "layers.1.bias"):
        assert torch.allclose(ref[k], sp[k], rtol=1e-9, atol=1e-12)


def test_gradients_leave_the_network_unchanged():
    net = two_layer()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    engine.gradients(net, *data(), mode="traces")
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())
    assert all(p.grad is None for p in net.parameters())


def test_gradient_does_not_grow_when_dt_shrinks():
    # rate coding: the model the straight-through gradient assumes, free of encoder saturation
    norms = []
    for dt in (1.0, 0.25):
        cfg = engine.NetworkConfig(sizes=(6, 5, 3), dt_ms=dt, dtype="float64", weight_gain=3.0,
                                   coding="rate")
        net = engine.Network(cfg, seed=1)
        T = int(60 / dt)
        g = torch.Generator().manual_seed(0)
        coarse = (torch.rand(60, 1, 6, generator=g) < 0.2).double()
        inputs = torch.zeros(T, 1, 6, dtype=torch.float64)
        inputs[:: int(1 / dt)] = coarse  # the same spikes at the finer step
        targets = torch.full((T, 1, 3), 0.3, dtype=torch.float64)
        grads = engine.gradients(net, inputs, targets, mode="traces")
        norms.append(float(flat(grads, sorted(grads)).norm()))
    assert norms[1] == pytest.approx(norms[0], rel=0.2)  # O(dt/τ); ×4 if it grew with steps


def test_trainer_reduces_the_loss_on_the_pattern_task():
    from engine.experiment import Experiment
    ex = Experiment("pattern", dt_ms=1.0, mode="spatial", seed=0)
    rows = [ex.run_epoch() for _ in range(20)]
    losses = [r["loss"] for r in rows]
    # Adam at the task's lr swings from epoch to epoch: compare the last five with the first
    assert sum(losses[-5:]) / 5 < 0.5 * losses[0], losses
    assert rows[0]["match_score"] == 0 and max(r["match_score"] for r in rows) >= 2 / 3


def test_hinge_loss_frees_negative_signal_only_while_the_target_is_silent():
    from engine.learn.losses import step_loss
    x = torch.tensor([[-1.0, -1.0, 0.5]])
    target = torch.tensor([[0.0, 0.8, 0.0]])
    assert float(step_loss("mse", x, target)) == pytest.approx(1.0 + 3.24 + 0.25)
    assert float(step_loss("mse_hinge", x, target)) == pytest.approx(3.24 + 0.25)


def test_update_every_steps_the_optimizer_within_a_sequence():
    net = two_layer(dtype="float32")
    trainer = engine.Trainer(net, mode="spatial", lr=1e-3, update_every=20)
    inputs, targets = data()
    trainer.train_sequence(inputs.float(), targets.float())
    assert trainer.n_updates == 3


def test_cosine_schedule_decays_to_the_floor_and_holds_there():
    from engine.learn.trainer import LR_FLOOR
    net = two_layer(dtype="float32")
    trainer = engine.Trainer(net, mode="spatial", lr=1e-2, update_every=10, lr_schedule="cosine",
                             total_updates=4)
    inputs, targets = data()  # 60 steps: 6 updates, 2 past the schedule's end
    lrs = []
    for _ in range(2):
        trainer.train_sequence(inputs[:30].float(), targets[:30].float())
        lrs.append(trainer.optimizer.param_groups[0]["lr"])
    assert trainer.n_updates == 6
    assert lrs[0] == pytest.approx(1e-2 * (LR_FLOOR + (1 - LR_FLOOR) * 0.5 * (1 + math.cos(math.pi * 3 / 4))))
    assert lrs[1] == pytest.approx(1e-2 * LR_FLOOR)
    constant = engine.Trainer(net, mode="spatial", lr=1e-2)
    constant.train_sequence(inputs.float(), targets.float())
    assert constant.optimizer.param_groups[0]["lr"] == 1e-2


@pytest.mark.parametrize("kw, field", [(dict(lr_schedule="step", total_updates=3), "lr_schedule"),
                                       (dict(lr_schedule="cosine"), "total_updates"),
                                       (dict(lr_schedule="cosine", total_updates=0), "total_updates"),
                                       (dict(weight_decay=-1.0), "weight_decay")])
def test_bad_schedule_or_weight_decay_names_the_field(kw, field):
    with pytest.raises(ValueError, match=field):
        engine.Trainer(two_layer(), **kw)


def test_weight_decay_shrinks_weights_that_get_no_gradient():
    net = two_layer(dtype="float32")
    before = net.layers[0].weight.detach().clone()
    trainer = engine.Trainer(net, mode="spatial", optimizer="sgd", lr=0.1, weight_decay=0.5)
    trainer.train_sequence(torch.zeros(20, 2, 6), torch.zeros(20, 2, 3))  # silent: no gradient
    assert torch.allclose(net.layers[0].weight.detach(), before * (1 - 0.1 * 0.5))


@pytest.mark.parametrize("mode", ["spatial", "traces"])
def test_divergence_raises_with_step_and_keeps_parameters(mode):
    net = two_layer()
    trainer = engine.Trainer(net, mode=mode, lr=1e-2)
    inputs, targets = data()
    trainer.train_sequence(inputs, targets)  # one good update
    good = {k: v.clone() for k, v in net.state_dict().items()}
    targets[17, 0, 1] = float("nan")
    with pytest.raises(engine.DivergenceError) as err:
        trainer.train_sequence(inputs, targets)
    assert err.value.step == 17 and err.value.loss != err.value.loss
    assert all(torch.equal(good[k], v) for k, v in net.state_dict().items())


def test_exploding_update_restores_the_last_good_parameters():
    net = two_layer()
    trainer = engine.Trainer(net, mode="spatial", optimizer="sgd", lr=1e308)
    inputs, targets = data()
    good = {k: v.clone() for k, v in net.state_dict().items()}
    with pytest.raises(engine.DivergenceError):
        trainer.train_sequence(inputs, targets * 1e10)
    assert all(torch.equal(good[k], v) for k, v in net.state_dict().items())


def test_learnable_tau_gets_a_gradient_in_every_mode():
    net = two_layer(learn_tau=True)
    inputs, targets = data()
    for mode in engine.MODES:
        grads = engine.gradients(net, inputs, targets, mode=mode)
        assert float(grads["layers.0.tau_ms"].abs().sum()) > 0


def test_rate_mode_and_bad_learning_settings():
    net = two_layer(coding="rate")
    grads = engine.gradients(net, *data(), mode="traces")
    ref = engine.gradients(net, *data(), mode="bptt")
    a, b = flat(ref, sorted(ref)), flat(grads, sorted(ref))
    assert float((a - b).norm() / a.norm()) <= 1e-6
    with pytest.raises(ValueError, match="mode"):
        engine.Learner(net, mode="surrogate")
    with pytest.raises(ValueError, match="lr"):
        engine.Trainer(net, lr=-1.0)


@pytest.mark.slow
def test_online_memory_does_not_grow_with_steps_but_bptt_does():
    """The memory benchmark's points (fresh subprocess each), 1,000 → 4,000 steps."""
    from engine.bench.memory import _subprocess_point
    mb = {(k, n): _subprocess_point(k, n)["training_memory_mb"]
          for k in ("sg-spatial", "sg-traces", "sg-bptt") for n in (1000, 4000)}
    for kind in ("sg-spatial", "sg-traces"):
        # flat up to sampling noise: the chunk buffers' peak varies ±1.5 MiB run to run (35.9 to
        # 38.4 MiB at 1,000 steps), so the bound is the 10 %, not an absolute few MiB
        assert mb[kind, 4000] < 1.10 * mb[kind, 1000], mb
    assert mb["sg-bptt", 4000] > mb["sg-bptt", 1000] + 100.0, mb  # ~78 KiB per step


@pytest.mark.cuda
def test_traces_equal_bptt_on_cuda():
    cfg = engine.NetworkConfig(sizes=(6, 5, 3), dtype="float64", device="cuda", weight_gain=3.0,
                               threshold=0.05)
    net = engine.Network(cfg, seed=1)
    inputs, targets = data()
    ref = engine.gradients(net, inputs.cuda(), targets.cuda(), mode="bptt")
    got = engine.gradients(net, inputs.cuda(), targets.cuda(), mode="traces")
    a, b = flat(ref, sorted(ref)), flat(got, sorted(ref))
    assert float((a - b).norm() / a.norm()) <= 1e-6


def test_three_layers_traces_exact_above_the_first_hidden_layer():
    cfg = engine.NetworkConfig(sizes=(6, 5, 4, 3), threshold=0.05, dtype="float64", weight_gain=3.0)
    net = engine.Network(cfg, seed=3)
    inputs, targets = data()
    ref = engine.gradients(net, inputs, targets, mode="bptt")
    got = engine.gradients(net, inputs, targets, mode="traces")
    for k in ref:
        if not k.startswith("layers.0."):  # the top hidden layer and the readout are exact
            assert torch.allclose(ref[k], got[k], rtol=1e-6, atol=1e-12), k
    low = [k for k in ref if k.startswith("layers.0.")]
    cos = torch.nn.functional.cosine_similarity(flat(ref, low), flat(got, low), dim=0)
    assert 0.3 < float(cos) < 1 - 1e-9  # truncated further down: close, not equal
