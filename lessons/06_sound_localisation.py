# %% [markdown]
# # Lesson 6 · Smoothed delays and sound localisation
#
# **Promise.** By the end you can explain how a barn owl turns a few microseconds between its
# ears into a direction, and watch a SpikingGamma network learn the delays that do the same.
#
# **Objectives.**
# - State the Jeffress idea: delay lines plus coincidence detectors read out interaural time
#   differences (ITDs).
# - Explain how per-synapse bucket weights act as learnable, smooth delays.
# - Train the coincidence task and read what each unit learned (its preferred ITD).
#
# **Prerequisites.** Lesson 3 (the coincidence neuron built by hand), Lesson 4 (learning rules).
#
# **Time.** 50 min
#
# Run it: `python lessons/06_sound_localisation.py` · notebook:
# `jupytext --to notebook lessons/06_sound_localisation.py` · workbench: Lessons page.

# %%
import numpy as np
import holoviews as hv
import torch

from engine.model.buckets import bucket_delays_ms
from engine.experiment import Experiment
from engine.tasks import CoincidenceTask
from workbench.exercises import Construct, Exercise, OneOf
from workbench.lesson_views import raster, setup, workbench_page
from workbench.lessons import sized

setup()
torch.set_num_threads(1)
EPOCHS = sized(30, 200)
SEED = 0

# %% [markdown]
# ## 1. The owl's problem
#
# A sound from the left reaches the left ear first. The difference, the ITD, is at most the
# head's width over the speed of sound: tens to a couple of hundred microseconds for an owl. In
# the owl's brainstem (nucleus laminaris) axons from the two ears run in opposite directions
# along a row of neurons; each neuron fires when spikes from both ears arrive *together*, so the
# neuron whose two axon delays cancel the ITD fires most. Delay lines plus coincidence
# detectors: the Jeffress model.
#
# ## 2. Smoothed delays
#
# A SpikingGamma synapse has no axon to lengthen, but it has its buckets: with per-synapse
# bucket weights vᵢⱼᵏ, the synapse from i to j sees its input through the kernel
# Σₖ vᵢⱼᵏ·hₖ(t), a smooth bump whose position is learned (Lesson 3; equations in
# `engine/model/neuron.py`). Learning v *is* learning a delay.
#
# **The task** (`engine.tasks.CoincidenceTask`, times scaled up to milliseconds): two
# populations of 8 inputs carry the same Poisson spike trains, population B later by Δ ∈
# {0, 2, 4, 6, 8} ms. The network (16 → 24 → 5, τ = 2 ms, K = 6) must say which Δ it heard.

# %%
task = CoincidenceTask(seed=SEED)
x, labels = task.test_set(1.0)
sample = int((labels == task.n_classes - 1).nonzero()[0])
chans, steps = np.nonzero(x[:, sample].numpy().T)
print(f"{x.shape[1]} test samples of {x.shape[0]} ms; sample {sample} has Δ = "
      f"{task.itds_ms[int(labels[sample])]:g} ms")
raster(steps * 1.0, chans, f"One sample: channels 0–7 are population A, 8–15 population B "
       f"(Δ = {task.itds_ms[int(labels[sample])]:g} ms later)")

# %% [markdown]
# ## 3. Learn the delays
#
# The engine trains from seed 0 with the `spatial` rule (per-step cross-entropy after a 20 ms
# warm-up), then measures accuracy on the test set and reads each hidden unit's preferred ITD
# from its learned kernels (`CoincidenceTask.hidden_tuning_ms`: the lag that best lines up
# its A and B kernels, searched over 0–10 ms only: the ITDs plus 2 ms).

# %%
ex = Experiment(task, dt_ms=1.0, mode="spatial", seed=SEED)
history = [ex.run_epoch() for _ in range(EPOCHS)]
result = task.evaluate(ex.net)
tuning = task.hidden_tuning_ms(ex.net).numpy()
print(f"after {EPOCHS} epochs: test accuracy {100 * result['accuracy']:.1f} % "
      f"(chance {100 / task.n_classes:.0f} %)")
print("each output's learned delay (ms):", result["learned_delay_ms"], "for ITDs", result["itds_ms"])
print("hidden units' preferred ITD (ms):", np.round(np.sort(tuning), 1).tolist())
edge = int(((tuning <= 0.0) | (tuning >= 10.0)).sum())
print(f"{edge} of {len(tuning)} hidden units sit at an edge of the 0–10 ms search window")
print(f"hidden layer: {result['spikes_per_neuron_per_s']:.0f} spikes per neuron per second")

# %%
curve = hv.Curve([(r["epoch"] + 1, r["accuracy"]) for r in history], "epoch",
                 "training batch accuracy").opts(width=420, height=280, title="Learning")
delays = (hv.Scatter(list(zip(result["itds_ms"], result["learned_delay_ms"])), "ITD Δ of the class (ms)",
                     "learned delay (ms)").opts(size=9, color="#7b2d8e")
          * hv.Curve([(0, 0), (8, 8)], "ITD Δ of the class (ms)", "learned delay (ms)").opts(
              color="gray", line_dash="dashed")).opts(width=420, height=280,
                                                      title="Each output's learned delay vs its Δ")
hist = hv.Histogram(np.histogram(tuning, bins=np.arange(-0.5, 11.0, 1.0)),
                    kdims="preferred ITD (ms)", vdims="hidden units").opts(width=420, height=280, title="Hidden units' tuning")
(curve + delays + hist).cols(3)

# %% [markdown]
# **What the measurement shows.** Read the printed accuracy against chance and the learned
# delays against the diagonal: where the points lie near it, the outputs have become delay
# detectors for their own Δ. The hidden units' tunings spread over the ITD range, a population
# code as in the owl. A short classroom run may leave some outputs far from the diagonal; the
# Trainer below can keep going.
#
# ## 4. Live
#
# The Trainer with the `coincidence` preset. Open it (a button on the Lessons page, a link in a
# notebook), press **Play**, watch the accuracy rise, and the delay-kernel plot: each curve is one
# output's learned kernel Σₖ vᵏ·hₖ(t) in ms. Then switch the learning mode to `traces` (it
# restarts) and compare.

# %%
workbench_page("trainer", height=1100, preset="coincidence", seed=SEED, mode="spatial")

# %% [markdown]
# **Guiding questions**
#
# 1. The owl's ITDs are microseconds, ours are milliseconds. What would you change to work at
#    the owl's scale, and what would it cost?
#
# <details><summary>Answer</summary>
#
# τ scales every delay: τ in microseconds and a dt well below τ (dt ≤ τ/10 for the paper's
# recursion). Nothing else changes, but the number of steps per second of sound grows by the
# same factor, and so does the compute.
# </details>
#
# 2. Several hidden units "prefer" 0 ms or 10 ms, the edges of the histogram. Is that what they
#    learned?
#
# <details><summary>Answer</summary>
#
# Not necessarily. `hidden_tuning_ms` searches lags from 0 to 10 ms only, so a unit whose
# kernels line up best at a negative lag (B *before* A) is put at 0, and one that lines up
# later than 10 ms is put at 10: the piles at the edges are partly the search window's, and
# their true preference lies somewhere outside it (the printed count says how many). Units
# that land at the edges can still be useful: a unit that fires for "not 8 ms" helps the
# readout as much as one that fires for "8 ms" (anti-coincidence units; MODEL.md §6 reports
# that networks drift toward them). Read the tuning of units inside the window, and widen the
# search before concluding anything about the others.
# </details>

# %% [markdown]
# ## 5. Exercises
#
# **Exercise 6.1 (predict).** With the task's τ = 2 ms and K = 6, which bucket index k has its
# mean delay nearest the largest ITD, 8 ms? Reason from (k+1)·τ; the check reads
# `bucket_delays_ms` of the trained network's `ex.net.layers[0].tau_ms`.

# %%
delays_6_1 = bucket_delays_ms(ex.net.layers[0].tau_ms.detach())
exercise_6_1 = Exercise("6.1", OneOf([int((delays_6_1 - 8.0).abs().argmin())], options=list(range(6))),
                        hint="bucket k's mean delay is (k+1)·τ",
                        wrong=4, task="predict")
answer_6_1 = None  # a bucket index
exercise_6_1(answer_6_1)

# %% tags=["solution"]
exercise_6_1.solution(3, why="(k+1)·τ = 8 ms with τ = 2 ms gives k = 3")

# %% [markdown]
# **Exercise 6.2 (construct).** Wire one hidden unit by hand: B's synapse sits on bucket 0;
# give bucket weights v for A's synapse (six non-negative numbers) so that the unit's kernels
# line up best when B arrives 4 ms after A (within 1 ms), by the rule `hidden_tuning_ms` uses
# (`workbench.lesson_tools.pair_lag_ms`, searched over 0–20 ms).

# %%
exercise_6_2 = Exercise("6.2", Construct("aligned_lag", dict(tau_ms=2.0, want_ms=4.0, tolerance_ms=1.0)),
                        hint="B's kernel peaks at once; A's must peak when B arrives: where does "
                             "bucket k peak (Lesson 2)?",
                        wrong=[1.0, 0, 0, 0, 0, 0], task="construct")
answer_6_2 = None  # six numbers
exercise_6_2(answer_6_2)

# %% tags=["solution"]
exercise_6_2.solution([0.0, 0.0, 1.0, 0.0, 0.0, 0.0],
                      why="bucket 2 peaks at kτ = 4 ms: B's sharp bucket-0 response arriving 4 ms "
                          "later lands on A's peak")

# %% [markdown]
# ## Teacher's note
#
# - **Before class.** `spikinggamma lessons build` (this lesson trains for a few minutes at full
#   size, once). The embedded Trainer takes one of the server's `--max-training` slots (default
#   2); the others queue and take turns. Students answer in the boxes on the Lessons page.
# - **Timing.** 10 min owl and Jeffress (a picture of the owl's face and of laminaris helps),
#   10 min smoothed delays (back to Lesson 3's hand-built neuron), 15 min trained results and
#   live Trainer, 15 min exercises.
# - **Misconceptions.** "Each synapse learns one exact delay": it learns a smooth kernel; its
#   mean is a poor summary, the lag that aligns the kernels is better (that is what
#   `hidden_tuning_ms` reads). "More buckets are always better": more buckets reach longer
#   delays but add K parameters per synapse and, with `traces`, K² memory.
# - **What to project.** The input raster (ask: "which Δ?"), the learned-delay scatter, then
#   the live Trainer's delay-kernel plot.
