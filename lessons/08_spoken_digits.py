# %% [markdown]
# # Lesson 8 · Real data: spoken digits, from sound to spikes to a classifier
#
# **Promise.** By the end you can take a recording of a spoken digit through a cochlea-like
# front end into spikes, and train a SpikingGamma network that tells the ten digits apart.
#
# **Objectives.**
# - Follow one recording through the front end: filterbank, envelopes, log compression,
#   send-on-delta events.
# - Explain why events carry times in ms, so the same data can be binned at any dt.
# - Train a small classifier online and read its accuracy and spike cost.
#
# **Prerequisites.** Lessons 1 (sigma-delta coding), 4 (learning rules); the Free Spoken Digit
# Dataset in the data folder (`$SPIKINGGAMMA_DATA_DIR/fsdd`, see README "Real data").
#
# **Time.** 50 min
#
# Run it: `python lessons/08_spoken_digits.py` (with `SPIKINGGAMMA_DATA_DIR` set) · notebook:
# `jupytext --to notebook lessons/08_spoken_digits.py` · workbench: Lessons page.

# %%
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import torch

from engine.bench.models import BenchModel
from engine.learn.losses import ramp_over
from engine.tasks.datasets import classification_task
from engine.bench.train_eval import evaluate, train
from engine.data import fsdd_envelope, load_fsdd
from engine.data.fsdd import fsdd_files
from workbench.exercises import Exercise, Near
from workbench.lesson_views import setup, workbench_page
from workbench.lessons import sized

setup()
torch.set_num_threads(1)
RECORDING = "3_jackson_0.wav"
EPOCHS = sized(None, 2)  # passes over the 2,700 training recordings (small: 3 batches)
SEED = 0

# %% [markdown]
# ## 1. A cochlea in four steps
#
# The inner ear splits sound into frequency bands along the basilar membrane, and hair cells
# report each band's *envelope*, compressed. The engine's front end
# (`engine/data/cochlea.py`, equations in its docstrings) does the same with:
#
# 1. 32 band-pass filters, log-spaced from 100 Hz to 3.8 kHz;
# 2. each band's envelope: rectified and smoothed over a few ms;
# 3. log compression and per-band normalisation to 0–1: the encoder's input;
# 4. send-on-delta encoding (`engine/data/send_on_delta.py`): a band emits an "up" event each
#    time its level rises by δ and a "down" event each time it falls by δ: Lesson 1's idea with
#    two spike types instead of a decaying estimate.
#
# The events carry times in ms, so a network simulated at any dt sees the same spikes
# (`SpikeDataset.to_dense(indices, dt_ms)` bins them).

# %%
env = fsdd_envelope(RECORDING)
names = [f.path.name for f in fsdd_files(None, "test")]  # the split's order
sample = load_fsdd(None, "test")[names.index(RECORDING)]
t_env = np.arange(env.raw.shape[0]) * env.step_ms
n_bands = env.raw.shape[1]
fig, axes = plt.subplots(3, 1, figsize=(10, 8), sharex=True)
axes[0].imshow(env.raw.T, aspect="auto", origin="lower", cmap="magma",
               extent=(0, t_env[-1], 0, n_bands))
axes[0].set_ylabel("band (low → high)")
axes[0].set_title(f"{RECORDING}: filterbank envelopes ({n_bands} bands, "
                  f"{env.centre_hz[0]:.0f}–{env.centre_hz[-1]:.0f} Hz)")
axes[1].imshow(env.normalised.T, aspect="auto", origin="lower", cmap="viridis",
               extent=(0, t_env[-1], 0, n_bands), vmin=0, vmax=1)
axes[1].set_ylabel("band")
axes[1].set_title("log-compressed, normalised: the encoder's input (0–1)")
times, channels = sample.times_ms.numpy(), sample.channels.numpy()
up = channels < n_bands
axes[2].scatter(times[up], channels[up], s=4, c="tab:red", label="up events")
axes[2].scatter(times[~up], channels[~up] - n_bands, s=4, c="tab:blue", label="down events")
axes[2].set_ylabel("band")
axes[2].set_xlabel("time (ms)")
axes[2].set_title(f"send-on-delta events: {len(times)} in all (the same at every dt)")
axes[2].legend(loc="upper right")
fig.tight_layout()
print(f"{RECORDING}: {env.raw.shape[0] * env.step_ms:.0f} ms, {len(times)} events "
      f"({up.sum()} up, {(~up).sum()} down)")
fig

# %% [markdown]
# **Guiding questions**
#
# 1. Why compress the envelopes with a logarithm before encoding?
#
# <details><summary>Answer</summary>
#
# Loudness spans orders of magnitude; with a fixed δ a linear envelope would spend most events
# on the loudest band and almost none on quiet ones. The log makes δ a *relative* change, as
# the ear's own compression does.
# </details>
#
# 2. The up and down events go to different input channels. What would be lost if they shared
#    one?
#
# <details><summary>Answer</summary>
#
# The sign: a receiver could not tell a rising band from a falling one. Separate channels let
# the network weigh onsets and offsets differently (onsets carry most of a consonant).
# </details>

# %% [markdown]
# ## 2. Train a classifier
#
# A SpikingGamma network 64 → 128 → 10 learns online with the `spatial` rule and a per-step
# cross-entropy after a 50 ms warm-up; the class is the readout summed over time
# (`engine/bench/models.py`, the same code as `spikinggamma bench accuracy`). The hidden layer
# reads its input through K = 4 buckets of τ = 10 ms (40 ms of memory); the linear readout reads
# the hidden spikes through 5 buckets whose τ doubles from 10 to 160 ms, so it still holds the
# word 300 ms later, in the silence after it: two thirds of a recording's steps carry no input
# event, and with 40 ms of memory the per-step loss of those steps could not fall
# (BENCHMARKS.md, "Why SpikingGamma did not learn FSDD").
#
# This is the benchmark's recipe for FSDD (`task.recipe`: dt = 2 ms, Adam at lr 0.01 with a
# cosine schedule, batches of 50 recordings, a spike cost whose weight grows from 0 over the first
# half of the batches), trained here for fewer passes over the training
# set so that the lesson builds in minutes; the build stores the run, so the class does not
# wait for it. Every number below is measured by this run.

# %%
# all 2700 training recordings (batches are drawn from them at random) and all 300 test
# recordings (a smaller n_test scores a fixed random subset: the files are sorted by digit)
task = classification_task("fsdd", quick=False, n_train=2700, n_test=sized(50, 300))
recipe = task.recipe
n_batches = 3 if EPOCHS is None else EPOCHS * task.batches_per_epoch
model = BenchModel("sg-" + recipe.mode, task, dt_ms=recipe.dt_ms, hidden=(128,), lr=recipe.lr,
                   seed=SEED, lr_schedule=recipe.lr_schedule, total_updates=n_batches,
                   spike_cost=recipe.spike_cost,
                   spike_cost_ramp=ramp_over(recipe.spike_cost_ramp, n_batches))
first = train(model, task, recipe.dt_ms, 1)
rest = train(model, task, recipe.dt_ms, n_batches - 1, start=1)
scores = evaluate(model, task, recipe.dt_ms)
print(f"recipe: dt {recipe.dt_ms:g} ms, {recipe.mode}, lr {recipe.lr:g} ({recipe.lr_schedule}), "
      f"{n_batches} batches of {task.batch_size} recordings (first {task.crop_ms:g} ms of each), "
      f"spike cost {recipe.spike_cost:g} reached after {model.trainer.spike_cost_ramp} batches")
print(f"batch loss: first {first['final_loss']:.3f} → last {rest['final_loss']:.3f}")
print(f"test accuracy on {task.n_test} recordings: {scores['accuracy']:.1f} % (chance 10 %)")
print(f"hidden layer: {scores['spikes_per_neuron_per_s']:.0f} spikes per neuron per second, "
      f"{scores['synops_per_sample']:.0f} synaptic operations per recording")
print(f"[machine] training took {first['train_s'] + rest['train_s']:.0f} s")

# %% [markdown]
# **What the measurement shows.** Compare the printed test accuracy with chance (10 %), and the
# first batch's loss with the last. This is the benchmark's recipe, trained for fewer passes
# (printed): `BENCHMARKS.md` trains the same network for its full 16 epochs, and a LIF network
# with BPTT beside it; run `spikinggamma train --task fsdd` (the recipe in full) to compare.
# The hidden spikes are the price of that accuracy. The recipe's spike cost trades them against
# the loss: the full recipe reaches 97 % at about 6 spikes per neuron per second (seeds 0 to 2,
# `BENCHMARKS.md`), where this short run has barely begun to pay it. A larger ϑ and the
# adaptive threshold, the levers Lesson 1 taught, lower the rate too.
#
# ## 3. Live
#
# The Trainer with the `fsdd` preset (present when the server was started with the data folder):
# open it (a button on the Lessons page, a link in a notebook), press **Play** and watch the
# accuracy per batch, the hidden raster and the spike counts.

# %%
workbench_page("trainer", height=1100, preset="fsdd", seed=SEED, mode="spatial")

# %% [markdown]
# ## 4. Exercises
#
# **Exercise 8.1 (predict).** The front end has 32 bands. How many input channels does the
# network get? Answer with the number, then explain it to your neighbour.

# %%
exercise_8_1 = Exercise("8.1", Near(task.n_in, abs=0.0),
                        hint="look at the third panel: how many kinds of event does each band send?",
                        wrong=32, task="predict")
answer_8_1 = None  # a number of channels
exercise_8_1(answer_8_1)

# %% tags=["solution"]
exercise_8_1.solution(2 * 32, why="an up and a down channel per band")

# %% [markdown]
# **Exercise 8.2 (count).** How many *up* events does band 10 emit in `3_jackson_0.wav`? Use
# `sample` (its `channels` and `times_ms`). Then compare with the band's total rise in the middle
# panel divided by δ = 0.1: why does send-on-delta emit fewer events than that?

# %%
exercise_8_2 = Exercise("8.2", Near(int((sample.channels == 10).sum()), abs=0.0, unit=" up events"),
                        hint="up events of band b are on channel b, down events on channel b + 32",
                        wrong=-1, task="compute")
answer_8_2 = None  # a count
exercise_8_2(answer_8_2)

# %% tags=["solution"]
exercise_8_2.solution(int((sample.channels == 10).sum()),
                      why="count channel 10; wiggles smaller than δ around a level emit nothing "
                          "(hysteresis), so the count is below the total rise / δ")

# %% [markdown]
# ## Teacher's note
#
# - **Before class.** Start the server with the data folder (`spikinggamma serve --data-dir
#   …` or `SPIKINGGAMMA_DATA_DIR`) and build the lessons with the same variable set
#   (`spikinggamma lessons build --lessons 08`): this lesson trains the recipe for two passes
#   over the training set once (several minutes on a 2-core machine); every page then shows the
#   stored run at once. Without the data folder its cells fail and say so, and the rest of the
#   lesson still shows. The embedded Trainer takes one of the server's `--max-training` slots
#   (default 2); the other students queue and take turns.
# - **Timing.** 15 min on the front end (play the recording aloud, then show the three panels
#   top to bottom), 15 min on training and its numbers (stored: no waiting), 20 min exercises
#   and discussion in the answer boxes.
# - **Misconceptions.** "The network hears the waveform": it sees only events of band levels,
#   a few thousand per second. "Higher accuracy needs smaller dt": the events are in ms; dt only
#   bins them (try the Trainer at 0.5 ms). "One recording per digit is enough": the speakers
#   differ; the test set holds recordings the network never heard.
# - **What to project.** The three-panel figure, then the accuracy line and the live Trainer.
#   The data is not in the repository: point the server at it with `--data-dir` or
#   `SPIKINGGAMMA_DATA_DIR`.
