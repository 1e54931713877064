"""The peer library: the same LIF network built from snnTorch (``snn.Leaky``), trained by BPTT.

Optional benchmark dependency, imported lazily: :func:`available` says whether it is there.
Same sizes, time constants (β = exp(−dt/τ)), threshold, fast-sigmoid surrogate, readout (a
non-resetting leaky integrator) and loss as :mod:`engine.baselines.lif`.
"""
from __future__ import annotations

import torch
from torch import nn

from ..learn.losses import step_loss, step_weights
from ..units import alpha_from_tau


def available() -> bool:
    try:
        import snntorch  # noqa: F401
    except ImportError:
        return False
    return True


class SnnTorchNet(nn.Module):
    """Linear → snn.Leaky per hidden layer, Linear → non-resetting snn.Leaky readout."""

    def __init__(self, sizes, dt_ms=1.0, tau_mem_ms=10.0, tau_out_ms=20.0, threshold=1.0,
                 slope=25.0, seed=0):
        super().__init__()
        import snntorch as snn
        from snntorch import surrogate
        torch.manual_seed(seed)
        self.sizes, self.dt_ms = tuple(sizes), dt_ms
        beta = alpha_from_tau(dt_ms, tau_mem_ms)
        beta_out = alpha_from_tau(dt_ms, tau_out_ms)
        grad = surrogate.fast_sigmoid(slope=slope)
        self.fcs = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        self.lifs = nn.ModuleList(
            snn.Leaky(beta=beta, threshold=threshold, spike_grad=grad, reset_mechanism="subtract")
            for _ in sizes[1:-1])
        self.readout = snn.Leaky(beta=beta_out, threshold=threshold, spike_grad=grad,
                                 reset_mechanism="none")

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """Shape: inputs [T, B, n_in] → membrane logits [T, B, n_out]."""
        mems = [lif.init_leaky() for lif in self.lifs]
        mem_out = self.readout.init_leaky()
        out = []
        for x_t in inputs.unbind(0):
            s = x_t
            for l, (fc, lif) in enumerate(zip(self.fcs[:-1], self.lifs)):
                s, mems[l] = lif(fc(s), mems[l])
            _, mem_out = self.readout(self.fcs[-1](s), mem_out)
            out.append(mem_out)
        return torch.stack(out)


def train_sequence(net: SnnTorchNet, optimizer, inputs, labels, warmup_ms=0.0) -> float:
    """One BPTT update on one batch (per-step CE × w_t, as the other models). Returns the loss."""
    optimizer.zero_grad(set_to_none=True)
    logits = net(inputs)
    weights = step_weights(inputs.shape[0], net.dt_ms, warmup_ms)
    per_step = labels.dim() >= 2
    loss = sum(step_loss("ce", lg, labels[t] if per_step else labels) * w
               for t, (lg, w) in enumerate(zip(logits.unbind(0), weights)) if w > 0)
    loss.backward()
    optimizer.step()
    return float(loss.detach())
