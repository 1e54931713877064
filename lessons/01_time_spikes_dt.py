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

from workbench.exercises import Construct, Exercise, Near
from workbench.lesson_views import encoder_view, setup
from workbench.lessons import sized
from workbench.models.encoder import EncoderLabModel

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
# - each spike adds 2ϑ·b₀ to the estimate: ê ← ê + 2ϑ·b₀·s, where b₀ = (1 − α₀)·τ/dt is what
#   a spike adds to the receivers' bucket 0 by the end of its step (b₀ ≈ 1 − dt/2τ: close to 1
#   when dt ≪ τ, 0.98 at dt = 0.5 ms and τ = 10 ms).
#
# The paper's encoder sends at most one spike per step; the engine's default sends the fewest
# spikes (a count s ≥ 0 in one step) that bring y − ê back within ϑ, and `max_spikes_per_step=1`
# restores the paper's cap.
#
# So the receivers know y to within about ϑ at every moment. **What a spike costs.** Between
# spikes the estimate decays by ê/τ per ms; to hold it at a level y, spikes must put back y/τ
# per ms, 2ϑ at a time: a signal y costs **y / (2ϑτ) spikes per ms**, whatever dt is. Halve ϑ
# and you pay twice the spikes. The one copy of these equations
# is the docstring of `engine.model.encoder.encoder_step` (open `engine/model/encoder.py`); α₀ comes from
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
# The spikes double: the rate y/(2ϑτ) is inversely proportional to ϑ. The error does *not*
# halve: at dt = 0.5 ms the RMS error goes 0.057 → 0.037 → 0.029 for ϑ = 0.1 → 0.05 → 0.025
# (the table below). Where the signal rises or holds, the error is within about ϑ; where it
# falls faster than the estimate decays, the error is set by τ, not by ϑ (question 4), and that
# part stays. Spikes buy precision only until τ limits it.
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
probe = EncoderLabModel(threshold=0.05, dt_ms=0.1, tau_ms=10.0).simulate()
mean_y = float(probe["signal"].mean())
print(f"the signal's mean over 200 ms: {mean_y:.3f} (signal units)")
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
errors = {theta: rms for theta, dt, n, rms, _, _ in rows if dt == min(DTS_MS)}
print(f"RMS error at dt = {min(DTS_MS):g} ms: " + ", ".join(
    f"ϑ {theta:g} → {errors[theta]:.3f}" for theta in sorted(errors, reverse=True))
      + ": halving ϑ does not halve the error")

# %% [markdown]
# **What the measurement shows.** Read the printed table: for each ϑ the spike count is nearly
# the same at every dt and close to the mean signal × 200 ms / (2ϑτ), while the RMS error grows
# with ϑ, less than in proportion; where the curves for the different dt
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
# Answer in the box under each exercise on the Lessons page, or in the notebook: set
# `answer_1_N` and run the check cell. A wrong answer gets a hint, not the answer.
#
# **Exercise 1.1 (predict, then measure).** Without running the encoder, predict how many spikes
# ϑ = 0.05 and τ = 10 ms cost for the 200 ms signal, from the rate y/(2ϑτ) spikes per ms and
# the signal's mean printed in section 3. Within 15 % of what the engine counts (dt = 0.5 ms)
# counts as right.

# %%
spikes_1_1 = EncoderLabModel(threshold=0.05, dt_ms=0.5, tau_ms=10.0).simulate()["n_spikes"]
exercise_1_1 = Exercise("1.1", Near(spikes_1_1, rel=0.15, unit=" spikes"),
                        hint="spikes = (mean signal × duration in ms) / (2ϑτ); mind the units",
                        wrong=70, task="predict")
answer_1_1 = None  # your predicted spike count
exercise_1_1(answer_1_1)

# %% tags=["solution"]
exercise_1_1.solution(round(mean_y * 200.0 / (2 * 0.05 * 10.0)),
                      why="a level y costs y/(2ϑτ) spikes per ms: 0.70 × 200 ms / (2 × 0.05 × 10 ms); "
                          "the engine counts a little more, as the estimate sits above y where y falls")

# %% [markdown]
# **Exercise 1.2 (predict across dt).** Predict, *without* simulating at dt = 0.1 ms, how many
# spikes ϑ = 0.05, τ = 10 ms gives at dt = 0.1 ms. You may simulate at dt = 1 ms
# (`EncoderLabModel(threshold=0.05, dt_ms=1.0, tau_ms=10.0).simulate()["n_spikes"]`). Within
# 5 % counts as right.

# %%
spikes_1_2 = EncoderLabModel(threshold=0.05, dt_ms=0.1, tau_ms=10.0).simulate()["n_spikes"]
exercise_1_2 = Exercise("1.2", Near(spikes_1_2, rel=0.05, unit=" spikes"),
                        hint="does the rate y/(2ϑτ) contain dt? Measure at the coarse step",
                        wrong=10 * spikes_1_2, task="predict")
answer_1_2 = None  # your predicted spike count at dt = 0.1 ms
exercise_1_2(answer_1_2)

# %% tags=["solution"]
exercise_1_2.solution(EncoderLabModel(threshold=0.05, dt_ms=1.0, tau_ms=10.0).simulate()["n_spikes"],
                      why="the spike count is a property of the signal, ϑ and τ: the count at "
                          "dt = 1 ms is the count at 0.1 ms, with ten times as many steps")

# %% [markdown]
# **Exercise 1.3 (construct).** A receiver needs the signal to an RMS error below 0.04, and the
# link carries at most 200 spikes per 200 ms (dt = 0.5 ms, τ = 10 ms). Find a threshold ϑ that
# does both; the check encodes the signal with your ϑ.

# %%
exercise_1_3 = Exercise("1.3", Construct("encoder_budget", dict(dt_ms=0.5, tau_ms=10.0,
                                                                max_rms=0.04, max_spikes=200)),
                        hint="fewer spikes need a larger ϑ, a smaller error a smaller one: use the "
                             "rate y/(2ϑτ) for the budget and the table for the error",
                        wrong=0.1, task="construct")
answer_1_3 = None  # your ϑ
exercise_1_3(answer_1_3)

# %% tags=["solution"]
exercise_1_3.solution(0.05, why="ϑ = 0.05 costs about 150 spikes (0.70 × 200 / 1) and its RMS error "
                                "is 0.037; ϑ = 0.1 is cheaper but its error is 0.057")

# %% [markdown]
# ## Teacher's note
#
# - **Before class.** Build the lessons once (`spikinggamma lessons build`, a few minutes for
#   all eight; `spikinggamma serve` builds what is missing when it starts), so every student's
#   page opens at once with the numbers below. Students answer in the box under each exercise on
#   the Lessons page (no install needed) or in the student notebook (sidebar download).
# - **Timing.** 10 min story and live view (project the view; let students call out what ϑ
#   does before you move it), 10 min on the measured table, 20 min exercises in pairs; allow
#   2 min at the start for thirty students to open the page (seconds once it is built).
# - **Misconceptions.** "Smaller dt means more spikes": no, more *steps*, the same spikes per
#   second. "A spike is a 1 added to the signal": a spike is worth 2ϑ·b₀ (≈ 2ϑ), and the
#   receivers must know ϑ. "Halving ϑ halves the error": it doubles the spikes; the error
#   shrinks less, down to a floor set by τ. "The estimate is a moving average": it is a leaky integrator of
#   spikes, which is exactly the receiver's bucket 0 in Lesson 2.
# - **What to project.** The live view at ϑ = 0.05 then 0.01: the step at 120 ms is followed at
#   once (the error there stays within 0.03: the engine's encoder sends several spikes in one
#   step; only the paper's one-spike cap, `max_spikes_per_step=1`, would saturate it), and the
#   error-against-spikes plot with its overlapping curves.
