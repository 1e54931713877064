"""Gamma buckets: closed-form kernels and their invariance to dt (MODEL.md §1, §4.1, §6)."""
import math

import pytest
import torch

from engine.model.buckets import (bucket_delays_ms, bucket_step, filter_drive, filter_first,
                                  gamma_kernel_closed_form, gamma_kernels, gamma_step, with_first)
from engine.units import alpha_from_tau, ms_to_steps, rate_hz, spike_bin, steps_to_ms

TAU = torch.full((4,), 5.0, dtype=torch.float64)


@pytest.mark.parametrize("discretisation", ["exact", "paper"])
def test_impulse_response_is_the_closed_form_gamma_kernel(discretisation):
    sim = gamma_kernels(0.5, torch.full((5,), 4.0), duration_ms=100.0, discretisation=discretisation)
    closed = gamma_kernel_closed_form(0.5, 4.0, 5, sim.shape[0], discretisation)
    assert torch.allclose(sim, closed, rtol=1e-10, atol=1e-14)


def test_exact_step_is_the_matrix_exponential_of_the_cascade():
    """Shared τ: A_kj = e^{−h} h^{k−j}/(k−j)!, b_k = P(k+1, h)/h (MODEL.md §4.1)."""
    dt, tau, k = 0.7, 3.0, 5
    step = bucket_step(dt, torch.full((k,), tau, dtype=torch.float64))
    h = dt / tau
    for i in range(k):
        for j in range(k):
            want = math.exp(-h) * h ** (i - j) / math.factorial(i - j) if i >= j else 0.0
            assert float(step.transition[i, j]) == pytest.approx(want, rel=1e-12, abs=1e-15)
        p = float(torch.special.gammainc(torch.tensor(i + 1.0, dtype=torch.float64),
                                         torch.tensor(h, dtype=torch.float64)))
        assert float(step.drive[i]) == pytest.approx(p / h, rel=1e-12)


@pytest.mark.parametrize("dt_ms", [2.0, 1.0, 0.5, 0.1])
def test_exact_kernel_area_and_mean_delay_in_ms_do_not_depend_on_dt(dt_ms):
    """Area 2ϑ·τ exactly; mean delay (k+1)·τ from the middle of the spike's step to the end of
    step n, within (dt/τ)²·τ/12 (bucket 0) and far less above."""
    height = 0.4
    h = gamma_kernels(dt_ms, TAU, duration_ms=400.0, height=height)  # [T, K]
    t_end = (torch.arange(h.shape[0], dtype=torch.float64) + 1) * dt_ms  # end of step n
    for k in range(4):
        area_ms = float(h[:, k].sum()) * dt_ms
        assert area_ms == pytest.approx(height * 5.0, rel=1e-9)
        mean = float((h[:, k] * (t_end - dt_ms / 2)).sum() / h[:, k].sum())
        assert mean == pytest.approx((k + 1) * 5.0, abs=5.0 * (dt_ms / 5.0) ** 2 / 12 + 1e-9)
        peak = float(t_end[h[:, k].argmax()])
        assert peak == pytest.approx(k * 5.0, abs=dt_ms + 0.05 * 5.0)


@pytest.mark.parametrize("dt_ms", [1.0, 0.1])
def test_paper_recursion_area_and_delay_drift_with_dt(dt_ms):
    """The paper's recursion: area 2ϑ·dt/(1 − α) ≈ 2ϑτ(1 + dt/2τ), mean delay (k+1)τ − dt
    counted from the end of the spike's step (MODEL.md §6)."""
    height = 0.4
    h = gamma_kernels(dt_ms, TAU, duration_ms=400.0, height=height, discretisation="paper")
    t = torch.arange(h.shape[0], dtype=torch.float64) * dt_ms
    a = math.exp(-dt_ms / 5.0)
    for k in range(4):
        assert float(h[:, k].sum()) * dt_ms == pytest.approx(height * dt_ms / (1 - a), rel=1e-6)
        mean = float((h[:, k] * t).sum() / h[:, k].sum())
        assert mean == pytest.approx(k * dt_ms + (k + 1) * dt_ms * a / (1 - a), rel=1e-6)


@pytest.mark.parametrize("discretisation", ["exact", "paper"])
def test_higher_buckets_pass_a_constant_with_gain_one(discretisation):
    step = bucket_step(0.2, torch.full((4,), 3.0, dtype=torch.float64), discretisation)
    b = torch.zeros(1, 1, 4, dtype=torch.float64)
    for _ in range(3000):
        b = with_first(torch.full((1, 1), 0.7, dtype=torch.float64), b, step)
    assert torch.allclose(b, torch.full_like(b, 0.7), atol=1e-9)


def test_with_first_reproduces_the_driven_buckets():
    """Buckets rebuilt from bucket 0 alone (how receivers see a sender's estimate) equal the
    buckets driven directly, for per-bucket τ too."""
    step = bucket_step(0.5, torch.tensor([1.0, 2.0, 4.0], dtype=torch.float64))
    g = torch.Generator().manual_seed(0)
    driven = rebuilt = torch.zeros(2, 3, 3, dtype=torch.float64)
    for _ in range(50):
        drive = (torch.rand(2, 3, generator=g, dtype=torch.float64) < 0.3).double() * 2
        driven = gamma_step(drive, driven, step)
        rebuilt = with_first(driven[..., 0], rebuilt, step)
        assert torch.allclose(rebuilt, driven, rtol=1e-12, atol=1e-14)


def test_exact_kernels_are_the_same_function_of_time_at_every_dt():
    """The fine kernel averaged over each coarse step equals the coarse kernel (ZOH is exact)."""
    fine = gamma_kernels(0.05, TAU, 100.0)  # [2000, K]
    coarse = gamma_kernels(0.5, TAU, 100.0)  # [200, K]
    # a spike spread over a coarse step = 10 fine spikes, one per fine step, of 1/10 the height
    spread = sum(torch.cat([torch.zeros(i, 4, dtype=torch.float64), fine[:fine.shape[0] - i]])
                 for i in range(10)) / 10
    err = (coarse - spread[9::10]).abs().max() / fine.max()
    assert err < 1e-9
    paper = gamma_kernels(0.5, TAU, 100.0, discretisation="paper")
    assert (paper - spread[9::10]).abs().max() / fine.max() > 0.02  # O(dt/τ) for the paper's


def test_per_bucket_tau_delays():
    assert bucket_delays_ms(torch.tensor([1.0, 2.0, 3.0])).tolist() == [1.0, 3.0, 6.0]


def test_per_bucket_tau_kernel_areas_are_exact():
    tau = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)
    for dt in (1.0, 0.1):
        h = gamma_kernels(dt, tau, 200.0)
        assert torch.allclose(h.sum(0) * dt, torch.full((3,), 1.0, dtype=torch.float64), rtol=1e-9)


def test_bad_discretisation_names_the_field():
    with pytest.raises(ValueError, match="discretisation"):
        bucket_step(1.0, TAU, "euler")


def test_units():
    assert alpha_from_tau(1.0, 5.0) == pytest.approx(math.exp(-0.2))
    assert ms_to_steps(500.0, 0.1) == 5000 and steps_to_ms(5000, 0.1) == pytest.approx(500.0)
    assert spike_bin(12.3, 1.0) == 12 and spike_bin(1.0, 0.1) == 10
    assert rate_hz(10, 2, 500.0) == pytest.approx(10.0)


# the time-parallel form against the step
@pytest.mark.parametrize("discretisation", ["exact", "paper"])
def test_chunk_filters_equal_the_step(discretisation):
    g = torch.Generator().manual_seed(3)
    step = bucket_step(0.7, torch.tensor([2.0, 3.0, 5.0], dtype=torch.float64), discretisation)
    drive = torch.rand(75, 2, 4, generator=g, dtype=torch.float64)  # [C, B, N], C not a block multiple
    start = torch.rand(2, 4, 3, generator=g, dtype=torch.float64)  # [B, N, K]
    rows, prev = filter_drive(drive, start, step), start
    for t in range(drive.shape[0]):
        prev = gamma_step(drive[t], prev, step)
        assert torch.allclose(rows[t + 1], prev, rtol=1e-12, atol=1e-14)
    first = torch.rand(75, 2, 4, generator=g, dtype=torch.float64)
    rows, prev = filter_first(first, start, step), start
    for t in range(first.shape[0]):
        prev = with_first(first[t], prev, step)
        assert torch.allclose(rows[t + 1], prev, rtol=1e-12, atol=1e-14)
