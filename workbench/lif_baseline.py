"""A small LIF network trained with BPTT and surrogate gradients: the dt-dependent baseline.

Self-contained on purpose (the benchmark baselines live in engine/baselines/). Time constants are
in ms; trained at one dt, then simulated at others with the same ms constants, its spike trains
change with dt, unlike SpikingGamma's.

    v ← β·v + (1−β)·I(t) − s(t−1)·ϑ,   β = exp(−dt/τ_mem),   s = H(v − ϑ)  (fast-sigmoid surrogate)
"""
from __future__ import annotations

import math

import torch


class _Spike(torch.autograd.Function):
    @staticmethod
    def forward(ctx, v):
        ctx.save_for_backward(v)
        return (v > 0).to(v.dtype)

    @staticmethod
    def backward(ctx, grad):
        (v,) = ctx.saved_tensors
        return grad / (1 + 10 * v.abs()) ** 2


class LIFNet(torch.nn.Module):
    """Input [T, B, n_in] → hidden LIF → output LIF; returns (output spikes, output v, hidden spikes)."""

    def __init__(self, n_in: int, n_hidden: int, n_out: int, tau_mem_ms: float = 10.0,
                 threshold: float = 1.0, seed: int = 0):
        super().__init__()
        gen = torch.Generator().manual_seed(seed)
        self.w1 = torch.nn.Parameter(torch.randn(n_in, n_hidden, generator=gen) * 8 / math.sqrt(n_in))
        self.w2 = torch.nn.Parameter(torch.randn(n_hidden, n_out, generator=gen) * 2 / math.sqrt(n_hidden))
        self.tau_mem_ms, self.threshold = tau_mem_ms, threshold

    def forward(self, inputs: torch.Tensor, dt_ms: float):
        beta = math.exp(-dt_ms / self.tau_mem_ms)
        scale = self.tau_mem_ms / dt_ms  # an input spike moves v by the same amount at any dt
        b = inputs.shape[1]
        v1 = torch.zeros(b, self.w1.shape[1]); v2 = torch.zeros(b, self.w2.shape[1])
        s1 = torch.zeros_like(v1); s2 = torch.zeros_like(v2)
        out_s, out_v, hid = [], [], []
        for x in inputs.unbind(0):
            v1 = beta * v1 + (1 - beta) * scale * (x @ self.w1) - s1 * self.threshold
            s1 = _Spike.apply(v1 - self.threshold)
            v2 = beta * v2 + (1 - beta) * scale * (s1 @ self.w2) - s2 * self.threshold
            s2 = _Spike.apply(v2 - self.threshold)
            out_s.append(s2); out_v.append(v2); hid.append(s1)
        return torch.stack(out_s), torch.stack(out_v), torch.stack(hid)


def train_lif(task, dt_ms: float = 1.0, epochs: int = 60, lr: float = 1e-2, seed: int = 0) -> LIFNet:
    """BPTT on a pattern task: van-Rossum-like loss between filtered output and target spikes."""
    torch.manual_seed(seed)
    net = LIFNet(task.n_inputs, task.n_hidden, task.n_outputs, seed=seed)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    from engine.tasks.spiketrains import bin_times
    inputs = bin_times(task.input_times(), dt_ms, task.duration_ms).unsqueeze(1)
    target = bin_times(task.target_times(), dt_ms, task.duration_ms).unsqueeze(1)
    for _ in range(epochs):
        spikes, _, _ = net(inputs, dt_ms)
        loss = ((_filter(spikes, dt_ms) - _filter(target, dt_ms)) ** 2).mean()
        opt.zero_grad(); loss.backward(); opt.step()
    return net


def _filter(spikes: torch.Tensor, dt_ms: float, tau_ms: float = 5.0) -> torch.Tensor:
    alpha, level, out = math.exp(-dt_ms / tau_ms), torch.zeros_like(spikes[0]), []
    for s in spikes.unbind(0):
        level = alpha * level + s
        out.append(level)
    return torch.stack(out)
