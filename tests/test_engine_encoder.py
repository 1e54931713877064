"""Sigma-delta encoder: reconstruction within ϑ, sparse, dt-invariant rates (MODEL.md §2, §4.1)."""
import math

import pytest
import torch

from engine.model.encoder import encode_chunk, encoder_step, init_encoder_state
from engine.model.network import hold_gain


def encode(y, dt_ms, tau_ms=5.0, theta=0.05, adaptive=False, discretisation="exact", max_spikes=None):
    state = init_encoder_state(1, y.shape[1], dtype=torch.float64, device="cpu")
    alpha = math.exp(-dt_ms / tau_ms)
    adapt = {}
    if adaptive:
        adapt = dict(alpha_theta=math.exp(-dt_ms / 15.0), gain=0.5,
                     theta_gain0=hold_gain(dt_ms, 15.0, discretisation))
    spikes, est, thr = [], [], []
    for y_t in y.unbind(0):
        s, th, state = encoder_step(y_t.unsqueeze(0), state, alpha, theta,
                                    gain0=hold_gain(dt_ms, tau_ms, discretisation),
                                    max_spikes=max_spikes, **adapt)
        spikes.append(s[0]), est.append(state.estimate[0]), thr.append(th[0])
    return torch.stack(spikes), torch.stack(est), torch.stack(thr)


def slow_signal(dt_ms, duration_ms=400.0):
    t = torch.arange(int(duration_ms / dt_ms), dtype=torch.float64) * dt_ms
    return (0.6 + 0.4 * torch.sin(2 * math.pi * t / 200.0)).unsqueeze(1)  # [T, 1]


@pytest.mark.parametrize("dt_ms", [2.0, 1.0, 0.1])
def test_estimate_tracks_signal_within_threshold(dt_ms):
    y = slow_signal(dt_ms)
    theta = 0.02  # the paper's one-spike encoder would saturate here (2ϑτ/dt < max y at dt ≥ 1)
    s, est, _ = encode(y, dt_ms, theta=theta)
    warm = int(20 / dt_ms)
    assert float((y - est)[warm:].max()) <= theta + 1e-9  # y − ê never exceeds ϑ after a step
    slack = float(y.max()) * (1 - math.exp(-dt_ms / 5.0)) + float(y.diff(dim=0).abs().max())
    assert float((est - y)[warm:].max()) <= theta + slack  # overshoot at most ϑ + one step's change
    if dt_ms >= 1.0:
        assert float(s.max()) >= 2  # several spikes in one step where one would not do


def test_one_spike_cap_saturates_at_coarse_dt():
    y = slow_signal(1.0)
    s, est, _ = encode(y, 1.0, theta=0.02, max_spikes=1)
    assert set(s.unique().tolist()) <= {0.0, 1.0}
    assert float((y - est)[20:].max()) > 0.2  # the estimate lags far behind: 2ϑτ/dt = 0.2 < y


@pytest.mark.parametrize("theta", [0.05, 0.01])
def test_constant_signal_spike_count_is_dt_invariant(theta):
    """A constant y costs y/(2ϑτ) spikes per ms at every dt, also where the paper's encoder
    saturates (ϑ = 0.01: 2ϑτ/dt = 0.1 < y at dt = 1)."""
    # spikes in one second, plus those that first charge the estimate from 0 to y
    expected = 0.5 / (2 * theta * 5.0) * 1000.0 + 0.5 / (2 * theta)
    counts = []
    for dt in (2.0, 1.0, 0.5, 0.25, 0.1):
        y = torch.full((int(1000 / dt), 1), 0.5, dtype=torch.float64)
        s, _, _ = encode(y, dt, tau_ms=5.0, theta=theta)
        counts.append(float(s.sum()))
    for c in counts:
        assert c == pytest.approx(expected, rel=0.002)  # measured: within 5 spikes of 5,025
    paper = [float(encode(torch.full((int(1000 / dt), 1), 0.5, dtype=torch.float64), dt, theta=0.01,
                          discretisation="paper", max_spikes=1)[0].sum()) for dt in (1.0, 0.1)]
    assert paper[1] > 1.5 * paper[0]  # the paper's encoder: capped at 1 kHz at dt = 1 ms


def test_adaptive_threshold_rises_and_cuts_spikes():
    y = slow_signal(0.5)
    s_fixed, _, _ = encode(y, 0.5)
    s_adapt, est, thr = encode(y, 0.5, adaptive=True)
    assert float(thr.max()) > 0.05 and float(thr.min()) == pytest.approx(0.05)
    assert s_adapt.sum() < 0.7 * s_fixed.sum()


def test_adaptive_threshold_spike_count_is_dt_invariant():
    counts = [float(encode(slow_signal(dt), dt, adaptive=True)[0].sum()) for dt in (1.0, 0.5, 0.1)]
    assert max(counts) / min(counts) < 1.05


# the time-parallel form against the step
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("adaptive", [False, True])
def test_encoder_chunk_is_bitwise_the_encoder_step(dtype, adaptive):
    g = torch.Generator().manual_seed(5)
    y = (torch.rand(40, 3, 7, generator=g, dtype=torch.float64) * 2).to(dtype)
    alpha0, gain0 = torch.tensor(0.9, dtype=dtype), torch.tensor(0.95, dtype=dtype)
    kw = dict(gain0=gain0, max_spikes=3)
    if adaptive:
        kw.update(alpha_theta=0.93, gain=0.5, theta_gain0=0.97)
    state = init_encoder_state(3, 7, dtype=dtype, device="cpu")
    spikes, thresholds, estimates = [], [], []
    for y_t in y:
        s, th, state = encoder_step(y_t, state, alpha0, 0.1, **kw)
        spikes.append(s), thresholds.append(th), estimates.append(state.estimate)
    got = encode_chunk(y, init_encoder_state(3, 7, dtype=dtype, device="cpu"), alpha0, 0.1, **kw)
    for ref, new in zip((spikes, thresholds, estimates), got[:3]):
        assert torch.equal(torch.stack(ref), new)
    assert torch.equal(state.theta_dyn, got[3].theta_dyn)
    assert float(got[0].sum()) > 0 and float(got[0].max()) <= 3
