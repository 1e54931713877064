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
from workbench.gradient_model import GradientLabModel
from workbench.lesson_views import gradient_view, setup
from workbench.lessons import Exercise, sized

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
# differentiated exactly (MODEL.md §3; the forward step is `engine.network.Network.step`).
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
# differ in how much of that past they credit (MODEL.md §3; code: `engine.learning.Learner`,
# `engine/traces.py`):
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
# 2. Why is `spatial` close to `bptt` but not equal?
#
# <details><summary>Answer</summary>
#
# It keeps only the k = 0 term: the effect of θ through the current bucket 0. The effect through
# the later buckets (the memory) is dropped. With per-neuron bucket weights most of the effect
# is in the current step, hence a cosine near 1.
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
# printed) at a fraction of the cost.
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
# **Exercise 4.1.** Which learning rule other than `bptt` gives *the same* gradient of
# `layers.0.weight` as `bptt` (relative error below 1e-10) on `exercise_net`? Answer with its name.

# %%
answer_4_1 = None  # "spatial" or "traces"

# %% tags=["solution"]
def solution_4_1():
    ref = gradients(exercise_net, x_in, target, mode="bptt")["layers.0.weight"]
    for mode in ("spatial", "traces"):
        g = gradients(exercise_net, x_in, target, mode=mode)["layers.0.weight"]
        if (g - ref).norm() / ref.norm() < 1e-10:
            return mode

# %%
def check_4_1(mode):
    if mode not in ("spatial", "traces"):
        return False, "answer 'spatial' or 'traces'"
    ref = bptt_grads["layers.0.weight"]
    g = gradients(exercise_net, x_in, target, mode=mode)["layers.0.weight"]
    err = float((g - ref).norm() / ref.norm())
    return err < 1e-10, f"{mode}: relative error {err:.2e}"


exercise_4_1 = Exercise("4.1", check_4_1, solution_4_1, wrong="spatial")
exercise_4_1(answer_4_1)

# %% [markdown]
# **Exercise 4.2.** `spatial` is *exact* for some parameters of `exercise_net`. Name one (a key
# of the dictionary printed above) and explain to your neighbour why.

# %%
answer_4_2 = None  # e.g. "layers.0.bias"

# %% tags=["solution"]
def solution_4_2():
    # the readout's parameters act on the loss only through the current step
    return "layers.1.weight"

# %%
def check_4_2(name):
    ref = bptt_grads
    if name not in ref:
        return False, f"pick one of {sorted(ref)}"
    g = gradients(exercise_net, x_in, target, mode="spatial")[name]
    err = float((g - ref[name]).norm() / ref[name].norm().clamp_min(1e-300))
    return err < 1e-10, f"spatial vs bptt for {name}: relative error {err:.2e}"


exercise_4_2 = Exercise("4.2", check_4_2, solution_4_2, wrong="layers.0.weight")
exercise_4_2(answer_4_2)

# %% [markdown]
# ## Teacher's note
#
# - **Timing.** 10 min on the problem (draw a step function and its derivative; show a surrogate
#   bump), 10 min on the straight-through argument and its measurement, 15 min live view, 15 min
#   exercises.
# - **Misconceptions.** "Straight-through is the same trick as a surrogate": a surrogate invents
#   a derivative for a threshold; here the forward signal really is y to within ϑ, so the
#   derivative of the identity is the right one up to that error. "traces are an approximation":
#   for one hidden layer they are exact (test: `tests/test_engine_learning.py -k traces_equal`);
#   deeper layers are truncated. "Online means worse": compare the running sums.
# - **What to project.** The gradient view with hidden neuron 1, then the printed relative
#   errors; ask the class to predict `spatial` for the readout before running Exercise 4.2.
