"""What the Trainer's plots show, taken from an Experiment after an epoch: plain numpy, bounded.

A snapshot is a dict of numpy arrays and floats, built in the training thread and read by the
session's periodic callback; it never holds torch tensors or Panel objects. Rasters are of the
last epoch and the first sequence of the batch only, at most ``MAX_POINTS`` spikes each; images
(gradient tap, weights) are decimated to at most ``MAX_BINS`` time bins.
"""
from __future__ import annotations

import numpy as np
import torch

from engine.model.buckets import bucket_delays_ms, gamma_kernels
from engine.model.neuron import kernel_delay_ms

MAX_POINTS = 20_000
MAX_BINS = 300
KERNEL_MS_PER_TAU = 8.0  # kernel plots span 8 τ per bucket order, enough for K ≤ 8


def raster(spikes: torch.Tensor, dt_ms: float, max_points: int = MAX_POINTS) -> dict:
    """Spike times (ms) and neuron indices of a [T, N] spike tensor, at most max_points."""
    t_idx, n_idx = torch.nonzero(spikes > 0, as_tuple=True)
    if t_idx.numel() > max_points:
        keep = torch.linspace(0, t_idx.numel() - 1, max_points).long()
        t_idx, n_idx = t_idx[keep], n_idx[keep]
    return {"time_ms": (t_idx.double() * dt_ms).numpy(), "neuron": n_idx.numpy()}


def decimate_time(values: torch.Tensor, max_bins: int = MAX_BINS) -> tuple[np.ndarray, int]:
    """Mean over blocks of time steps so that [T, N] has at most max_bins rows; returns (array, block)."""
    n_steps = values.shape[0]
    block = max(1, int(np.ceil(n_steps / max_bins)))
    n_full = (n_steps // block) * block
    v = values[:n_full].reshape(n_full // block, block, *values.shape[1:]).mean(1)
    return v.double().numpy(), block


def learned_kernels(layer, dt_ms: float) -> dict:
    """Each output neuron's delay kernel Σ_k v^k · h_k(t) and effective delay (ms).

    Per-synapse bucket weights are averaged over synapses, weighted by |w_ij|.
    """
    tau = layer.tau_ms.detach().double()  # [K]
    duration = KERNEL_MS_PER_TAU * float(tau.max()) + float(tau.sum())
    h = gamma_kernels(dt_ms, tau, duration)  # [T, K], one spike of height 1
    v = layer.bucket_weight.detach().double()
    if v.dim() == 3:  # [N_out, N_in, K] → |w|-weighted mean over inputs
        w = layer.weight.detach().double().abs().unsqueeze(-1)
        v = (w * v).sum(1) / w.sum(1).clamp_min(1e-12)
    kernels = h @ v.T  # [T, N_out]; values (not per-step sums) are dt-invariant
    delays = kernel_delay_ms(v, bucket_delays_ms(tau))
    return {"time_ms": np.arange(h.shape[0]) * dt_ms, "kernels": kernels.numpy(),
            "delay_ms": delays.numpy()}


def take(ex, grad_tap=None, history_limit: int = 500) -> dict:
    """Snapshot of ``ex`` (an :class:`engine.experiment.Experiment`) after its last epoch."""
    res, (inputs, targets) = ex.last_result, ex.last_batch
    dt = res.dt_ms  # the epoch's dt (an Experiment may draw it per epoch)
    n_steps = inputs.shape[0]
    out_layer = len(ex.net.layers) - 1
    snap = {"dt_ms": dt, "epoch": ex.epoch_index, "duration_ms": n_steps * dt,
            "score_name": ex.task.score_name,
            "history": list(ex.history[-history_limit:]),
            "input_raster": raster(res.input_spikes[:, 0], dt),
            "hidden_raster": raster(res.spikes[0][:, 0], dt),
            "output_raster": raster(res.spikes[out_layer][:, 0], dt),
            "n_inputs": inputs.shape[2], "n_hidden": res.spikes[0].shape[2],
            "n_outputs": res.spikes[out_layer].shape[2]}
    sig, block = decimate_time(res.preacts[out_layer][:, 0])  # pre-ReLU x: what the loss sees
    snap["signal"] = {"time_ms": np.arange(sig.shape[0]) * block * dt, "output": sig}
    if ex.task.loss != "ce":  # a target signal (mse, mse_hinge)
        tgt, _ = decimate_time(targets[:, 0])
        snap["signal"]["target"] = tgt
        snap["target_raster"] = raster(ex.task.target_spikes(dt), dt)
    else:
        snap["signal"]["label"] = int(targets[0] if targets.dim() == 1 else targets[-1, 0])
        snap["target_raster"] = {"time_ms": np.zeros(0), "neuron": np.zeros(0, dtype=int)}
    snap["kernels"] = learned_kernels(ex.net.layers[out_layer], dt)
    snap["weights"] = ex.net.layers[0].weight.detach().double().numpy().copy()  # [H, N_in]
    counts = [int(c.sum()) for c in res.spike_counts]
    snap["spike_counts"] = counts
    snap["rate_hz"] = [res.spikes_per_neuron_per_s(l, batch_size=inputs.shape[1])
                       for l in range(len(counts))]
    if grad_tap is not None and "layers.0.preact.grad" in grad_tap:
        g = grad_tap["layers.0.preact.grad"][:, 0]  # [T_kept, H]
        steps = [s for _, s in grad_tap.steps("layers.0.preact.grad")]
        gd, gblock = decimate_time(g)
        snap["grad"] = {"time_ms": np.asarray(steps[::gblock][:gd.shape[0]], dtype=float) * dt,
                        "values": gd}
    return snap
