"""Training a :class:`LIFNetwork`: BPTT with a surrogate gradient, or OTTT (online).

Loss, the same as SpikingGamma's (:mod:`engine.learn.losses`): ℓ(t) · w_t with
w_t = dt / duration after the warm-up. ``"ce"``: cross-entropy of the readout (the integrator's
u(t), or the output spike count so far with ``readout="count"``); ``"mse"``: squared error between
the output spikes filtered by an exponential kernel (``mse_kernel = (tau_ms, height)``) and a target
signal; ``"membrane"``: a hinge on the output layer's membrane v (before its reset) against
per-step codes c ∈ {+1, −1} (:func:`membrane_codes`): (ϑ(1 + m) − v)₊² where c = +1 (fire here),
(v − ϑ(1 − m))₊² where c = −1 (stay silent), m = ``margin``. It gives a gradient whatever the output
spikes: the filtered-spike loss of a silent output reaches the weights only through the
surrogate's tail at v far below ϑ, and training on it settles in silence (issue 17).

``bptt`` keeps the graph of the whole sequence (memory O(T)). ``ottt`` (online training through
time, Xiao et al. 2022) cuts the state from the graph at every step and replaces each layer's
presynaptic spikes by their trace â(t) = β â(t−1) + s(t) in the weight gradient:

    ∂L(t)/∂W_l ≈ δ_l(t) â_{l−1}(t)ᵀ          δ_l(t): back-propagated through step t only

memory O(1) in T. β is the receiving layer's decay, so the readout's gradient is exact (with
spread hidden τ, ``tau_mem_max_ms``, the trace decays with the layer's geometric-mean τ: one trace
per presynaptic neuron, as OTTT keeps it, an approximation for the neurons away from that τ).
"""
from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F

from ..learn.losses import (check_spike_cost, check_spike_cost_ramp, ramped_spike_cost, step_loss,
                            step_weights)
from ..run.simulate import hardware_counts
from ..units import alpha_from_tau, ms_to_steps, spike_bin
from .lif import LIFNetwork, LIFState

LIF_MODES = ("bptt", "ottt")
LIF_LOSSES = ("ce", "mse", "membrane")


def check_margin(margin: float) -> float:
    if not (isinstance(margin, (int, float)) and 0.0 <= margin < 1.0):
        raise ValueError(f"margin must be a number in [0, 1) (a fraction of the threshold; got {margin!r})")
    return float(margin)


def membrane_codes(target_times: list[torch.Tensor], dt_ms: float, duration_ms: float) -> torch.Tensor:
    """Per-step codes of the ``"membrane"`` loss from target spike times (ms), one list entry per
    output: +1 in the step holding a target, −1 in every other step. Shape: → [T, 1, n_out]."""
    codes = -torch.ones(ms_to_steps(duration_ms, dt_ms), len(target_times))
    for j, times in enumerate(target_times):
        for t in times.tolist():
            if 0 <= spike_bin(t, dt_ms) < codes.shape[0]:
                codes[spike_bin(t, dt_ms), j] = 1.0
    return codes.unsqueeze(1)


def membrane_loss(v: torch.Tensor, codes: torch.Tensor, threshold: float, margin: float) -> torch.Tensor:
    """ℓ(t) of the ``"membrane"`` loss: Σ_j over outputs, mean over the batch. v, codes [B, n_out]."""
    above = F.relu(threshold * (1.0 + margin) - v) ** 2 * (codes > 0)
    below = F.relu(v - threshold * (1.0 - margin)) ** 2 * (codes < 0)
    return (above + below).sum(-1).mean()


class LIFResult(NamedTuple):
    """logits [T, B, n_out] (detached); spike_counts: one [N_l] per spiking layer (summed over
    time and batch); input_count: input events summed; loss: the sequence's loss."""

    logits: torch.Tensor
    spike_counts: tuple[torch.Tensor, ...]
    input_count: float
    loss: float
    dt_ms: float


def _readout(net: LIFNetwork, logits_t, count, filt, loss_kind, mse_kernel):
    """The quantity the loss sees at this step, and the updated running count / filter."""
    if net.cfg.readout == "integrator":
        return logits_t, count, filt
    if loss_kind == "mse":
        tau_ms, height = mse_kernel
        filt = alpha_from_tau(net.dt_ms, tau_ms) * filt + height * logits_t
        return filt, count, filt
    count = count + logits_t
    return count, count, filt


def run_lif(net: LIFNetwork, inputs: torch.Tensor, targets: torch.Tensor | None = None, *,
            mode: str | None = None, loss: str = "ce", warmup_ms: float = 0.0,
            mse_kernel: tuple[float, float] = (5.0, 1.0), keep_logits: bool = True,
            margin: float = 0.1, spike_cost: float = 0.0) -> LIFResult:
    """Simulate (``mode=None``) or accumulate ∂L/∂θ into ``.grad`` (``"bptt"``/``"ottt"``).
    ``spike_cost``: λ of the hidden spike cost (:func:`hidden_spike_cost`).

    Shape: inputs [T, B, n_in]; targets [B] / [T, B] labels (ce), [T, B, n_out] signals (mse)
    or codes (membrane).
    """
    if mode is not None and mode not in LIF_MODES:
        raise ValueError(f"mode must be one of {LIF_MODES} or None (got {mode!r})")
    if loss not in LIF_LOSSES:
        raise ValueError(f"loss must be one of {LIF_LOSSES} (got {loss!r})")
    if loss == "membrane" and net.cfg.readout != "count":
        raise ValueError(f"loss 'membrane' needs readout 'count' (a spiking output; got {net.cfg.readout!r})")
    margin = check_margin(margin)
    n_steps, batch = inputs.shape[:2]
    per_step = targets is not None and targets.dim() >= 2
    tsteps = targets.unbind(0) if per_step else None
    weights = step_weights(n_steps, net.dt_ms, warmup_ms)
    state = net.init_state(batch)
    n_out = net.cfg.sizes[-1]
    count = torch.zeros(batch, n_out)
    filt = torch.zeros(batch, n_out)
    counts = [torch.zeros(lin.out_features) for lin in net.layers]
    n_spiking = len(net.layers) - (1 if net.cfg.readout == "integrator" else 0)
    betas = [b if isinstance(b, float) else float(b.log().mean().exp()) for b in net.betas()]
    traces = [None] * len(net.layers)
    logits_all, total, bptt_loss = [], 0.0, None

    def ottt_current(l, s_in, lin):
        # value W s_in; gradient wrt W: δ ⊗ trace; gradient wrt s_in through this step only
        tr, ones = (s_in.detach(), 1.0) if traces[l] is None else (
            betas[l] * traces[l][0] + s_in.detach(), betas[l] * traces[l][1] + 1.0)
        traces[l] = (tr, ones)  # the bias is a synapse from a constant input 1
        g_part = F.linear(tr, lin.weight) + lin.bias * ones
        return F.linear(s_in, lin.weight.detach(), lin.bias.detach()) + g_part - g_part.detach()

    grad_ctx = torch.enable_grad() if mode else torch.no_grad()
    with grad_ctx:
        for t, x_t in enumerate(inputs.unbind(0)):
            if mode == "ottt":
                state = LIFState(tuple(v.detach() for v in state.v))
                count, filt = count.detach(), filt.detach()
            out, state = net.step(x_t, state, ottt_current if mode == "ottt" else None)
            seen, count, filt = _readout(net, out.logits, count, filt, loss, mse_kernel)
            for l, s in enumerate(out.spikes[:n_spiking]):
                counts[l] += s.detach().sum(0)
            if keep_logits:
                logits_all.append(seen.detach())
            if mode is None or targets is None or (weights[t] == 0 and not spike_cost):
                continue
            target_t = tsteps[t] if per_step else targets
            if weights[t] == 0:
                loss_t = 0.0
            elif loss == "membrane":
                loss_t = membrane_loss(out.v_out, target_t, net.cfg.threshold, margin) * weights[t]
            else:
                loss_t = step_loss(loss, seen, target_t) * weights[t]
            if spike_cost and len(net.layers) > 1:
                loss_t = loss_t + hidden_spike_cost(out.spikes[:len(net.layers) - 1], net.dt_ms,
                                                    n_steps, spike_cost)
            total += float(loss_t.detach())
            if mode == "ottt":
                loss_t.backward()
            else:
                bptt_loss = loss_t if bptt_loss is None else bptt_loss + loss_t
    if bptt_loss is not None:
        bptt_loss.backward()
    logits = torch.stack(logits_all) if keep_logits else torch.empty(0)
    return LIFResult(logits, tuple(counts[:n_spiking]), float(inputs.sum()), total, net.dt_ms)


def hidden_spike_cost(spikes, dt_ms: float, n_steps: int, weight: float) -> torch.Tensor:
    """λ × the hidden rate (Hz) at one step, / n_steps: summed over a sequence, λ × the mean
    hidden rate, the cost SpikingGamma's learner adds (engine.learn.losses.spike_costs), here on
    the spikes themselves (their gradient is the surrogate's). Shape: spikes [B, N_l] per hidden
    layer → []."""
    n_hidden = sum(s.shape[-1] for s in spikes)
    rate_hz = sum(s.sum(-1) for s in spikes).mean() * (1000.0 / dt_ms) / max(n_hidden, 1)
    return rate_hz * (weight / n_steps)


class LIFTrainer:
    """Adam on a :class:`LIFNetwork`, one update per sequence; ``mode`` ``"bptt"`` or ``"ottt"``.
    ``spike_cost``, ``spike_cost_ramp``: as in :class:`engine.Trainer`."""

    def __init__(self, net: LIFNetwork, mode: str = "bptt", loss: str = "ce", lr: float = 1e-2,
                 warmup_ms: float = 0.0, mse_kernel: tuple[float, float] = (5.0, 1.0),
                 margin: float = 0.1, spike_cost: float = 0.0, spike_cost_ramp: int = 0):
        check_spike_cost(spike_cost)
        check_spike_cost_ramp(spike_cost_ramp)
        if mode not in LIF_MODES:
            raise ValueError(f"mode must be one of {LIF_MODES} (got {mode!r})")
        if loss not in LIF_LOSSES:
            raise ValueError(f"loss must be one of {LIF_LOSSES} (got {loss!r})")
        self.net, self.mode, self.loss, self.warmup_ms = net, mode, loss, warmup_ms
        self.mse_kernel, self.margin = mse_kernel, check_margin(margin)
        self.spike_cost, self.spike_cost_ramp, self.n_sequences = float(spike_cost), spike_cost_ramp, 0
        self.optimizer = torch.optim.Adam(net.parameters(), lr=lr)

    def train_sequence(self, inputs: torch.Tensor, targets: torch.Tensor,
                       keep_logits: bool = True) -> LIFResult:
        self.optimizer.zero_grad(set_to_none=True)
        result = run_lif(self.net, inputs, targets, mode=self.mode, loss=self.loss,
                         warmup_ms=self.warmup_ms, mse_kernel=self.mse_kernel, keep_logits=keep_logits,
                         margin=self.margin,
                         spike_cost=ramped_spike_cost(self.spike_cost, self.spike_cost_ramp,
                                                      self.n_sequences))
        self.n_sequences += 1
        self.optimizer.step()
        return result


def lif_hardware_counts(net: LIFNetwork, result: LIFResult, n_steps: int, batch: int) -> dict:
    """:func:`engine.run.simulate.hardware_counts` of a LIF run (the integrator readout does not
    spike: its output rate is 0)."""
    sizes = net.cfg.sizes
    hidden = [float(c.sum()) for c in result.spike_counts[:len(sizes) - 2]]
    out_spikes = float(result.spike_counts[-1].sum()) if net.cfg.readout == "count" else 0.0
    return hardware_counts(sizes[1:], result.input_count, hidden, out_spikes, n_steps,
                           result.dt_ms, batch)


def lif_output_spikes(net: LIFNetwork, inputs: torch.Tensor) -> tuple[torch.Tensor, LIFResult]:
    """Output-layer spikes of a ``readout="count"`` network (one simulation): the steps of its
    running spike count. Shape: inputs [T, B, n_in] → spikes [T, B, n_out]."""
    if net.cfg.readout != "count":
        raise ValueError(f"readout must be 'count' for output spikes (got {net.cfg.readout!r})")
    result = run_lif(net, inputs)  # logits: the running output spike count
    counts = result.logits
    return torch.diff(counts, dim=0, prepend=torch.zeros_like(counts[:1])), result
