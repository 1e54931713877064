"""Per-step losses, scaled so that a sequence's loss is a time average: L = Σ_t w_t · ℓ(t),
w_t = dt / (duration − warm-up) after the warm-up, 0 before. Halving dt doubles the steps and
halves w_t, so the sequence's gradient does not grow when dt shrinks.

The spike cost (``spike_cost`` λ > 0, :func:`spike_costs`) adds λ · r(t) / T at every step, r(t)
the mean hidden rate (Hz) estimated from the hidden signals y: summed over the sequence it is λ ×
the estimated mean hidden rate, whatever dt is. ``spike_cost_ramp`` R > 0 (:func:`ramped_spike_cost`)
starts the weight at 0 and raises it linearly to λ over the first R training sequences."""
from __future__ import annotations

import torch
import torch.nn.functional as F

LOSSES = ("mse", "mse_hinge", "ce")
#: target level (signal units) below which "mse_hinge" lets x be negative for free
SILENT_BELOW = 0.05


def loss_schedule(n_steps: int, dt_ms: float, warmup_ms: float = 0.0) -> tuple[int, float]:
    """(warm-up steps, w): w_t = 0 for t < warm-up, else w = dt / (remaining duration)."""
    warm = min(int(round(warmup_ms / dt_ms)), n_steps - 1)
    return warm, dt_ms / ((n_steps - warm) * dt_ms)


def step_weights(n_steps: int, dt_ms: float, warmup_ms: float = 0.0) -> list[float]:
    """w_t for every step (see :func:`loss_schedule`)."""
    warm, w = loss_schedule(n_steps, dt_ms, warmup_ms)
    return [0.0] * warm + [w] * (n_steps - warm)


def step_loss(kind: str, x_out: torch.Tensor, target_t: torch.Tensor) -> torch.Tensor:
    """ℓ(t) of one step.

    ``"mse"``: Σ_j (x_j − target_j)², averaged over the batch (x is the readout's pre-ReLU
    signal; target [B, N_out] the target signal). ``"mse_hinge"``: the same, except that a
    negative x costs nothing while the target is silent (below ``SILENT_BELOW``): such an x
    emits no spike, and leaving it free lets the network spend its capacity on the target spikes
    (a [choice]; pure ``"mse"`` under-fits the peaks and output spikes come and go).
    ``"ce"``: cross-entropy of the logits x [B, N_out] against labels [B] (label −100: ignored),
    averaged over the labelled samples.
    """
    return step_losses(kind, x_out.unsqueeze(0), target_t.unsqueeze(0))[0]


def step_losses(kind: str, x_out: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """:func:`step_loss` of many steps at once (the chunked path, Learner.observe_chunk).

    Shape: x_out [C, B, N_out]; targets [C, B, N_out] (mse) or labels [C, B] (ce) → [C].
    """
    if kind in ("mse", "mse_hinge"):
        err = (x_out - targets) ** 2
        if kind == "mse_hinge":
            err = torch.where((x_out < 0) & (targets < SILENT_BELOW), torch.zeros_like(err), err)
        return err.sum(-1).mean(-1)
    if kind == "ce":
        per = F.cross_entropy(x_out.flatten(0, 1), targets.flatten(), reduction="none")  # [C·B]
        labelled = (targets != -100).sum(-1).to(per.dtype)  # [C]
        return per.view(targets.shape).sum(-1) / labelled
    raise ValueError(f"loss must be one of {LOSSES} (got {kind!r})")


def check_spike_cost(value) -> None:
    """ValueError unless the spike cost's weight is a finite number >= 0."""
    if (isinstance(value, bool) or not isinstance(value, (int, float))
            or not 0 <= value < float("inf")):
        raise ValueError(f"spike_cost must be a finite number >= 0 (got {value!r})")


def check_spike_cost_ramp(value) -> None:
    """ValueError unless the spike cost's ramp is an integer >= 0 (training sequences)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"spike_cost_ramp must be an integer >= 0 training sequences (got {value!r})")


def ramp_over(fraction, n_sequences: int) -> int:
    """The spike cost's ramp (training sequences) that spans ``fraction`` of a run of
    ``n_sequences``; ValueError unless 0 <= fraction <= 1."""
    if (isinstance(fraction, bool) or not isinstance(fraction, (int, float))
            or not 0 <= fraction <= 1):
        raise ValueError(f"spike_cost_ramp must be a fraction of the run in [0, 1] (got {fraction!r})")
    return int(round(fraction * n_sequences))


def ramped_spike_cost(weight: float, ramp: int, index: int) -> float:
    """The spike cost's weight for training sequence ``index`` (0, 1, ...): ``weight`` ·
    min(1, index / ``ramp``); ``ramp`` 0: ``weight`` from the first sequence on.

    Why a ramp: at the start a hidden layer is dense and its units carry nothing yet, so a full
    weight's gradient, the same push on every active unit, can drive units below zero for every
    input; a silent ReLU then receives no gradient, from the cost or from the task, and stays
    silent (two hidden layers on N-MNIST at λ = 1e-3: 29 %, 1.6 Hz; with a ramp over half the
    run: 95 %, 15 Hz; BENCHMARKS.md). Started at 0, the task first gives each unit inputs it
    answers to, and the cost then trims them.
    """
    return weight if ramp == 0 else weight * min(1.0, index / ramp)


def spike_cost_scales(net) -> list[float]:
    """Per hidden layer l, what one unit of y_l costs in spikes per second per hidden neuron:

        a sigma-delta neuron holds a signal y with y / (2ϑ_l τ) spikes per ms (engine.model.encoder;
        τ: bucket 0 of the receiving layer), so  r(t) = Σ_l Σ_i y_l,i(t) · s_l,
        s_l = 1000 / (2 ϑ_l τ_{l+1,0}) / (hidden neurons of all layers)

    is an estimate of the mean hidden rate (Hz) at step t, differentiable in y.
    """
    specs = net.cfg.layers
    n_hidden = sum(spec.n_out for spec in specs[:-1])
    return [1000.0 / (2.0 * specs[l].threshold * specs[l + 1].tau_ms[0]) / max(n_hidden, 1)
            for l in range(len(specs) - 1)]


def spike_costs(weight: float, ys, scales: list[float], n_steps: int) -> torch.Tensor:
    """The spike cost of a step or of every step of a chunk: weight · r(t) / n_steps, r(t) the
    estimated mean hidden rate (:func:`spike_cost_scales`), averaged over the batch; summed over
    a sequence it is ``weight`` × the mean estimated hidden rate in Hz.

    Shape: ys one [B, N_l] (a step) or [C, B, N_l] (a chunk) per hidden layer → [] or [C].
    """
    rate = sum((y * scale).sum(-1).mean(-1) for y, scale in zip(ys, scales))
    return rate * (weight / n_steps)
