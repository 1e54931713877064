# %% [markdown]
# # Lesson 2 · Gamma memory: buckets that spill into each other
#
# **Promise.** By the end you can predict how long a SpikingGamma neuron remembers a spike, and
# where its memory peaks, from two numbers: τ and the bucket index k.
#
# **Objectives.**
# - Describe the bucket cascade: bucket 0 collects spikes, bucket k leaks into bucket k+1.
# - Read a gamma kernel: its area, its peak (≈ k·τ) and its mean delay (≈ (k+1)·τ).
# - Measure how far the kernels move when dt shrinks, for the paper's recursion and for the
#   engine's exact-in-ms step.
#
# **Prerequisites.** Lesson 1 (sigma-delta spikes, the decaying estimate ŷ⁰).
#
# **Time.** 45 min
#
# Run it: `python lessons/02_gamma_memory.py` · notebook:
# `jupytext --to notebook lessons/02_gamma_memory.py` · workbench: Lessons page.

# %%
import numpy as np
import holoviews as hv
import torch

from engine.buckets import bucket_delays_ms, gamma_kernel_closed_form, gamma_kernels
from workbench.lesson_views import neuron_view, setup
from workbench.lessons import Exercise, sized

setup()
TAU_MS, K = 5.0, 4
DTS_MS = sized((1.0, 0.1), (2.0, 1.0, 0.5, 0.1))

# %% [markdown]
# ## 1. A chain of leaky buckets
#
# In Lesson 1 the receiver rebuilt a signal with one leaky bucket, ŷ⁰. A SpikingGamma neuron
# keeps K of them per input. Each spike (height 2ϑ) pours into bucket 0; every bucket leaks with
# time constant τ, and what bucket k−1 loses flows into bucket k:
#
# τ·dŷ⁰/dt = −ŷ⁰ + input,  τ·dŷᵏ/dt = ŷᵏ⁻¹ − ŷᵏ  (k ≥ 1).
#
# Bucket k's response to one spike is a *gamma kernel* of order k+1:
# ŷᵏ(t) ∝ (t/τ)ᵏ e^(−t/τ) / k!. Every kernel has the same area (the spike's height times τ),
# peaks at k·τ and has its centre of mass at (k+1)·τ. So bucket k holds the input *smoothed and
# delayed by about k·τ*: this is the only memory the neuron has.
#
# The equations, and the two ways to take one step of length dt, are in the docstring of
# `engine/buckets.py` (`bucket_step`, `gamma_step`); `engine.buckets.gamma_kernels` computes the
# kernels by running that step.
#
# Play with the Neuron lab: one input spiking at the times drawn on top, K buckets below.

# %%
neuron_view(keys=("dt_ms", "tau_ms", "n_buckets"), n_buckets=4, tau_ms=5.0, dt_ms=0.5)

# %% [markdown]
# **Guiding questions**
#
# 1. Raise τ from 5 to 10 ms. What happens to the bucket curves, and why does the last bucket
#    respond so late to the burst at 20–32 ms?
#
# <details><summary>Answer</summary>
#
# Every bucket becomes slower and smoother: bucket k peaks near k·τ after each spike, so bucket
# 3 peaks about 30 ms (at τ = 10 ms) after the burst. The chain is a delay line whose delays
# scale with τ.
# </details>
#
# 2. Why is the kernel of bucket 3 lower and wider than that of bucket 1, if all have the same
#    area?
#
# <details><summary>Answer</summary>
#
# Each stage is a low-pass filter: passing through more stages spreads the same area over a
# longer time (the variance of a gamma kernel of order k+1 is (k+1)τ²), so the peak drops.
# </details>

# %% [markdown]
# ## 2. Measure the kernels
#
# Below, the engine computes the kernels of K = 4 buckets (τ = 5 ms) for a spike of height 1 at
# several dt, with both discretisations. We measure each kernel's area (ms) and its mean delay
# from the middle of the spike's step (ms), over a 60 ms window (the slowest buckets lose a
# little of their tail to it).

# %%
rows = []
for disc in ("paper", "exact"):
    for dt in DTS_MS:
        h = gamma_kernels(dt, torch.full((K,), TAU_MS), 12 * TAU_MS, 1.0, disc).numpy()  # [T, K]
        t = (np.arange(h.shape[0]) + 0.5) * dt
        area = h.sum(0) * dt
        mean = (h * t[:, None]).sum(0) / h.sum(0)
        rows.append((disc, dt, area, mean, h))
        print(f"{disc:5s} dt {dt:4g} ms  area {np.round(area, 3)}  mean delay {np.round(mean, 2)} ms")
print("(k+1)·τ =", bucket_delays_ms(torch.full((K,), TAU_MS)).numpy(), "ms")

# %%
finest = {disc: h for disc, dt, _, _, h in rows if dt == min(DTS_MS)}
plots = []
for disc in ("paper", "exact"):
    curves = []
    for d, dt, _, _, h in rows:
        if d != disc:
            continue
        t = (np.arange(h.shape[0]) + 0.5) * dt
        curves += [hv.Curve((t, h[:, k]), "time after the spike (ms)", "bucket value",
                            label=f"dt {dt:g}, k={k}") for k in range(K)]
    plots.append(hv.Overlay(curves).opts(width=460, height=300, show_legend=False,
                                         title=f"{disc}: kernels at dt = {', '.join(map(str, DTS_MS))} ms"))
hv.Layout(plots).cols(2)

# %%
for disc in ("paper", "exact"):
    peaks = {dt: h.max(0) for d, dt, _, _, h in rows if d == disc}
    worst = max(np.abs(peaks[dt] - peaks[min(DTS_MS)]).max() / peaks[min(DTS_MS)].max()
                for dt in DTS_MS)
    print(f"{disc}: largest change of a kernel peak across dt: {100 * worst:.1f} % of the peak")

# %% [markdown]
# **What the measurement shows.** Read the printed lines. With the paper's recursion the area
# grows with dt (≈ τ(1 + dt/2τ)) and the mean delays move by about a step: invariant to dt only
# to O(dt/τ), so keep dt ≤ τ/10. With the exact step, the area is τ at every dt and the mean
# delays sit at (k+1)·τ; what still changes is the *peak* of bucket 0, because a kernel
# averaged over a step of 2 ms cannot show a sharp corner.
#
# **Guiding question 3.** Why does the exact step cost more arithmetic than the paper's?
#
# <details><summary>Answer</summary>
#
# Its transition matrix is lower triangular and full (every bucket receives from all earlier
# buckets in one step, with weights e^(−h)·h^(k−j)/(k−j)!), so a step costs about K²/2
# multiply-adds per input instead of 2K.
# </details>

# %% [markdown]
# ## 3. Exercises
#
# **Exercise 2.1.** With τ = 4 ms and K = 6, which bucket index k has its *measured* peak
# (not the mean) nearest 12 ms? Use `gamma_kernels(0.1, torch.full((6,), 4.0), 80.0)`.

# %%
answer_2_1 = None  # a bucket index k

# %% tags=["solution"]
def solution_2_1():
    h = gamma_kernels(0.1, torch.full((6,), 4.0), 80.0).numpy()
    peak_ms = (h.argmax(0) + 0.5) * 0.1
    return int(np.abs(peak_ms - 12.0).argmin())

# %%
def check_2_1(k):
    h = gamma_kernels(0.1, torch.full((6,), 4.0), 80.0).numpy()
    peak_ms = (h.argmax(0) + 0.5) * 0.1
    best = int(np.abs(peak_ms - 12.0).argmin())
    return k == best, f"the peaks are at {np.round(peak_ms, 1)} ms"


exercise_2_1 = Exercise("2.1", check_2_1, solution_2_1, wrong=2)
exercise_2_1(answer_2_1)

# %% [markdown]
# **Exercise 2.2.** The paper's recursion has a closed form (a negative binomial in the step
# index), `gamma_kernel_closed_form(dt, tau, K, n_steps, "paper")`. At dt = 1 ms, τ = 5 ms, what
# is the largest absolute difference between it and `gamma_kernels(..., "paper")` over the
# first 60 steps of 4 buckets? (Answer with the number; anything below 1e-9 is "equal".)

# %%
answer_2_2 = None  # a number

# %% tags=["solution"]
def solution_2_2():
    a = gamma_kernel_closed_form(1.0, 5.0, 4, 60, "paper")
    b = gamma_kernels(1.0, torch.full((4,), 5.0), 60.0, 1.0, "paper")
    return float((a - b).abs().max())

# %%
def check_2_2(value):
    a = gamma_kernel_closed_form(1.0, 5.0, 4, 60, "paper")
    b = gamma_kernels(1.0, torch.full((4,), 5.0), 60.0, 1.0, "paper")
    true = float((a - b).abs().max())
    ok = abs(value - true) <= 1e-9
    return ok, f"the engine's difference is {true:.2e}: the recursion and its closed form agree"


exercise_2_2 = Exercise("2.2", check_2_2, solution_2_2, wrong=0.05)
exercise_2_2(answer_2_2)

# %% [markdown]
# ## Teacher's note
#
# - **Timing.** 10 min buckets on the board (draw three leaky buckets pouring into each other),
#   10 min in the live view, 10 min on the measurement, 15 min exercises.
# - **Misconceptions.** "Bucket k is the input delayed by exactly k·τ": it is delayed *and*
#   smoothed; the spread grows with k. "The buckets are state per synapse": they are per
#   *presynaptic neuron*, shared by all its synapses; the synapses differ in how they weigh
#   them (Lesson 3). "Smaller dt always helps": with the exact step the kernels are already in
#   milliseconds; a small dt only sharpens spike timing.
# - **What to project.** The Neuron lab with τ = 5 then 10 ms, then the two kernel panels side
#   by side (paper vs exact) and the printed areas.
