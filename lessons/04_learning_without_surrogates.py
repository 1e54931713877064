# %% [markdown]
# # Lesson 4 · Learning without surrogate gradients
#
# **Promise.** By the end you can say why a SpikingGamma network needs no surrogate gradient,
# and watch its three learning rules compute a gradient step by step.
#
# **Objectives.**
# - Explain the straight-through estimate ∂ŷ⁰/∂y := 1 and measure why it is justified here.
# - Distinguish `spatial`, `traces` and `bptt` by what they remember and what they cost.
# - Read per-step gradient contributions through gradient taps and compare the rules.
#
# **Prerequisites.** Lessons 1–3; the chain rule; what a gradient step does.
#
# **Time.** 50 min
#
# Run it: `python lessons/04_learning_without_surrogates.py` · notebook:
# `jupytext --to notebook lessons/04_learning_without_surrogates.py` · workbench: Lessons page.

# %%
import numpy as np
import torch

from engine import Network, NetworkConfig, Recorder, gradients, simulate
from engine.tasks.spiketrains import bin_times, poisson_times
from workbench.models.gradient import GradientLabModel
from workbench.exercises import Exercise, Near, OneOf
from workbench.lesson_views import gradient_view, setup
from workbench.lessons import sized

setup()
torch.manual_seed(0)
THRESHOLDS = sized((0.05, 0.5), (0.02, 0.05, 0.1, 0.2, 0.5))

# %% [markdown]
# ## 1. The problem with spikes
#
# A spike is a step function of the membrane or signal: its derivative is zero almost everywhere
# and infinite at the threshold. Back-propagation through spikes therefore gives nothing useful,
# and LIF networks replace the derivative with a made-up smooth bump, a *surrogate gradient*
# (`engine/baselines/lif.py`, `FastSigmoidSpike`). The surrogate's width is one more
# hyper-parameter, and it depends on dt.
#
# ## 2. Why SpikingGamma can skip it
#
# In SpikingGamma a neuron does not pass its spikes on as such: the receivers rebuild the
# estimate ŷ⁰, and the encoder keeps ŷ⁰ within about ϑ of the signal y (Lesson 1). So in the
# backward pass the engine sets ∂ŷ⁰/∂y := 1, *straight through*, while the forward pass still
# uses the spikes. Everything else, the ReLU and the linear bucket recursions, is
# differentiated exactly (MODEL.md §3; the forward step is `engine.model.network.Network.step`).
#
# Check the premise: how far is ŷ⁰ from y in a real hidden layer, in units of ϑ?

# %%
gen = torch.Generator().manual_seed(0)
inputs = bin_times(poisson_times(10, 40.0, 200.0, gen), 1.0, 200.0).unsqueeze(1)  # [T, 1, 10]
for theta in THRESHOLDS:
    cfg = NetworkConfig(sizes=(10, 8, 1), dt_ms=1.0, tau_ms=5.0, n_buckets=4,
                        threshold=(theta, 0.5), weight_gain=(10.0, 1.0))
    net = Network(cfg, seed=0)
    with Recorder(net, ["layers.0.signal", "layers.0.estimate"]) as rec:
        simulate(net, inputs)
    y = rec["layers.0.signal"]
    gap = (y - rec["layers.0.estimate"]).abs() / theta
    print(f"ϑ = {theta:4g} (2ϑτ/dt = {2 * theta * 5.0 / 1.0:4.1f}, largest y {y.max():.2f}): "
          f"|y − ŷ⁰| / ϑ median {gap.median():.2f}, 95th percentile "
          f"{gap.flatten().quantile(0.95):.2f}, largest {gap.max():.1f}")

# %% [markdown]
# **What the measurement shows.** Read the medians: most of the time ŷ⁰ is within a fraction of
# ϑ of y. The tails are where ŷ⁰ lags y by many ϑ: a signal falling faster than ŷ⁰ decays (the
# encoder has only "up" spikes; Lesson 1, question 4) and, with the paper's one-spike-per-step
# encoder, a rise faster than 2ϑτ/dt (printed for reference; the engine's default encoder sends a
# spike count per step). So the straight-through derivative is the derivative of something that
# is y up to a bounded error *while y changes slowly enough for the spikes to follow*, and the
# larger ϑ, the smaller the gap in units of ϑ.
#
# ## 3. Three ways to add up the gradient over time
#
# The loss L(t) is available at every step. A parameter θ of the hidden layer changes y(t),
# which enters the receivers' buckets and stays there for a while (the gamma memory). The rules
# differ in how much of that past they credit (MODEL.md §3; code: `engine.learn.learner.Learner`,
# `engine/learn/traces.py`):
#
# - **spatial**: back-propagate L(t) through step t only; past bucket states are constants.
#   Memory O(1) in the number of steps.
# - **traces**: carry eligibility traces eᵏ(t), the buckets' own recursion applied to ∂y/∂θ, so
#   that ∂L(t)/∂θ = Σⱼ Σₖ δⱼ(t)·wᵢⱼ·vⱼᵏ·eᵏ(t). Exact for one hidden layer; memory O(K·#params).
# - **bptt**: full back-propagation through time; the reference, with memory growing with T.
#
# The live view records the *per-step* contribution of one hidden neuron's parameters through a
# gradient tap (`Recorder(net, ["layers.0.weight.grad"])`) under each rule. Pick another hidden
# neuron, or switch from w to v.

# %%
gradient_view(hidden=1)

# %% [markdown]
# **Guiding questions**
#
# 1. In the top plot, the `traces` curve and the dashed `bptt` curve differ step by step, yet
#    their running sums end at the same value. How can that be?
#
# <details><summary>Answer</summary>
#
# They assign credit to different steps. BPTT credits the step where θ acted (looking forward
# to every later loss); traces credit the step where the loss is felt (looking back through the
# eligibility trace). For one hidden layer both sums are the same total, which is what learning
# uses.
# </details>
#
# 2. The whole-layer numbers below show `spatial` with a cosine near 1 to `bptt` but a relative
#    error near 0.7. How can both be true?
#
# <details><summary>Answer</summary>
#
# `spatial` keeps only the effect of θ through the current step; the effect through the
# buckets' memory of earlier steps is dropped. That dropped part is *most* of the gradient:
# on the exercises' network `spatial`'s hidden-layer gradients are about 0.3× the size of
# `bptt`'s (printed in section 5), at a cosine of 0.99. So `spatial` keeps the gradient's
# *direction*, not its *size*: the memory's contribution points the same way as the current
# step's here. A uniform factor like 0.3 is what Adam's per-parameter scaling removes (it
# divides each update by a running estimate of that parameter's gradient size), so with Adam
# `spatial` takes nearly the steps `bptt` would; with plain SGD it would learn 3× slower. Where
# the directions differ (the parts of the cosine below 1) Adam cannot help.
# </details>

# %% [markdown]
# ## 4. Measure it for every parameter
#
# The whole-sequence gradient of every parameter of the lab's network, under each rule
# (`engine.gradients`), compared with `bptt`:

# %%
for parameter in ("weight", "bucket_weight"):
    d = GradientLabModel(parameter=parameter, hidden=1).compute()
    print(f"layers.0.{parameter}: " + ", ".join(
        f"{m} relative error {d['relative_error'][m]:.2e} (cosine {d['cosine_to_bptt'][m]:.3f})"
        for m in ("spatial", "traces")))

# %% [markdown]
# **What the measurement shows.** `traces` matches `bptt` to rounding error (float64), so
# online learning loses nothing here; `spatial` points in nearly the same direction (cosine
# printed) but its relative error is large: its gradient is smaller (question 2), because it
# drops the path through the buckets' memory.
#
# ## 5. Exercises
#
# The network for the exercises (two layers, a sine target):

# %%
gen = torch.Generator().manual_seed(1)
x_in = bin_times(poisson_times(10, 40.0, 100.0, gen), 1.0, 100.0).unsqueeze(1).double()
target = (0.5 + 0.5 * torch.sin(torch.arange(100.0) * 2 * np.pi / 50)).reshape(-1, 1, 1)
cfg = NetworkConfig(sizes=(10, 8, 1), dt_ms=1.0, tau_ms=5.0, n_buckets=4, threshold=0.05,
                    weight_gain=(10.0, 1.0), dtype="float64")
exercise_net = Network(cfg, seed=0)
bptt_grads = gradients(exercise_net, x_in, target, mode="bptt")  # the reference, computed once
print(sorted(bptt_grads))

# %% [markdown]
# **Exercise 4.1 (predict).** Before computing anything: which learning rule other than `bptt`
# gives *the same* gradient of `layers.0.weight` as `bptt` (relative error below 1e-10) on
# `exercise_net`? The check computes both rules' gradients.

# %%
relative_4 = {mode: {name: float((g - bptt_grads[name]).norm()
                                 / bptt_grads[name].norm().clamp_min(1e-300))
                     for name, g in gradients(exercise_net, x_in, target, mode=mode).items()}
              for mode in ("spatial", "traces")}
exercise_4_1 = Exercise("4.1", OneOf([m for m in relative_4
                                      if relative_4[m]["layers.0.weight"] < 1e-10],
                                     options=["spatial", "traces"]),
                        hint="which rule carries the buckets' memory of ∂y/∂θ forward in time?",
                        wrong="spatial", task="predict")
answer_4_1 = None  # "spatial" or "traces"
exercise_4_1(answer_4_1)

# %% tags=["solution"]
exercise_4_1.solution("traces", why="its eligibility traces run the buckets' recursion on ∂y/∂θ, "
                                    "which is exact for one hidden layer")

# %% [markdown]
# **Exercise 4.2 (predict).** `spatial` is *exact* for some parameters of `exercise_net`. Name
# one (a key of the dictionary printed above) and explain to your neighbour why.

# %%
exercise_4_2 = Exercise("4.2", OneOf([n for n, err in relative_4["spatial"].items() if err < 1e-10],
                                     options=sorted(bptt_grads)),
                        hint="which parameters act on the loss only through the current step?",
                        wrong="layers.0.weight", task="predict")
answer_4_2 = None  # e.g. "layers.0.bias"
exercise_4_2(answer_4_2)

# %% tags=["solution"]
exercise_4_2.solution("layers.1.weight", why="the readout's x(t) is a function of the current "
                                             "buckets: its parameters have no memory path to drop")

# %% [markdown]
# **Exercise 4.3 (compute).** How big is `spatial`'s gradient of `layers.0.weight` against
# `bptt`'s: compute the ratio of their norms ‖g_spatial‖ / ‖g_bptt‖ on `exercise_net` (within
# 3 %). Then say what Adam does with it (question 2).

# %%
spatial_grads = gradients(exercise_net, x_in, target, mode="spatial")
ratio_4_3 = float(spatial_grads["layers.0.weight"].norm() / bptt_grads["layers.0.weight"].norm())
cosine_4_3 = float((spatial_grads["layers.0.weight"] * bptt_grads["layers.0.weight"]).sum()
                   / (spatial_grads["layers.0.weight"].norm() * bptt_grads["layers.0.weight"].norm()))
print(f"layers.0.weight: cosine of spatial to bptt {cosine_4_3:.3f}; size ratio ‖spatial‖/‖bptt‖ of "
      + ", ".join(f"{n} {float(spatial_grads[n].norm() / bptt_grads[n].norm()):.2f}"
                  for n in ("layers.0.bucket_weight", "layers.0.bias")))
exercise_4_3 = Exercise("4.3", Near(ratio_4_3, rel=0.03),
                        hint="gradients(exercise_net, x_in, target, mode=...)['layers.0.weight'], "
                             "then .norm() of each",
                        wrong=1.0, task="compute")
answer_4_3 = None  # a ratio
exercise_4_3(answer_4_3)

# %% tags=["solution"]
exercise_4_3.solution(round(ratio_4_3, 3),
                      why="spatial drops the memory path, most of the gradient, but keeps its "
                          "direction (cosine printed): Adam's per-parameter scaling undoes the factor")

# %% [markdown]
# ## Teacher's note
#
# - **Before class.** `spikinggamma lessons build` (about a minute for this lesson). The
#   gradient view recomputes three gradients per click (a fraction of a second); thirty students
#   can use it at once. Students answer in the boxes on the Lessons page or in the notebook.
# - **Timing.** 10 min on the problem (draw a step function and its derivative; show a surrogate
#   bump), 10 min on the straight-through argument and its measurement, 15 min live view, 15 min
#   exercises.
# - **Misconceptions.** "Straight-through is the same trick as a surrogate": a surrogate invents
#   a derivative for a threshold; here the forward signal really is y to within ϑ, so the
#   derivative of the identity is the right one up to that error. "traces are an approximation":
#   for one hidden layer they are exact (test: `tests/test_engine_learning.py -k traces_equal`);
#   deeper layers are truncated. "Online means worse": compare the running sums.
# - **What to project.** The gradient view with hidden neuron 1, then the printed relative
#   errors; ask the class to predict `spatial` for the readout before running Exercise 4.2, and
#   what Adam does with a gradient 0.3× too small before revealing Exercise 4.3's ratio.
