# %% [markdown]
# # Lesson 5 · Learning a precise spike pattern, live
#
# **Promise.** By the end you will have watched a network learn to fire three spikes at
# chosen milliseconds, online, and you can say what its loss measures.
#
# **Objectives.**
# - Set up a spike-timing task: frozen input spikes, target spike times, a loss per step.
# - Explain why the loss compares *signals* (target spikes decoded by the bucket-0 kernel)
#   rather than spike trains.
# - Train, watch the output spikes move onto the targets, and measure timing with the van
#   Rossum distance and matched spikes within ±2 ms.
#
# **Prerequisites.** Lessons 1–4.
#
# **Time.** 45 min
#
# Run it: `python lessons/05_spike_pattern.py` · notebook:
# `jupytext --to notebook lessons/05_spike_pattern.py` · workbench: Lessons page.

# %%
import numpy as np
import holoviews as hv
import torch

from engine.experiment import Experiment
from engine.run.simulate import simulate
from engine.tasks import PatternTask
from engine.tasks.spiketrains import spike_times_ms, van_rossum
from workbench.exercises import Exercise, Near
from workbench.lesson_views import raster, setup, workbench_page
from workbench.lessons import sized

setup()
torch.set_num_threads(1)
EPOCHS = sized(8, 60)
SEED = 0
SHOWN = ("matched_fraction", "spurious_spikes", "van_rossum")

# %% [markdown]
# ## 1. The task
#
# Fifty inputs fire as frozen 10 Hz Poisson trains for 500 ms; one output neuron must fire
# exactly three spikes, at target times drawn once from the seed (`engine.tasks.PatternTask`).
# The network is 50 → 50 → 1 with per-synapse bucket weights.
#
# **The loss.** A spike train is not differentiable, but the output's signal is. The target
# spikes are decoded exactly as the output encoder's receivers decode its own spikes: each
# target spike adds 2ϑ_out·h₀(t − t_s), h₀ the bucket-0 kernel (`PatternTask.target_signal`).
# The loss at each step is the squared error between the readout's x(t) and that target signal,
# times dt, with a negative x free while the target is silent (`engine/learn/losses.py`, "mse_hinge").
# If x(t) follows the target signal, the encoder spikes where the targets are.

# %%
task = PatternTask(seed=SEED)
ex = Experiment(task, dt_ms=1.0, mode="spatial", seed=SEED)
inputs, target_signal = task.batch(ex.net)
before = simulate(ex.net, inputs)
print("target spike times (ms):", task.target_times()[0].tolist())
print("before training:", {k: round(task.metrics(before)[k], 3) for k in SHOWN})
channels, steps = np.nonzero(inputs[:, 0].numpy().T)  # dt = 1 ms: step index = time in ms
raster(steps * 1.0, channels, "The frozen input: 50 Poisson trains at 10 Hz")

# %% [markdown]
# ## 2. Train it online
#
# One epoch is one pass over the 500 ms sequence; the `spatial` rule updates the weights once per
# sequence (Adam). Below, the engine trains for a fixed number of epochs from seed 0; the same
# seed gives the same numbers every time.

# %%
history = [ex.run_epoch() for _ in range(EPOCHS)]
after = simulate(ex.net, inputs)
print(f"after {EPOCHS} epochs:", {k: round(task.metrics(after)[k], 3) for k in SHOWN})
first = next((r["epoch"] + 1 for r in history if r["match_score"] == 1.0), None)
print("first epoch with all targets matched and no spurious spike:", first or "not within this run")

# %%
t = np.arange(target_signal.shape[0]) * 1.0
targets_ms = task.target_times()[0].numpy()
out_before = spike_times_ms(before.spikes[-1][:, 0], 1.0)[0].numpy()
out_after = spike_times_ms(after.spikes[-1][:, 0], 1.0)[0].numpy()
spikes = (hv.Spikes(targets_ms, "time (ms)", label="targets").opts(color="#2ca02c", line_width=4,
                                                                  alpha=0.5, position=1.0)
          * hv.Spikes(out_before, "time (ms)", label="output before").opts(color="gray", position=0.0)
          * hv.Spikes(out_after, "time (ms)", label=f"output after {EPOCHS} epochs").opts(
              color="#7b2d8e", position=2.0)).opts(width=640, height=200, yaxis=None,
                                                    legend_position="right",
                                                    title="Output spikes against the targets")
signal = (hv.Curve((t, target_signal[:, 0, 0].numpy()), "time (ms)", "signal", label="target signal")
          * hv.Curve((t, after.preacts[-1][:, 0, 0].numpy()), "time (ms)", "signal",
                     label="x after training")).opts(width=640, height=240, legend_position="right")
loss = hv.Curve([(r["epoch"] + 1, r["loss"]) for r in history], "epoch", "loss").opts(
    width=640, height=200, logy=True, title="Loss per epoch")
(spikes + signal + loss).cols(1)

# %% [markdown]
# **What the measurement shows.** Compare the printed metrics before and after: the matched
# fraction (targets with an output spike within ±2 ms), spurious spikes and the van Rossum
# distance (0 for identical trains). The printed "first epoch" says when the pattern was first
# clean in this run; the small classroom run may stop before it.
#
# ## 3. Now watch it live
#
# The Trainer below runs the same task and seed. Open it (a button on the Lessons page, a link in
# a notebook), press **Play**; watch the output spikes (purple) walk onto the targets (green) and
# the loss fall. Then move **dt** to 0.5 ms while it trains.

# %%
workbench_page("trainer", height=1100, preset="pattern", seed=SEED, mode="spatial")

# %% [markdown]
# **Guiding questions**
#
# 1. Early in training the output fires too often, or not at all. Which plot tells you which,
#    before any spike moves?
#
# <details><summary>Answer</summary>
#
# The output signal against the target signal: x far above the target everywhere means too
# many spikes; x below zero everywhere means a silent neuron that must first be pushed up.
# </details>
#
# 2. Why compare the *pre-ReLU* x with the target rather than y = ReLU(x)?
#
# <details><summary>Answer</summary>
#
# ReLU has zero gradient for x < 0. A silent output (x < 0 at every step) would get no gradient
# at all and never learn; the loss on x keeps pulling it up (MODEL.md §6: the loss on ReLU(x)
# killed the output in every variant tried).
# </details>
#
# 3. You moved dt to 0.5 ms and training carried on. What in the model makes that possible?
#
# <details><summary>Answer</summary>
#
# Every time constant and delay is in milliseconds (τ, the targets), thresholds are in signal
# units (they do not depend on dt either), the loss is scaled by dt, and the bucket kernels do
# not depend on dt (Lesson 2): the same weights mean the same thing at a new step.
# </details>

# %% [markdown]
# ## 4. Exercises
#
# **Exercise 5.1 (compute).** Compute the van Rossum distance between the trained output spikes
# (`out_after`, ms) and the targets (`targets_ms`) with
# `engine.tasks.spiketrains.van_rossum` (τ = 10 ms, the default). Answer with the number.

# %%
exercise_5_1 = Exercise("5.1", Near(task.metrics(after)["van_rossum"], rel=1e-4, abs=1e-6),
                        hint="van_rossum takes two tensors of spike times in ms (float64)",
                        wrong=-1.0, task="compute")
answer_5_1 = None  # a number
exercise_5_1(answer_5_1)

# %% tags=["solution"]
exercise_5_1.solution(float(van_rossum(torch.as_tensor(out_after, dtype=torch.float64),
                                       torch.as_tensor(targets_ms, dtype=torch.float64))),
                      why="the distance between the two trains, each filtered by a 10 ms "
                          "exponential: 0 only for identical trains")

# %% [markdown]
# **Exercise 5.2 (predict).** The output threshold is ϑ_out = 0.5. How high does the target
# signal jump at a target spike, when dt is small (0.1 ms)? Predict it from Lesson 1, then
# check: within 5 % counts as right.

# %%
signal_5 = task.target_signal(0.1, 5.0, 2 * 0.5)[:, 0, 0]
exercise_5_2 = Exercise("5.2", Near(float(signal_5.max()), rel=0.05),
                        hint="what does one spike add to the receivers' estimate (lesson one)?",
                        wrong=0.5, task="predict")
answer_5_2 = None  # a number
exercise_5_2(answer_5_2)

# %% tags=["solution"]
exercise_5_2.solution(2 * 0.5, why="a spike carries 2ϑ·b₀, and b₀ ≈ 1 − dt/2τ ≈ 0.99 at dt = 0.1 ms")

# %% [markdown]
# **Exercise 5.3 (predict).** The output's bucket 0 has τ = 5 ms. How high is the target signal
# 5 ms after the first target spike (no other target is near)? Predict it, then check (within
# 5 %).

# %%
first_5 = float(task.target_times()[0][0])
after_5_3 = float(signal_5[int(round((first_5 + 5.0) / 0.1))])
exercise_5_3 = Exercise("5.3", Near(after_5_3, rel=0.05),
                        hint="the jump of 5.2, then the bucket-0 kernel e^(−t/τ) for t = τ",
                        wrong=1.0, task="predict")
answer_5_3 = None  # a number
exercise_5_3(answer_5_3)

# %% tags=["solution"]
exercise_5_3.solution(round(2 * 0.5 * float(np.exp(-1.0)), 3),
                      why="2ϑ·e^(−t/τ) at t = τ: one τ later a third of the jump is left")

# %% [markdown]
# ## Teacher's note
#
# - **Before class.** `spikinggamma lessons build` (this lesson trains for a minute or two at
#   full size, once; every page then shows the stored run at once). The embedded Trainer trains
#   in the server's training slots: `--max-training` runs at once (default 2, one worker
#   process and one CPU core each), the others queue and take turns of `--turn-seconds`; on a
#   2-core machine let pairs or the projector train, and the rest watch. Students answer in the
#   boxes on the Lessons page.
# - **Timing.** 10 min on the task and the loss, 10 min on the measured run, 15 min live (let
#   the class predict when the first spike lands), 10 min exercises.
# - **Misconceptions.** "The network learns spike times directly": it learns a signal whose
#   sigma-delta code has spikes at those times. "More epochs always help": spurious spikes can
#   come and go (watch the score plot). "The loss is zero when the pattern is right": it is
#   small but not zero; timing is judged by matched spikes and the van Rossum distance.
# - **What to project.** The live Trainer (Play at speed 20), then the printed before/after
#   metrics. Students can rerun with another `seed=` in the Trainer's URL.
