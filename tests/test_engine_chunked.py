"""The fast path (Network.forward_chunk, Learner.observe_chunk: ``chunk_steps``, the default)
against the per-step reference (Network.step, Learner.observe: ``chunk_steps=None``) under
engine.run: same spikes, gradients, taps."""
import pytest
import torch

import engine

CHUNK = 16  # not a divisor of T: chunks of 16, 16, 16 and 12 steps


@pytest.fixture(autouse=True)
def one_thread():
    """These networks are tiny: a second OpenMP thread only waits (9 s instead of 0.3 s per
    test on a busy 2-core machine)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def make_net(bucket_weights="neuron", adaptive=False, discretisation="exact", dtype="float64", **kw):
    cfg = dict(sizes=(6, 5, 3), dt_ms=1.0, tau_ms=(3.0, 4.0), n_buckets=(3, 4), threshold=0.05,
               bucket_weights=bucket_weights, adaptive_threshold=adaptive, dtype=dtype,
               weight_gain=3.0, discretisation=discretisation)
    cfg.update(kw)
    return engine.Network(engine.NetworkConfig(**cfg), seed=1)


def data(T=60, B=2, n_in=6, n_out=3, seed=0, loss="mse"):
    g = torch.Generator().manual_seed(seed)
    inputs = (torch.rand(T, B, n_in, generator=g) < 0.2).double()
    if loss == "ce":
        return inputs, torch.randint(n_out, (B,), generator=g)
    return inputs, torch.randn(T, B, n_out, generator=g, dtype=torch.float64)


def rel_err(ref: dict, got: dict) -> float:
    keys = sorted(ref)
    a = torch.cat([ref[k].flatten() for k in keys])
    b = torch.cat([got[k].flatten() for k in keys])
    assert a.norm() > 0
    return float((a - b).norm() / a.norm())


def assert_same_run(net, inputs, **kw):
    ref = engine.simulate(net, inputs, chunk_steps=None, **kw)
    got = engine.simulate(net, inputs, chunk_steps=CHUNK, **kw)
    assert all(torch.equal(a, b) for a, b in zip(ref.spikes, got.spikes))
    assert sum(float(s.sum()) for s in ref.spikes) > 0  # the test network does spike
    for a, b in zip(ref.preacts, got.preacts):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)
    assert all(torch.equal(a, b) for a, b in zip(ref.spike_counts, got.spike_counts))
    for a, b in zip(ref.state.layers, got.state.layers):
        torch.testing.assert_close(a.buckets, b.buckets, rtol=1e-12, atol=1e-12)
        assert torch.equal(a.encoder.estimate, b.encoder.estimate)


@pytest.mark.parametrize("discretisation", ["exact", "paper"])
@pytest.mark.parametrize("adaptive", [False, True])
@pytest.mark.parametrize("bucket_weights", ["neuron", "synapse"])
@pytest.mark.parametrize("loss", ["mse", "mse_hinge", "ce"])
def test_chunked_gives_the_same_spikes_and_gradients(bucket_weights, adaptive, discretisation, loss):
    extra = dict(readout="linear") if loss == "ce" else {}
    net = make_net(bucket_weights, adaptive, discretisation, **extra)
    inputs, targets = data(loss=loss)
    assert_same_run(net, inputs)
    warm = 10.0 if loss == "ce" else 0.0
    for mode in ("spatial", "traces"):
        ref = engine.gradients(net, inputs, targets, mode=mode, loss=loss, warmup_ms=warm,
                               chunk_steps=None)
        got = engine.gradients(net, inputs, targets, mode=mode, loss=loss, warmup_ms=warm,
                               chunk_steps=CHUNK)
        assert rel_err(ref, got) <= 1e-9, mode
    # the trace terms are there: traces differ from spatial on the hidden layer
    spatial = engine.gradients(net, inputs, targets, mode="spatial", loss=loss, warmup_ms=warm,
                               chunk_steps=CHUNK)
    assert rel_err(got, spatial) > 1e-3


def test_chunked_variants_analog_rate_three_layers_learnable_tau_input_pulses():
    g = torch.Generator().manual_seed(3)
    analog = torch.rand(50, 2, 6, generator=g, dtype=torch.float64)
    for kw in (dict(input_encoding="analog", max_spikes_per_step=1),
               dict(coding="rate"), dict(sizes=(6, 5, 4, 3), tau_ms=2.0, n_buckets=3),
               dict(learn_tau=True, bias=False), dict(input_synapse_ms=2.5)):
        net = make_net(**kw)
        inputs = analog if "input_encoding" in kw else data(T=50)[0]
        targets = data(T=50)[1]
        assert_same_run(net, inputs)
        for mode in ("spatial", "traces"):
            ref = engine.gradients(net, inputs, targets, mode=mode, chunk_steps=None)
            got = engine.gradients(net, inputs, targets, mode=mode, chunk_steps=CHUNK)
            assert sorted(ref) == sorted(got)
            assert rel_err(ref, got) <= 1e-9, (kw, mode)


def test_chunked_taps_equal_per_step_taps():
    net = make_net("synapse", adaptive=True)
    inputs, targets = data()
    names = [n for n in engine.tap_names(net) if not n.endswith(("weight.grad", "bias.grad"))]
    recs = []
    for chunk in (None, CHUNK):
        with engine.Recorder(net, names, every=3, max_steps=15) as rec:
            engine.run(net, inputs, learner=engine.Learner(net, "traces"), targets=targets,
                       keep="none", chunk_steps=chunk)
        recs.append(rec)
    for name in names:
        assert recs[0].steps(name) == recs[1].steps(name), name
        if name not in recs[0]:  # e.g. ∂L/∂y of a readout whose loss is on x: never reached
            continue
        torch.testing.assert_close(recs[0][name], recs[1][name], rtol=1e-10, atol=1e-12)
    assert recs[1]["layers.0.preact.grad"].abs().sum() > 0


def test_weight_gradient_taps_fall_back_to_the_per_step_path():
    net = make_net()
    inputs, targets = data()
    with engine.Recorder(net, ["layers.0.weight.grad"]) as rec:
        grads = engine.gradients(net, inputs, targets, mode="spatial", chunk_steps=CHUNK)
    assert rec["layers.0.weight.grad"].shape[0] == inputs.shape[0]
    torch.testing.assert_close(rec["layers.0.weight.grad"].sum(0), grads["layers.0.weight"])


def test_trainer_updates_between_chunks_like_the_reference():
    inputs, targets = data(T=70)
    params = []
    for chunk in (None, CHUNK):
        net = make_net("synapse", adaptive=True)
        trainer = engine.Trainer(net, mode="traces", lr=1e-2, update_every=25, chunk_steps=chunk)
        for _ in range(2):
            trainer.train_sequence(inputs, targets)
        assert trainer.n_updates == 6  # 25 + 25 + 20 steps per sequence
        params.append(torch.cat([p.detach().flatten() for p in net.parameters()]))
    assert float((params[0] - params[1]).norm() / params[0].norm()) <= 1e-9


def test_state_carries_across_runs_and_divergence_is_reported():
    net = make_net()
    inputs, targets = data()
    whole = engine.simulate(net, inputs, chunk_steps=CHUNK)
    first = engine.simulate(net, inputs[:25], chunk_steps=CHUNK)
    second = engine.simulate(net, inputs[25:], state=first.state, chunk_steps=CHUNK)
    assert torch.equal(torch.cat([first.spikes[-1], second.spikes[-1]]), whole.spikes[-1])
    bad = targets.clone()
    bad[33] = float("inf")
    with pytest.raises(engine.DivergenceError) as err:
        engine.gradients(net, inputs, bad, mode="spatial", chunk_steps=CHUNK)
    assert err.value.step == 33
    with pytest.raises(ValueError, match="chunk_steps"):
        engine.simulate(net, inputs, chunk_steps=0)
    with pytest.raises(ValueError, match="chunk_steps"):
        engine.Trainer(net, chunk_steps=2.5)


@pytest.mark.cuda  # skipped by conftest where no CUDA device is present (and only this may skip)
def test_chunked_equals_per_step_on_cuda():
    net = make_net("synapse", adaptive=True, device="cuda")
    inputs, targets = data()
    assert_same_run(net, inputs)
    for mode in ("spatial", "traces"):
        ref = engine.gradients(net, inputs, targets, mode=mode, chunk_steps=None)
        got = engine.gradients(net, inputs, targets, mode=mode, chunk_steps=CHUNK)
        assert rel_err(ref, got) <= 1e-9
