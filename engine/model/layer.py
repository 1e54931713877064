"""A SpikingGamma layer's tensors, and the one pass through the layers, for a step or a chunk.

:class:`GammaLayer` holds the learnable tensors only. :func:`layer_pass` is the data path of
MODEL.md, written once (input spikes → buckets → signal → sigma-delta spikes → next buckets):

    ŷ_0         = input buckets, driven by h · s_in (or the input synapse's drive)
    x_l, y_l    = neuron_signal(ŷ_l, W_l, b_l), ReLU(x_l)   (the linear readout: y = x, no spikes)
    s_l, ϑ_l, ê = the sigma-delta encoder of y_l, with the receivers' α_0, b_0
    ŷ_{l+1}     = the receivers' buckets with bucket 0 = ê [straight-through to y_l]

A *kit* supplies the stages' forms: :class:`StepKit` the one-step maps (gamma_step, with_first,
encoder_step: the reference), :class:`ChunkKit` their time-parallel forms over a chunk of steps
(filter_drive, filter_first, encode_chunk), whose tensors carry a leading time axis.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import nn

from ..config import LayerSpec, NetworkConfig
from .buckets import (BucketStep, bucket_step, filter_drive, filter_first, gamma_step,
                      with_first)
from .encoder import EncoderState, encode_chunk, encoder_step
from .neuron import effective_weight, neuron_signal


class GammaLayer(nn.Module):
    """Weights w [N_out, N_in], bucket weights v ([N_out, K] or [N_out, N_in, K]), bias b [N_out]
    and the time constants τ (ms) [K] of this layer's *input* buckets."""

    def __init__(self, spec: LayerSpec, cfg: NetworkConfig, generator: torch.Generator):
        super().__init__()
        self.spec = spec
        dtype, k = cfg.torch_dtype, spec.n_buckets
        std = spec.weight_gain / math.sqrt(spec.n_in)
        weight = torch.randn(spec.n_out, spec.n_in, generator=generator, dtype=torch.float64) * std
        self.weight = nn.Parameter(weight.to(dtype))
        shape = (spec.n_out, k) if cfg.bucket_weights == "neuron" else (spec.n_out, spec.n_in, k)
        if cfg.bucket_init == "uniform":
            v = torch.full(shape, 1.0 / k, dtype=dtype)
        else:
            v = torch.zeros(shape, dtype=dtype)
            v[..., 0] = 1.0
        self.bucket_weight = nn.Parameter(v)
        self.bias = nn.Parameter(torch.zeros(spec.n_out, dtype=dtype)) if cfg.bias else None
        tau = torch.tensor(spec.tau_ms, dtype=dtype)  # [K]
        if cfg.learn_tau:
            self.tau_ms = nn.Parameter(tau)
        else:
            self.register_buffer("tau_ms", tau)

    def bucket_step(self, dt_ms: float, discretisation: str) -> BucketStep:
        """The linear map of one step of this layer's input buckets (engine.model.buckets).

        Cached while τ is fixed (a learnable τ is differentiated through at every step)."""
        tau = self.tau_ms.clamp_min(1e-3)
        if self.tau_ms.requires_grad:
            return bucket_step(dt_ms, tau, discretisation)
        key = (dt_ms, discretisation, self.tau_ms._version, self.tau_ms.data_ptr(),
               self.tau_ms.device, self.tau_ms.dtype)
        cached = getattr(self, "_step_cache", None)
        if cached is None or cached[0] != key:
            cached = (key, bucket_step(dt_ms, tau, discretisation))
            self._step_cache = cached
        return cached[1]


class LayerState(NamedTuple):
    """State of layer l: its input buckets [B, N_in, K] and its output encoder ([B, N_out] each)."""

    buckets: torch.Tensor
    encoder: EncoderState


class LayerStep(NamedTuple):
    """What layer l computed at one step (shapes [B, N_in, K] for buckets, [B, N_out] else)."""

    buckets: torch.Tensor
    x: torch.Tensor
    y: torch.Tensor
    spikes: torch.Tensor
    threshold: torch.Tensor
    estimate: torch.Tensor
    w_eff: torch.Tensor  # [N_out, N_in, K], this step's use of the weights (for gradient taps)


class _StraightThrough(torch.autograd.Function):
    """Forward: the spike-built estimate. Backward: the identity to the signal y."""

    @staticmethod
    def forward(ctx, estimate, signal):
        return estimate.clone()

    @staticmethod
    def backward(ctx, grad):
        return None, grad


def straight_through(estimate: torch.Tensor, signal: torch.Tensor) -> torch.Tensor:
    """ŷ^0 with value ``estimate`` and derivative 1 with respect to ``signal``."""
    if not signal.requires_grad:
        return estimate
    return _StraightThrough.apply(estimate, signal)


# ---------------------------------------------------------------- the pass, and its two kits
class StepKit:
    """The stages over one step (the reference): tensors [B, ...]."""

    def drive(self, drive: torch.Tensor, prev: torch.Tensor, step: BucketStep):
        """Input buckets driven by ``drive`` [B, N]; (buckets [B, N, K], None)."""
        return gamma_step(drive, prev, step), None

    def receive(self, first: torch.Tensor, values: torch.Tensor, prev: torch.Tensor,
                step: BucketStep):
        """Buckets with bucket 0 = ``first`` (value ``values``); (buckets, None)."""
        return with_first(first, prev, step), None

    def signal(self, buckets, w_eff, bias, delta, step):
        return neuron_signal(buckets, w_eff, bias)  # [B, N_out]

    def activate(self, x: torch.Tensor, relu: bool) -> torch.Tensor:
        return torch.relu(x) if relu else x

    def encode(self, y, prev: EncoderState, receiver: BucketStep, threshold0: float,
               max_spikes, adapt: dict):
        spikes, threshold, state = encoder_step(y, prev, receiver.alpha0, threshold0,
                                                gain0=receiver.gain0, max_spikes=max_spikes,
                                                **adapt)
        return spikes, threshold, state.estimate, state

    def last(self, buckets: torch.Tensor) -> torch.Tensor:
        return buckets


class ChunkKit:
    """The stages over a chunk of ``n_steps`` steps at once, weights fixed: tensors [C, B, ...].

    The graph of each step reaches back through that step only, as :class:`StepKit` builds it:
    past buckets are constants, ŷ^0_{l+1}(t) = ê_l(t) passes ∂/∂y_l(t) = 1 (straight-through)
    and bucket k ≥ 1 passes b_k/b_0 (with_first). So the ``spatial`` and ``traces`` gradients of
    a whole chunk come from one backward pass (engine.learn), and memory is O(chunk). The filter
    gives the previous buckets of every step; with a learnable τ (``exact_graph``) each step's
    values are then built by the one-step maps themselves (batched over time), so that τ's
    one-step gradient flows; else the filter's values are the buckets, and only the
    straight-through path from y_{l−1} enters the graph: ``delta`` (value 0), to which x adds
    Σ_k W_eff^k c_k · delta, c = (1, b_k/b_0) the with_first gains of bucket 0.
    """

    def __init__(self, n_steps: int, batch: int, per_step_views: bool = False,
                 exact_graph: bool = False):
        self.n_steps, self.batch = n_steps, batch
        self.per_step_views, self.exact_graph = per_step_views, exact_graph
        self.views: list = []  # per layer (x views, y views) with per_step_views

    def drive(self, drive, prev, step):
        rows = filter_drive(drive, prev, step)  # [C + 1, B, N, K]
        return (gamma_step(drive, rows[:-1], step) if self.exact_graph else rows[1:]), None

    def receive(self, first, values, prev, step):
        rows = filter_first(values, prev, step)  # [C + 1, B, N, K]
        if self.exact_graph:
            return with_first(first, rows[:-1], step), None
        return rows[1:], (None if first is values else first - values)

    def signal(self, buckets, w_eff, bias, delta, step):
        x = neuron_signal(buckets.flatten(0, 1), w_eff, bias)  # [C·B, N_out]
        if delta is not None:
            gains = torch.cat([step.drive.new_ones(1), step.carry.detach()])  # [K]
            x = x + delta.flatten(0, 1) @ (w_eff * gains).sum(-1).T
        x, views = self._split(x.unflatten(0, (self.n_steps, self.batch)))  # [C, B, N_out]
        self.views.append([views, views])
        return x

    def activate(self, x, relu):
        if relu:
            x, self.views[-1][1] = self._split(torch.relu(x))
        return x

    def encode(self, y, prev, receiver, threshold0, max_spikes, adapt):
        spikes, threshold, estimate, state = encode_chunk(
            y, prev, receiver.alpha0, threshold0, gain0=receiver.gain0, max_spikes=max_spikes,
            **adapt)
        device = y.device
        return (spikes.to(device), threshold.to(device), estimate.to(device),
                type(state)(*(v.to(device) for v in state)))

    def last(self, buckets):
        return buckets[-1]

    def _split(self, x: torch.Tensor) -> tuple[torch.Tensor, list | None]:
        """With per-step views, x rebuilt from them, so that hooks on the views see ∂L/∂x(t)."""
        if not self.per_step_views:
            return x, None
        views = list(x.unbind(0))
        return torch.stack(views), views


def layer_pass(net, kit, inputs: torch.Tensor, state, drive: torch.Tensor | None = None):
    """Every layer of ``net`` over one step (:class:`StepKit`) or a chunk (:class:`ChunkKit`).

    Args:
        net: the :class:`engine.model.network.Network`.
        inputs: event counts (or signals, analog input) [B, n_in] or [C, B, n_in].
        state: the :class:`NetworkState` before.
        drive: what event inputs add to the input buckets, when not ``inputs`` (input synapse).

    Returns:
        (per layer :class:`LayerStep`, input spikes, per layer :class:`LayerState` after,
        the input encoder's state after or None).
    """
    cfg = net.cfg
    maps, adapt = net.step_maps()
    max_spikes = cfg.max_spikes_per_step
    delta = None
    if state.input_encoder is not None:
        s_in, _, est_in, input_encoder = kit.encode(inputs, state.input_encoder, maps[0],
                                                    cfg.input_threshold, max_spikes, {})
        buckets, _ = kit.receive(est_in, est_in, state.layers[0].buckets, maps[0])
    else:
        s_in, input_encoder = inputs, None
        drive = cfg.input_height * (inputs if drive is None else drive)
        buckets, _ = kit.drive(drive, state.layers[0].buckets, maps[0])
    steps, layers = [], []
    n_layers = len(net.layers)
    for l, layer in enumerate(net.layers):
        last = l == n_layers - 1
        w_eff = effective_weight(layer.weight, layer.bucket_weight)
        x = kit.signal(buckets, w_eff, layer.bias, delta, maps[l])
        enc_prev = state.layers[l].encoder
        threshold0 = cfg.layers[l].threshold
        if last and cfg.readout == "linear":
            y = kit.activate(x, relu=False)
            spikes = torch.zeros_like(x.detach())
            threshold = (enc_prev.theta_dyn + threshold0).expand_as(spikes)
            encoder, estimate = enc_prev, x.detach()
        else:
            y = kit.activate(x, relu=True)
            receiver = maps[l + 1] if not last else maps[l]
            spikes, threshold, estimate, encoder = kit.encode(y, enc_prev, receiver, threshold0,
                                                              max_spikes, adapt)
        steps.append(LayerStep(buckets, x, y, spikes, threshold, estimate, w_eff))
        layers.append(LayerState(kit.last(buckets), encoder))
        if not last:
            values = y.detach() if cfg.coding == "rate" else estimate
            first = y if cfg.coding == "rate" else straight_through(estimate, y)
            buckets, delta = kit.receive(first, values, state.layers[l + 1].buckets, maps[l + 1])
    return tuple(steps), s_in, tuple(layers), input_encoder
