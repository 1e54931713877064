# %% [markdown]
# # Lesson 1 · Time, spikes and dt
#
# **Promise.** By the end you can turn any signal into spikes by sigma-delta coding, and say how
# many spikes a given precision costs, whatever the simulation step.
#
# **Objectives.**
# - Explain how a sigma-delta encoder decides when to spike and what a spike "means".
# - Measure the trade-off between threshold ϑ, spike count and reconstruction error.
# - Show that the spike count does not depend on the time step dt, and say when it does.
#
# **Prerequisites.** Python, exponential decay (e^(−t/τ)); no spiking networks needed.
#
# **Time.** 40 min
#
# Run it: `python lessons/01_time_spikes_dt.py` · as a notebook:
# `jupytext --to notebook lessons/01_time_spikes_dt.py` · in the workbench: Lessons page.

# %%
import holoviews as hv

from workbench.encoder_model import EncoderLabModel
from workbench.lesson_views import encoder_view, setup
from workbench.lessons import Exercise, sized

setup()
THRESHOLDS = sized((0.02, 0.05, 0.2), (0.01, 0.02, 0.05, 0.1, 0.2, 0.4))
DTS_MS = sized((1.0, 0.1), (2.0, 1.0, 0.5, 0.1))

# %% [markdown]
# ## 1. A computer sees time in steps of dt
#
# A simulation advances in steps of length dt (ms). A spike carries no number: only *that* it
# happened, and *when* (to within a step). How can a
# train of such events carry a signal y(t), say the intensity of a sound band?
#
# ## 2. Sigma-delta coding: spike when you are wrong by more than ϑ
#
# The sender keeps the same estimate ê that its receivers will rebuild from its spikes. Each step:
#
# - the estimate decays: ê ← α₀·ê with α₀ = exp(−dt/τ);
# - if the signal is above the estimate by more than the threshold, y − ê > ϑ, it spikes;
# - each spike adds 2ϑ to the estimate: ê ← ê + 2ϑ·s.
#
# The paper's encoder sends at most one spike per step; the engine's default sends the fewest
# spikes (a count s ≥ 0 in one step) that bring y − ê back within ϑ, and `max_spikes_per_step=1`
# restores the paper's cap.
#
# So the receivers know y to within about ϑ at every moment. The one copy of these equations
# is the docstring of `engine.encoder.encoder_step` (open `engine/encoder.py`); α₀ comes from
# `engine.units.alpha_from_tau`.
#
# Move the sliders below: ϑ first, then dt.

# %%
encoder_view(threshold=0.05, dt_ms=0.5, tau_ms=10.0)

# %% [markdown]
# **Guiding questions**
#
# 1. Between two spikes the red estimate falls. Why must it fall rather than stay put?
#
# <details><summary>Answer</summary>
#
# Because the receivers rebuild the signal with a leaky bucket (bucket 0 of their gamma memory,
# Lesson 2). If the estimate never decayed, a signal that goes *down* could never be followed:
# the encoder only sends "up" spikes. The decay lets the estimate come down by itself; spikes
# push it back up.
# </details>
#
# 2. Halve ϑ. What happens to the number of spikes, and to the error?
#
# <details><summary>Answer</summary>
#
# The spikes roughly double (each spike now carries half as much, 2ϑ), and the error roughly
# halves (it stays within about ϑ). Precision is paid for in spikes, linearly.
# </details>
#
# 3. Drag dt from 0.5 ms to 0.1 ms. Does the spike count change? Why not?
#
# <details><summary>Answer</summary>
#
# Barely. The decay per step is exp(−dt/τ), so over one millisecond the estimate decays by the
# same amount at any dt; the number of 2ϑ-sized kicks needed to follow y per millisecond is the
# same. Spikes per second are a property of the signal, ϑ and τ, not of the simulation.
# </details>

# %% [markdown]
# ## 3. Measure it: threshold against spike count against error
#
# Below, the engine encodes the same 200 ms signal at several thresholds and time steps
# (`EncoderLabModel.simulate`, which runs an engine `Network` with analog input). Nothing is
# typed in by hand: every number is measured when the cell runs.

# %%
rows = []
for theta in THRESHOLDS:
    for dt in DTS_MS:
        d = EncoderLabModel(threshold=theta, dt_ms=dt, tau_ms=10.0).simulate()
        rows.append((theta, dt, d["n_spikes"], d["rms_error"], d["max_error"], bool(d["warning"])))
print(f"{'ϑ':>6} {'dt (ms)':>8} {'spikes':>7} {'RMS error':>10} {'max error':>10}  2ϑτ/dt < max y")
for theta, dt, n, rms, mx, sat in rows:
    print(f"{theta:6g} {dt:8g} {n:7d} {rms:10.4f} {mx:10.4f}  {'yes' if sat else ''}")

# %%
by_dt = {dt: [(n, rms) for theta, d, n, rms, _, _ in rows if d == dt] for dt in DTS_MS}
hv.Overlay([hv.Curve(pts, "spikes in 200 ms", "RMS reconstruction error", label=f"dt {dt:g} ms")
            * hv.Scatter(pts, "spikes in 200 ms", "RMS reconstruction error").opts(size=6)
            for dt, pts in by_dt.items()]).opts(
    logx=True, logy=True, width=560, height=340, legend_position="top_right",
    title="The price of precision: one curve per dt (each dot is one ϑ)")

# %%
counts = {dt: [n for _, d, n, *_ in rows if d == dt] for dt in DTS_MS}
spread = max(abs(a - b) / max(b, 1) for dt in DTS_MS for a, b in zip(counts[dt], counts[DTS_MS[-1]]))
print(f"Largest change of the spike count between dt = {max(DTS_MS):g} and {min(DTS_MS):g} ms: "
      f"{100 * spread:.1f} %")

# %% [markdown]
# **What the measurement shows.** Read the printed table: for each ϑ the spike count is nearly
# the same at every dt, while the RMS error grows with ϑ; where the curves for the different dt
# part, dt matters. The last column marks settings where 2ϑτ/dt is below the largest signal:
# with the paper's one-spike-per-step encoder the estimate could then rise by at most 2ϑ per
# step and would *saturate*, its spike count depending on dt. The engine's default encoder sends
# several spikes in one step when it must: compare those rows with the others.
#
# **Guiding question 4.** The "max error" column is well above ϑ even where nothing saturates.
# Find *when* and with which *sign* it happens (hint: `d["signal"] - d["estimate"]` and
# `d["time_ms"]` from `EncoderLabModel(...).simulate()`).
#
# <details><summary>Answer</summary>
#
# Around 60 ms, with the estimate *above* the signal: the signal falls there faster than the
# estimate can decay (ê/τ per ms), and the encoder has only "up" spikes to correct with. Rising
# signals are limited by the spike rate (2ϑτ/dt), falling ones by τ. A shorter τ follows falls
# better but costs more spikes to hold a level.
# </details>

# %% [markdown]
# ## 4. Exercises
#
# **Exercise 1.1.** At dt = 0.5 ms and τ = 10 ms, find the *largest* threshold in
# `(0.01, 0.02, 0.05, 0.1, 0.2, 0.4)` whose RMS error stays below 0.03. Put it in `answer_1_1`.

# %%
answer_1_1 = None  # your ϑ

# %% tags=["solution"]
def solution_1_1():
    errors = {t: EncoderLabModel(threshold=t, dt_ms=0.5, tau_ms=10.0).simulate()["rms_error"]
              for t in (0.01, 0.02, 0.05, 0.1, 0.2, 0.4)}
    return max(t for t, e in errors.items() if e < 0.03)

# %%
grid_1_1 = (0.01, 0.02, 0.05, 0.1, 0.2, 0.4)
errors_1_1 = {t: EncoderLabModel(threshold=t, dt_ms=0.5, tau_ms=10.0).simulate()["rms_error"]
              for t in grid_1_1}


def check_1_1(theta):
    if theta not in grid_1_1:
        return False, f"pick one of {grid_1_1}"
    larger = [t for t in grid_1_1 if t > theta and errors_1_1[t] < 0.03]
    if errors_1_1[theta] >= 0.03:
        return False, f"at ϑ = {theta} the RMS error is {errors_1_1[theta]:.4f}, not below 0.03"
    if larger:
        return False, f"ϑ = {larger[-1]} also stays below 0.03 (error {errors_1_1[larger[-1]]:.4f})"
    return True, f"RMS error {errors_1_1[theta]:.4f}; the next threshold up is above 0.03"


exercise_1_1 = Exercise("1.1", check_1_1, solution_1_1, wrong=0.01)
exercise_1_1(answer_1_1)

# %% [markdown]
# **Exercise 1.2.** Predict, *without* simulating at dt = 0.1 ms, how many spikes ϑ = 0.05,
# τ = 10 ms gives at dt = 0.1 ms. You may simulate at dt = 1 ms. Within 5 % counts as right.

# %%
answer_1_2 = None  # your predicted spike count at dt = 0.1 ms

# %% tags=["solution"]
def solution_1_2():
    # the spike count is a property of the signal, ϑ and τ: measure it at the coarse step
    return EncoderLabModel(threshold=0.05, dt_ms=1.0, tau_ms=10.0).simulate()["n_spikes"]

# %%
spikes_1_2 = EncoderLabModel(threshold=0.05, dt_ms=0.1, tau_ms=10.0).simulate()["n_spikes"]


def check_1_2(n):
    true = spikes_1_2
    off = abs(n - true) / true
    return off <= 0.05, f"the engine counts {true} spikes at dt = 0.1 ms; you are {100 * off:.1f} % off"


exercise_1_2 = Exercise("1.2", check_1_2, solution_1_2, wrong=2000)
exercise_1_2(answer_1_2)

# %% [markdown]
# ## Teacher's note
#
# - **Timing.** 10 min story and live view (project the view; let students call out what ϑ
#   does before you move it), 10 min on the measured table, 20 min exercises in pairs.
# - **Misconceptions.** "Smaller dt means more spikes": no, more *steps*, the same spikes per
#   second (until saturation). "A spike is a 1 added to the signal": a spike is worth 2ϑ, and
#   the receivers must know ϑ. "The estimate is a moving average": it is a leaky integrator of
#   spikes, which is exactly the receiver's bucket 0 in Lesson 2.
# - **What to project.** The live view at ϑ = 0.05 then 0.01 (the step at 120 ms saturates), and
#   the error-against-spikes plot with its overlapping curves.
