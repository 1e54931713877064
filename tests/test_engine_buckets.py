"""Gamma buckets: closed-form kernels and the dt-invariance of their shape (MODEL.md §1, §6)."""
import math

import pytest
import torch

from engine.buckets import bucket_delays_ms, gamma_kernel_closed_form, gamma_kernels, with_first
from engine.units import alpha_from_tau, ms_to_steps, rate_hz, spike_bin, steps_to_ms


def test_impulse_response_is_the_closed_form_gamma_kernel():
    sim = gamma_kernels(0.5, torch.full((5,), 4.0), duration_ms=100.0)
    closed = gamma_kernel_closed_form(0.5, 4.0, 5, sim.shape[0])
    assert torch.allclose(sim, closed, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("dt_ms", [1.0, 0.1])
def test_area_mean_delay_and_peak(dt_ms):
    tau, height = 5.0, 0.4
    h = gamma_kernels(dt_ms, torch.full((4,), tau), duration_ms=400.0, height=height)
    t = torch.arange(h.shape[0], dtype=torch.float64) * dt_ms
    for k in range(4):
        area_ms = float(h[:, k].sum()) * dt_ms
        exact = height * dt_ms / (1 - math.exp(-dt_ms / tau))  # ≈ 2ϑτ (1 + dt/2τ)
        assert area_ms == pytest.approx(exact, rel=1e-6)
        assert area_ms == pytest.approx(height * tau, rel=dt_ms / tau)
        mean = float((h[:, k] * t).sum() / h[:, k].sum())
        a = math.exp(-dt_ms / tau)
        assert mean == pytest.approx(k * dt_ms + (k + 1) * dt_ms * a / (1 - a), rel=1e-6)
        assert mean == pytest.approx((k + 1) * tau, abs=(k + 1) * dt_ms / 2)  # (k−1)·dt/2 bias
        peak = float(t[h[:, k].argmax()])
        assert peak == pytest.approx(k * tau, abs=dt_ms + 0.05 * tau)


def test_higher_buckets_pass_a_constant_with_gain_one():
    alpha = alpha_from_tau(0.2, torch.tensor([3.0, 3.0, 3.0, 3.0], dtype=torch.float64))
    b = torch.zeros(1, 1, 4, dtype=torch.float64)
    for _ in range(3000):
        b = with_first(torch.full((1, 1), 0.7, dtype=torch.float64), b, alpha)
    assert torch.allclose(b, torch.full_like(b, 0.7), atol=1e-9)


def test_kernels_do_not_change_when_dt_shrinks():
    tau = torch.full((4,), 5.0)
    fine = gamma_kernels(0.05, tau, 100.0)  # [2000, K]
    coarse = gamma_kernels(0.5, tau, 100.0)  # [200, K]
    # bucket values are functions of time in ms: sample the fine kernel on the coarse grid
    err = (coarse - fine[::10]).abs().max() / fine.max()
    assert err < 0.06  # O(dt/τ) = 0.1 at the coarse step; a bug in the recursion is far larger


def test_per_bucket_tau_delays():
    assert bucket_delays_ms(torch.tensor([1.0, 2.0, 3.0])).tolist() == [1.0, 3.0, 6.0]


def test_units():
    assert alpha_from_tau(1.0, 5.0) == pytest.approx(math.exp(-0.2))
    assert ms_to_steps(500.0, 0.1) == 5000 and steps_to_ms(5000, 0.1) == pytest.approx(500.0)
    assert spike_bin(12.3, 1.0) == 12 and spike_bin(1.0, 0.1) == 10
    assert rate_hz(10, 2, 500.0) == pytest.approx(10.0)
