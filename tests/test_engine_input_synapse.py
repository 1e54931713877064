"""The exponential input synapse (engine.model.synapse): its shares, the engine paths, and what
it is for: the same hidden spike rate at every dt."""
import math

import pytest
import torch

import engine
from engine.bench.resolution import hidden_rates_by_dt
from engine.model.synapse import synapse_inputs, synapse_shares


@pytest.mark.parametrize("dt_ms", [2.0, 1.0, 0.3, 0.1])
@pytest.mark.parametrize("synapse_ms", [0.5, 1.0, 2.0])
def test_shares_keep_the_charge_and_lag_tau_s_at_every_dt(dt_ms, synapse_ms):
    n = int(40 * synapse_ms / dt_ms) + 2  # the tail below e^-40
    p = synapse_shares(dt_ms, synapse_ms, n)
    assert float(p.sum()) == pytest.approx(1.0, abs=1e-12)
    assert bool((p > 0).all())
    # mean lag from the event: the step's own mean position (dt/2) is the binning's, so the
    # lag of the share-weighted step centres is τ_s
    centres = (torch.arange(n, dtype=torch.float64) + 0.5) * dt_ms
    assert float((p * centres).sum()) - dt_ms / 2 == pytest.approx(synapse_ms, rel=1e-9)


def test_the_recursion_equals_the_shares_and_zero_is_the_identity():
    g = torch.Generator().manual_seed(0)
    x = (torch.rand(40, 2, 3, generator=g) < 0.2).double() * torch.randint(1, 3, (40, 2, 3), generator=g)
    assert synapse_inputs(x, 1.0, 0.0) is x
    out = synapse_inputs(x, 0.5, 1.0)
    p = synapse_shares(0.5, 1.0, 40)
    conv = torch.stack([sum(p[j] * x[t - j] for j in range(t + 1)) for t in range(40)])
    torch.testing.assert_close(out, conv, rtol=1e-12, atol=1e-12)
    assert float(out.sum()) < float(x.sum())  # charge after the last step is dropped
    # a continuous synapse integrated over each step: an event at u = 0.5 of its step
    h = 0.5
    expected_first = 1 + math.expm1(-h) / h
    assert float(synapse_shares(0.5, 1.0, 2)[0]) == pytest.approx(expected_first)


def test_a_run_through_the_synapse_records_the_events_and_traces_equal_bptt():
    cfg = engine.NetworkConfig(sizes=(6, 5, 3), dt_ms=0.5, tau_ms=(3.0, 4.0), n_buckets=(3, 4),
                               threshold=0.05, dtype="float64", weight_gain=3.0,
                               input_synapse_ms=1.5)
    net = engine.Network(cfg, seed=1)
    g = torch.Generator().manual_seed(0)
    inputs = (torch.rand(60, 2, 6, generator=g) < 0.2).double()
    targets = torch.randn(60, 2, 3, generator=g, dtype=torch.float64)
    res = engine.simulate(net, inputs)
    assert torch.equal(res.input_spikes, inputs)  # the events, not the synapse's drive
    plain = engine.simulate(engine.Network(cfg.replace(input_synapse_ms=0.0), seed=1), inputs)
    assert not torch.equal(res.preacts[0], plain.preacts[0])
    ref = engine.gradients(net, inputs, targets, mode="bptt")
    got = engine.gradients(net, inputs, targets, mode="traces")
    a = torch.cat([ref[k].flatten() for k in sorted(ref)])
    b = torch.cat([got[k].flatten() for k in sorted(ref)])
    assert a.norm() > 0 and float((a - b).norm() / a.norm()) <= 1e-6


@pytest.mark.parametrize("value", [-1.0, float("nan"), "1", True])
def test_bad_synapse_time_constant_names_the_field(value):
    with pytest.raises(ValueError, match="input_synapse_ms"):
        engine.NetworkConfig(input_synapse_ms=value)


def test_the_synapse_is_for_event_inputs_only():
    with pytest.raises(ValueError, match="input_synapse_ms"):
        engine.NetworkConfig(input_encoding="analog", input_synapse_ms=1.0)


def test_the_synapse_keeps_the_hidden_rate_across_dt_where_impulses_do_not():
    def spread(r):
        return (max(r) - min(r)) / min(r)
    impulses = list(hidden_rates_by_dt(0.0).values())
    synapse = list(hidden_rates_by_dt(1.0).values())
    assert min(synapse) > 50  # the hidden layer is active
    # measured: impulses +5.7 % from 1 to 0.1 ms, τ_s = 1 ms +2.9 % (peaks of the signal
    # between the steps of a 1-ms grid; through the synapse they are smooth)
    assert spread(synapse) < 0.6 * spread(impulses), (synapse, impulses)
    assert spread(synapse) < 0.035
