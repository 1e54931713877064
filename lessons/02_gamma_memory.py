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

from engine.model.buckets import bucket_delays_ms, gamma_kernels
from workbench.exercises import Exercise, Near
from workbench.lesson_views import neuron_view, setup
from workbench.lessons import sized

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
# dŷ⁰/dt = −ŷ⁰/τ + I(t),  dŷᵏ/dt = (ŷᵏ⁻¹ − ŷᵏ)/τ  (k ≥ 1),
#
# where I(t) is the input: each spike an impulse of its height. A spike of height 1 at t = 0
# sets ŷ⁰ to 1 and it decays, ŷ⁰(t) = e^(−t/τ), whose area is τ. Bucket k's response is a
# *gamma kernel* of order k+1: ŷᵏ(t) = (t/τ)ᵏ e^(−t/τ) / k!. Every kernel has the same area
# (the spike's height times τ), peaks at k·τ (height kᵏe^(−k)/k!) and has its centre of mass at
# (k+1)·τ. So bucket k holds the input *smoothed and
# delayed by about k·τ*: this is the only memory the neuron has.
#
# The equations, and the two ways to take one step of length dt, are in the docstring of
# `engine/model/buckets.py` (`bucket_step`, `gamma_step`): the paper's recursion, and the
# engine's *exact* step, which solves the equations exactly over a step **with the input held
# constant over that step** (a spike in step n is spread over the step, as a rate 1/dt; so a
# spike adds b₀ = (1 − e^(−dt/τ))·τ/dt < 1 to bucket 0 by the end of its step). `engine.model.buckets.gamma_kernels` computes the
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
print(f"change of each bucket's peak at dt = {max(DTS_MS):g} ms against dt = {min(DTS_MS):g} ms "
      "(% of that bucket's own peak):")
for disc in ("paper", "exact"):
    peaks = {dt: h.max(0) for d, dt, _, _, h in rows if d == disc}
    change = 100 * (peaks[max(DTS_MS)] - peaks[min(DTS_MS)]) / peaks[min(DTS_MS)]
    print(f"{disc:5s}: " + "  ".join(f"k={k} {c:+5.1f} %" for k, c in enumerate(change)))

# %% [markdown]
# **What the measurement shows.** Read the printed lines. With the paper's recursion the area
# grows with dt (≈ τ(1 + dt/2τ)), the mean delays move by about a step and the peaks of buckets
# k ≥ 1 move with dt (by about 20 % at dt = 2 ms): invariant to dt only to O(dt/τ), so keep
# dt ≤ τ/10. With the exact step, the area is τ at every dt, the mean delays sit at (k+1)·τ
# and the peaks of buckets k ≥ 1 move by about 1 %. Only bucket 0's peak drops at a coarse
# step, and that is the held input, not an error: a spike spread over a 2 ms step reaches
# b₀ = (1 − e^(−0.4))·5/2 ≈ 0.82 by the end of the step instead of jumping to 1, the sharp corner
# of e^(−t/τ) averaged over the step. So the "largest change" of the exact step is bucket 0's
# alone; the memory (k ≥ 1) is the same at every dt.
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
# Answer in the box under each exercise on the Lessons page, or set `answer_2_N` in the
# notebook and run the check cell.
#
# **Exercise 2.1 (derive, then measure).** From the gamma kernel ŷᵏ(t) = (t/τ)ᵏ e^(−t/τ) / k!,
# derive *when* bucket k = 3 peaks after a spike, for τ = 4 ms (set the derivative to zero).
# Answer in ms; the check measures the peak of the engine's kernel at dt = 0.1 ms (within 0.5 ms).

# %%
h_2_1 = gamma_kernels(0.1, torch.full((6,), 4.0), 80.0).numpy()  # [T, K], height-1 spike
peak_ms_2_1 = float((h_2_1[:, 3].argmax() + 0.5) * 0.1)  # the middle of the step
exercise_2_1 = Exercise("2.1", Near(peak_ms_2_1, abs=0.5, unit=" ms"),
                        hint="d/dt [tᵏ e^(−t/τ)] = 0 gives t in terms of k and τ",
                        wrong=16.0, task="predict")
answer_2_1 = None  # a time in ms
exercise_2_1(answer_2_1)

# %% tags=["solution"]
exercise_2_1.solution(3 * 4.0, why="d/dt[tᵏe^(−t/τ)] = tᵏ⁻¹e^(−t/τ)(k − t/τ) = 0 at t = k·τ = 3 × 4 ms; "
                                   "the mean delay (k+1)·τ = 16 ms lies after the peak")

# %% [markdown]
# **Exercise 2.2 (derive, then measure).** How *high* is bucket 2's kernel at its peak, for a
# spike of height 1 (any τ)? Derive it from the same formula; the check measures it (within 3 %).

# %%
peak_2_2 = float(h_2_1[:, 2].max())
exercise_2_2 = Exercise("2.2", Near(peak_2_2, rel=0.03),
                        hint="put t = k·τ into (t/τ)ᵏ e^(−t/τ) / k!: τ cancels",
                        wrong=0.5, task="predict")
answer_2_2 = None  # a number
exercise_2_2(answer_2_2)

# %% tags=["solution"]
exercise_2_2.solution(round(2 ** 2 * np.exp(-2) / 2, 4),
                      why="at t = kτ the kernel is kᵏe^(−k)/k! = 4e^(−2)/2 ≈ 0.271: lower than "
                          "bucket 1's e^(−1) because the same area spreads over a longer time")

# %% [markdown]
# ## Teacher's note
#
# - **Before class.** `spikinggamma lessons build` (or start `spikinggamma serve`, which builds
#   what is missing); this lesson builds in under a minute. Students answer in the boxes on the
#   Lessons page or in the student notebook.
# - **Timing.** 10 min buckets on the board (draw three leaky buckets pouring into each other),
#   10 min in the live view, 10 min on the measurement, 15 min exercises.
# - **Misconceptions.** "Bucket k is the input delayed by exactly k·τ": it is delayed *and*
#   smoothed; the spread grows with k. "The buckets are state per synapse": they are per
#   *presynaptic neuron*, shared by all its synapses; the synapses differ in how they weigh
#   them (Lesson 3). "Smaller dt always helps": with the exact step the kernels are already in
#   milliseconds; a small dt only sharpens spike timing.
# - **What to project.** The Neuron lab with τ = 5 then 10 ms, then the two kernel panels side
#   by side (paper vs exact) and the printed areas.
