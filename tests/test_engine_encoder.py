"""Sigma-delta encoder: reconstruction within ϑ, sparse, dt-invariant rates (MODEL.md §2)."""
import math

import pytest
import torch

from engine.encoder import encoder_step, init_encoder_state


def encode(y, dt_ms, tau_ms=5.0, theta=0.05, adaptive=False):
    state = init_encoder_state(1, y.shape[1], dtype=torch.float64, device="cpu")
    alpha = math.exp(-dt_ms / tau_ms)
    alpha_theta = math.exp(-dt_ms / 15.0) if adaptive else None
    spikes, est, thr = [], [], []
    for y_t in y.unbind(0):
        s, th, state = encoder_step(y_t.unsqueeze(0), state, alpha, theta, alpha_theta, 0.5)
        spikes.append(s[0]), est.append(state.estimate[0]), thr.append(th[0])
    return torch.stack(spikes), torch.stack(est), torch.stack(thr)


def slow_signal(dt_ms, duration_ms=400.0):
    t = torch.arange(int(duration_ms / dt_ms), dtype=torch.float64) * dt_ms
    return (0.6 + 0.4 * torch.sin(2 * math.pi * t / 200.0)).unsqueeze(1)  # [T, 1]


@pytest.mark.parametrize("dt_ms", [1.0, 0.1])
def test_estimate_tracks_signal_within_threshold(dt_ms):
    y = slow_signal(dt_ms)
    theta = 0.15  # 2ϑ/(1−α) must exceed max y (no saturation, MODEL.md §6)
    s, est, _ = encode(y, dt_ms, theta=theta)
    warm = int(20 / dt_ms)
    assert float((y - est)[warm:].max()) <= theta + 1e-9  # y − ê never exceeds ϑ after a step
    slack = float(y.max()) * (1 - math.exp(-dt_ms / 5.0)) + float(y.diff(dim=0).abs().max())
    assert float((est - y)[warm:].max()) <= theta + slack  # overshoot at most ϑ + one step's change
    assert set(s.unique().tolist()) <= {0.0, 1.0}  # at most one spike per step


def test_constant_signal_rate_is_dt_invariant():
    rates = []
    for dt in (1.0, 0.5, 0.1):
        y = torch.full((int(1000 / dt), 1), 0.5, dtype=torch.float64)
        s, _, _ = encode(y, dt, tau_ms=5.0, theta=0.05)
        rates.append(float(s.sum()))  # spikes per second
    expected = 0.5 / (2 * 0.05 * 5.0) * 1000.0  # y / (2ϑτ) per ms
    for r in rates:
        assert r == pytest.approx(expected, rel=0.1)


def test_adaptive_threshold_rises_and_cuts_spikes():
    y = slow_signal(0.5)
    s_fixed, _, _ = encode(y, 0.5)
    s_adapt, est, thr = encode(y, 0.5, adaptive=True)
    assert float(thr.max()) > 0.05 and float(thr.min()) == pytest.approx(0.05)
    assert s_adapt.sum() < 0.7 * s_fixed.sum()
