"""Training a :class:`LIFNetwork`: BPTT with a surrogate gradient, or OTTT (online).

Loss, the same as SpikingGamma's (:mod:`engine.learn.losses`): ℓ(t) · w_t with w_t = dt / duration
after the warm-up. ``"ce"``: cross-entropy of the readout (the integrator's u(t), or the output
spike count so far with ``readout="count"``); ``"mse"``: squared error between the output
spikes filtered by an exponential kernel (``mse_kernel = (tau_ms, height)``) and a target signal.

``bptt`` keeps the graph of the whole sequence (memory O(T)). ``ottt`` (online training through
time, Xiao et al. 2022) cuts the state from the graph at every step and replaces each layer's
presynaptic spikes by their trace â(t) = β â(t−1) + s(t) in the weight gradient:

    ∂L(t)/∂W_l ≈ δ_l(t) â_{l−1}(t)ᵀ          δ_l(t): back-propagated through step t only

memory O(1) in T. β is the receiving layer's decay, so the readout's gradient is exact.
"""
from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F

from ..learn.losses import step_loss, step_weights
from ..units import alpha_from_tau
from .lif import LIFNetwork, LIFState

LIF_MODES = ("bptt", "ottt")


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
            mse_kernel: tuple[float, float] = (5.0, 1.0), keep_logits: bool = True) -> LIFResult:
    """Simulate (``mode=None``) or accumulate ∂L/∂θ into ``.grad`` (``"bptt"``/``"ottt"``).

    Shape: inputs [T, B, n_in]; targets [B] / [T, B] labels (ce) or [T, B, n_out] signals (mse).
    """
    if mode is not None and mode not in LIF_MODES:
        raise ValueError(f"mode must be one of {LIF_MODES} or None (got {mode!r})")
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
    betas = net.betas()
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
            if mode is None or targets is None or weights[t] == 0:
                continue
            target_t = tsteps[t] if per_step else targets
            loss_t = step_loss(loss, seen, target_t) * weights[t]
            total += float(loss_t.detach())
            if mode == "ottt":
                loss_t.backward()
            else:
                bptt_loss = loss_t if bptt_loss is None else bptt_loss + loss_t
    if bptt_loss is not None:
        bptt_loss.backward()
    logits = torch.stack(logits_all) if keep_logits else torch.empty(0)
    return LIFResult(logits, tuple(counts[:n_spiking]), float(inputs.sum()), total, net.dt_ms)


class LIFTrainer:
    """Adam on a :class:`LIFNetwork`, one update per sequence; ``mode`` ``"bptt"`` or ``"ottt"``."""

    def __init__(self, net: LIFNetwork, mode: str = "bptt", loss: str = "ce", lr: float = 1e-2,
                 warmup_ms: float = 0.0, mse_kernel: tuple[float, float] = (5.0, 1.0)):
        if mode not in LIF_MODES:
            raise ValueError(f"mode must be one of {LIF_MODES} (got {mode!r})")
        self.net, self.mode, self.loss, self.warmup_ms = net, mode, loss, warmup_ms
        self.mse_kernel = mse_kernel
        self.optimizer = torch.optim.Adam(net.parameters(), lr=lr)

    def train_sequence(self, inputs: torch.Tensor, targets: torch.Tensor,
                       keep_logits: bool = True) -> LIFResult:
        self.optimizer.zero_grad(set_to_none=True)
        result = run_lif(self.net, inputs, targets, mode=self.mode, loss=self.loss,
                         warmup_ms=self.warmup_ms, mse_kernel=self.mse_kernel, keep_logits=keep_logits)
        self.optimizer.step()
        return result


def lif_output_spikes(net: LIFNetwork, inputs: torch.Tensor) -> tuple[torch.Tensor, LIFResult]:
    """Output-layer spikes of a ``readout="count"`` network (one simulation): the steps of its
    running spike count. Shape: inputs [T, B, n_in] → spikes [T, B, n_out]."""
    if net.cfg.readout != "count":
        raise ValueError(f"readout must be 'count' for output spikes (got {net.cfg.readout!r})")
    result = run_lif(net, inputs)  # logits: the running output spike count
    counts = result.logits
    return torch.diff(counts, dim=0, prepend=torch.zeros_like(counts[:1])), result
