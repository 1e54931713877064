"""Baselines: the LIF network learns, OTTT is exact on the readout and its memory is flat in T."""
from __future__ import annotations

import pytest
import torch

from engine.baselines import LIFConfig, LIFNetwork, LIFTrainer, run_lif
from engine.baselines import snntorch_peer


def _two_groups(n: int, seed: int, dt_ms: float = 1.0, duration_ms: float = 40.0):
    """Label c: channels of group c fire at 200 Hz, the others at 20 Hz. → [T, n, 8], [n]."""
    gen = torch.Generator().manual_seed(seed)
    labels = torch.randint(2, (n,), generator=gen)
    steps = int(duration_ms / dt_ms)
    rate = torch.full((n, 8), 20.0)
    rate[labels == 0, :4] = 200.0
    rate[labels == 1, 4:] = 200.0
    x = (torch.rand(steps, n, 8, generator=gen) < rate * dt_ms / 1000).float()
    return x, labels


def _accuracy(net, x, y):
    logits = run_lif(net, x).logits
    return float((logits.sum(0).argmax(-1) == y).double().mean())


@pytest.mark.parametrize("mode", ["bptt", "ottt"])
def test_lif_learns_a_tiny_task(mode):
    torch.manual_seed(0)
    net = LIFNetwork(LIFConfig(sizes=(8, 16, 2), weight_gain=(3.0, 1.0)), seed=0)
    x_test, y_test = _two_groups(200, seed=999)
    before = _accuracy(net, x_test, y_test)
    trainer = LIFTrainer(net, mode=mode, lr=2e-2)
    for i in range(25):
        trainer.train_sequence(*_two_groups(32, seed=i))
    after = _accuracy(net, x_test, y_test)
    assert after >= 0.9, (before, after)


def test_lif_is_dt_consistent_in_physical_units():
    """Same events, finer dt: hidden spike counts stay close (time constants are in ms)."""
    net = LIFNetwork(LIFConfig(sizes=(8, 16, 2), weight_gain=(3.0, 1.0)), seed=1)
    counts = []
    for dt in (1.0, 0.5):
        x, _ = _two_groups(64, seed=3, dt_ms=1.0)
        if dt != 1.0:  # same events on the finer grid: each event in the first half-step
            x = torch.stack([x, torch.zeros_like(x)], 1).reshape(-1, *x.shape[1:])
        net.set_dt(dt)
        counts.append(float(run_lif(net, x).spike_counts[0].sum()))
    assert abs(counts[0] - counts[1]) / counts[0] < 0.25, counts


def test_ottt_equals_bptt_on_the_readout():
    """With no hidden layer the OTTT trace is the exact gradient of the leaky integrator."""
    x, y = _two_groups(8, seed=5)
    grads = {}
    for mode in ("bptt", "ottt"):
        net = LIFNetwork(LIFConfig(sizes=(8, 2)), seed=2)
        run_lif(net, x, y, mode=mode, warmup_ms=5.0)
        grads[mode] = [p.grad.clone() for p in net.parameters()]
    for a, b in zip(grads["bptt"], grads["ottt"]):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-7)


def test_ottt_training_memory_is_flat_and_bptt_grows():
    """Peak training memory, each point in a fresh subprocess: OTTT flat, BPTT ∝ T."""
    from engine.bench.memory import _subprocess_point
    pts = {(k, n): _subprocess_point(k, n) for k in ("lif-ottt", "lif-bptt") for n in (200, 2000)}
    for p in pts.values():
        assert "error" not in p, p
    ottt = pts["lif-ottt", 2000]["training_memory_mb"] - pts["lif-ottt", 200]["training_memory_mb"]
    bptt = pts["lif-bptt", 2000]["training_memory_mb"] - pts["lif-bptt", 200]["training_memory_mb"]
    assert bptt > 15.0, pts
    assert ottt < 0.2 * bptt and ottt < 5.0, pts


def test_snntorch_row_runs():
    if not snntorch_peer.available():
        pytest.skip("snnTorch is not installed: its benchmark row is skipped with a message")
    from engine.bench.models import BenchModel
    from engine.tasks.datasets import classification_task
    task = classification_task("coincidence")
    model = BenchModel("snntorch", task, 1.0, hidden=(16,))
    x, y = task.train_batch(1.0, 0)
    loss = model.train_batch(x, y)
    assert loss == loss and loss > 0
    m = model.evaluate([(x, y)])
    assert 0.0 <= m["accuracy"] <= 100.0


def test_lif_config_validates():
    with pytest.raises(ValueError, match="readout"):
        LIFConfig(readout="voltage")
    with pytest.raises(ValueError, match="tau_mem_ms"):
        LIFConfig(tau_mem_ms=-1.0)
