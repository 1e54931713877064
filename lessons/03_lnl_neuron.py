# %% [markdown]
# # Lesson 3 · The linear-nonlinear neuron
#
# **Promise.** By the end you can wire a SpikingGamma neuron by hand so that it answers only
# when one input follows another by a chosen delay.
#
# **Objectives.**
# - Write a neuron's signal as a weighted sum over inputs *and* buckets, then a ReLU.
# - Explain how bucket weights v turn the buckets into a delay kernel, and read its effective delay.
# - Build a coincidence neuron with a delayed input and measure its tuning curve.
#
# **Prerequisites.** Lesson 2 (buckets and their kernels); a weighted sum and max(0, x).
#
# **Time.** 45 min
#
# Run it: `python lessons/03_lnl_neuron.py` · notebook:
# `jupytext --to notebook lessons/03_lnl_neuron.py` · workbench: Lessons page.

# %%
import numpy as np
import holoviews as hv
import torch

from engine import Network, NetworkConfig, Recorder, simulate
from engine.model.buckets import bucket_delays_ms
from engine.model.neuron import kernel_delay_ms
from engine.tasks.spiketrains import bin_times
from workbench.exercises import Construct, Exercise, OneOf
from workbench.lesson_tools import coincidence_tuning
from workbench.lesson_views import neuron_view, setup
from workbench.lessons import sized

setup()
TAU_MS, K, DT_MS = 5.0, 6, sized(0.5, 0.1)
DELTAS_MS = sized(np.arange(0.0, 31.0, 5.0), np.arange(0.0, 31.0, 1.0))

# %% [markdown]
# ## 1. Linear, then nonlinear
#
# A SpikingGamma neuron j looks at the buckets ŷᵢᵏ of every input i and adds them up with two
# kinds of weights, then rectifies:
#
# xⱼ(t) = Σᵢ Σₖ wᵢⱼ · vⱼᵏ · ŷᵢᵏ(t) + bⱼ,  yⱼ(t) = ReLU(xⱼ(t)) = max(0, xⱼ(t)).
#
# The synaptic weight w says *how much* input i matters; the bucket weights v say *when*: all
# on bucket 0 means "now", spread over later buckets means "a while ago". With per-synapse
# bucket weights vᵢⱼᵏ every synapse has its own delay. Then the Lesson 1 encoder turns y into
# spikes. Code: `engine.model.neuron.neuron_signal` and `engine.model.neuron.effective_weight` (the
# equations are in `engine/model/neuron.py`); the effective delay of a v vector is
# `engine.model.neuron.kernel_delay_ms`.
#
# In the Neuron lab below, move *delay*: the bucket weights (legend) move to later buckets and
# the signal moves later in time. Move *weight* until the neuron spikes.

# %%
neuron_view(keys=("delay_ms", "spread", "weight"), n_buckets=6, tau_ms=5.0, dt_ms=0.5)

# %% [markdown]
# **Guiding questions**
#
# 1. With *spread* = 0 all of v sits on one bucket. Why is the signal still smooth?
#
# <details><summary>Answer</summary>
#
# Because every bucket is already a smoothed copy of the input: bucket k is the spike train
# filtered by a gamma kernel. Spread over several buckets only makes the delay kernel wider.
# </details>
#
# 2. The bias b is negative in the neuron we build next. What does a negative bias do to
#    ReLU(x)?
#
# <details><summary>Answer</summary>
#
# It is a threshold on the linear sum: y is zero unless the weighted inputs together exceed −b.
# That is how a sum becomes a coincidence detector: one input alone stays below −b, two at
# the right moment go above it.
# </details>

# %% [markdown]
# ## 2. A neuron that waits for a delayed input
#
# Two inputs, A and B, spike once each: A at 30 ms, B Δ ms later. We give A's synapse all its
# bucket weight on bucket 2 (its kernel peaks near 2τ = 10 ms) and B's synapse all on bucket 0
# ("now"), scale A so that both contributions peak at 1, and set b = −1.2. The neuron is then
# a detector of "B follows A by about 10 ms". We measure the peak of y for each Δ.

# %%
cfg = NetworkConfig(sizes=(2, 1), dt_ms=DT_MS, tau_ms=TAU_MS, n_buckets=K, threshold=0.1,
                    bucket_weights="synapse", dtype="float64")
net = Network(cfg, seed=0)
v = torch.zeros(1, 2, K, dtype=torch.float64)
v[0, 0, 2], v[0, 1, 0] = 1.0, 1.0  # A: bucket 2; B: bucket 0
with torch.no_grad():
    net.layers[0].bucket_weight.copy_(v)
    net.layers[0].weight.copy_(torch.tensor([[3.69, 1.0]], dtype=torch.float64))
    net.layers[0].bias.fill_(-1.2)
print("effective delay (v-weighted mean bucket delay) of A's synapse:",
      float(kernel_delay_ms(v[0, 0], bucket_delays_ms(torch.full((K,), TAU_MS)))), "ms")

tuning, traces = {}, {}
for delta in DELTAS_MS:
    times = [torch.tensor([30.0], dtype=torch.float64), torch.tensor([30.0 + delta], dtype=torch.float64)]
    inputs = bin_times(times, DT_MS, 100.0).unsqueeze(1).double()  # [T, 1, 2]
    with Recorder(net, ["layers.0.signal"]) as rec:
        result = simulate(net, inputs)
    y = rec["layers.0.signal"][:, 0, 0].numpy()
    tuning[float(delta)] = float(y.max())
    traces[float(delta)] = (y, int(result.spikes[-1].sum()))
best = max(tuning, key=tuning.get)
for delta, peak in tuning.items():
    print(f"Δ = {delta:4.1f} ms: peak y = {peak:.3f}, output spikes {traces[delta][1]}")
print(f"best Δ: {best:g} ms")

# %%
t = np.arange(len(traces[best][0])) * DT_MS
shown = [0.0, best, float(DELTAS_MS[-1])]
(hv.Curve(list(tuning.items()), "Δ = B's spike − A's spike (ms)", "peak signal y").opts(
    width=420, height=300, title="Tuning curve of the coincidence neuron") *
 hv.Scatter(list(tuning.items()), "Δ = B's spike − A's spike (ms)", "peak signal y").opts(size=6)
 + hv.Overlay([hv.Curve((t, traces[d][0]), "time (ms)", "y", label=f"Δ = {d:g} ms")
               for d in shown]).opts(width=460, height=300, title="y(t) for three delays",
                                     legend_position="top_right"))

# %% [markdown]
# **What the measurement shows.** Read the printed best Δ and the tuning curve: the neuron
# responds most when B follows A by roughly the *peak* time of A's kernel (k·τ), not by its
# effective delay, the v-weighted mean (k+1)·τ printed above. Kernels are skewed: their mean
# lies after their peak. Keep this in mind in Lesson 6, where delays are learned and read out.
#
# **Guiding question 3.** How would you make the neuron prefer Δ ≈ 20 ms? Which two numbers
# change?
#
# <details><summary>Answer</summary>
#
# Put A's bucket weight on bucket 4 (peak near 4τ = 20 ms) or keep bucket 2 and double τ; then
# rescale w_A so that A's contribution still peaks at 1 (later kernels are lower).
# </details>

# %% [markdown]
# ## 3. Exercises
#
# Answer in the box under each exercise on the Lessons page, or set `answer_3_N` in the
# notebook and run the check cell.
#
# **Exercise 3.1 (construct).** Give bucket weights v for K = 6 buckets, τ = 5 ms (six
# non-negative numbers that sum to 1) whose effective delay `kernel_delay_ms` lies between 14
# and 16 ms.

# %%
exercise_3_1 = Exercise("3.1", Construct("kernel_delay", dict(tau_ms=5.0, n_buckets=6, low_ms=14.0,
                                                              high_ms=16.0)),
                        hint="bucket k's mean delay is (k+1)·τ, and v averages them",
                        wrong=[1.0, 0, 0, 0, 0, 0], task="construct")
answer_3_1 = None  # e.g. [0, 0, 0.5, 0.5, 0, 0]
exercise_3_1(answer_3_1)

# %% tags=["solution"]
exercise_3_1.solution([0.0, 0.0, 1.0, 0.0, 0.0, 0.0],
                      why="all weight on bucket 2, whose mean delay is (2+1)·5 = 15 ms")

# %% [markdown]
# **Exercise 3.2 (predict).** Change nothing in the neuron of section 2; predict the Δ (a
# multiple of 5 ms, 0–30) at which it responds most. The check reads the measured tuning curve.

# %%
coarse_3_2 = {d: p for d, p in tuning.items() if d % 5 == 0}
exercise_3_2 = Exercise("3.2", OneOf([max(coarse_3_2, key=coarse_3_2.get)],
                                     options=[0.0, 5.0, 10.0, 15.0, 20.0, 25.0, 30.0]),
                        hint="B must arrive when A's kernel is highest: where does bucket 2 peak?",
                        wrong=15.0, task="predict")
answer_3_2 = None  # Δ in ms
exercise_3_2(answer_3_2)

# %% tags=["solution"]
exercise_3_2.solution(10.0, why="the peak of bucket 2's kernel, k·τ = 2 × 5 ms, not its mean delay "
                                "(k+1)·τ = 15 ms")

# %% [markdown]
# **Exercise 3.3 (construct).** Rewire the neuron so that it prefers Δ ≈ 20 ms: give
# `(bucket of A, weight of A)`, keeping B on bucket 0 with weight 1 and b = −1.2. The check
# builds your neuron (`workbench.lesson_tools.coincidence_tuning`), measures its tuning curve
# at Δ = 0, 5, …, 30 ms and wants its peak at 20 ms ± 5 with output spikes there and none at
# Δ = 0.

# %%
exercise_3_3 = Exercise("3.3", Construct("coincidence_wiring", dict(want_ms=20.0, tolerance_ms=5.0,
                                                                    dt_ms=DT_MS)),
                        hint="choose the bucket whose kernel peaks at 20 ms, then scale w_A so that "
                             "A's contribution still peaks at 1 (later kernels are lower: 2.2)",
                        wrong=(2, 3.69), task="construct")
answer_3_3 = None  # (bucket, weight), e.g. (3, 2.0)
exercise_3_3(answer_3_3)

# %% tags=["solution"]
exercise_3_3.solution((4, 5.12), why="bucket 4 peaks at 4τ = 20 ms with height 4⁴e^(−4)/4! ≈ 0.195, "
                                     "so w_A = 1/0.195 ≈ 5.12 brings A's peak back to 1")

# %% [markdown]
# ## Teacher's note
#
# - **Before class.** `spikinggamma lessons build` (about a minute for this lesson); students
#   answer in the boxes on the Lessons page (a construction is checked by simulating their
#   neuron, a second or so) or in the student notebook.
# - **Timing.** 10 min on the equation (draw the K × N_in grid of bucket values and the two
#   weight vectors), 10 min live view, 10 min the coincidence neuron, 15 min exercises.
# - **Misconceptions.** "v is a second synaptic weight": v weighs *time* (buckets), w weighs
#   *inputs*. "The effective delay is where the neuron responds": it is the kernel's mean; the
#   response peaks near the kernel's peak (the measured tuning curve shows the gap). "ReLU
#   makes the neuron spike": ReLU makes y; the encoder spikes when y outruns its estimate.
# - **What to project.** The Neuron lab moving *delay* from 5 to 30 ms; then the tuning curve.
