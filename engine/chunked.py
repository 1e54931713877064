"""Time-parallel execution: a chunk of steps at once, layer by layer, weights fixed in the chunk.

Within a chunk everything but the sigma-delta encoder is linear in time (MODEL.md §1, §4.1), so
layer l advances as

    ŷ_l(t), all t        = the bucket filter of its input (engine.chunk_filters: the BucketStep
                           map A, b of engine.buckets, applied block by block)
    x_l, y_l, all t      = neuron_signal(ŷ_l, W_l) (+ the straight-through term), ReLU: one
                           matrix product for the chunk
    s_l, ϑ_l, ê_l        = encoder_step over the chunk (engine.chunk_encoder)

and the next layer's buckets follow from ê_l. The graph of each step reaches back through that
step only, as the per-step path (engine.network.step under engine.simulate.run) builds it:
past buckets are constants, ŷ^0_{l+1}(t) = ê_l(t) passes ∂/∂y_l(t) = 1 (straight-through) and
bucket k ≥ 1 passes b_k/b_0 (with_first). So the ``spatial`` and ``traces`` gradients of a whole
chunk come from one backward pass (engine.chunk_learning), and memory is O(chunk), not O(T).
With a learnable τ the one-step maps themselves (gamma_step, with_first, batched over the chunk)
stay in the graph, for τ's one-step gradient. tests/test_engine_chunked.py checks spikes, taps
and gradients against the per-step path.
"""
from __future__ import annotations

from typing import NamedTuple

import torch

from .buckets import gamma_step, with_first
from .chunk_encoder import encode_chunk
from .chunk_filters import filter_drive, filter_first
from .network import LayerState, LayerStep, Network, NetworkState, StepOutput, straight_through
from .neuron import effective_weight, neuron_signal

DEFAULT_CHUNK_STEPS = 256


class ChunkOutput(NamedTuple):
    """What a chunk computed: per layer a :class:`LayerStep` whose tensors carry a leading time
    axis [C, ...] (w_eff: one [N_out, N_in, K] for the chunk), and the input spikes [C, B, N_in]."""

    layers: tuple[LayerStep, ...]
    input_spikes: torch.Tensor
    views: tuple | None = None  # per layer (x views, y views): one [B, N] view per step

    def step(self, t: int) -> StepOutput:
        """Step t of the chunk as the per-step path's :class:`StepOutput`."""
        layers = []
        for l, s in enumerate(self.layers):
            x, y = (s.x[t], s.y[t]) if self.views is None else (v[t] for v in self.views[l])
            layers.append(LayerStep(s.buckets[t], x, y, s.spikes[t], s.threshold[t],
                                    s.estimate[t], s.w_eff))
        return StepOutput(tuple(layers), self.input_spikes[t])


def _split_steps(x: torch.Tensor, split: bool) -> tuple[torch.Tensor, list | None]:
    """With ``split``, x rebuilt from per-step views, so that hooks on the views see ∂L/∂x(t)."""
    if not split:
        return x, None
    views = list(x.unbind(0))
    return torch.stack(views), views


def forward_chunk(net: Network, inputs: torch.Tensor, state: NetworkState,
                  per_step_views: bool = False, drive: torch.Tensor | None = None
                  ) -> tuple[ChunkOutput, NetworkState]:
    """Advance ``net`` over a chunk of steps, weights fixed; the graph is per step, as in run().

    Args:
        inputs: [C, B, n_in] event counts (or signals for analog input).
        drive: [C, B, n_in] what event inputs add to the input buckets, when not ``inputs``
            (the input synapse, engine.input_synapse).
        state: the state before the chunk.
        per_step_views: give x and y of each step as separate views (gradient taps hook them).

    Returns:
        (chunk output, state after the chunk).
    """
    cfg = net.cfg
    maps, adapt = net.step_maps()
    # with a learnable τ each step's graph goes through the maps (the reference one-step maps,
    # batched over time); else the filter's values are the buckets, and only the
    # straight-through path from y_{l−1} enters the graph (``delta``, value 0: x gets
    # Σ_k W_eff^k c_k · delta, c = (1, b_k/b_0) the with_first gains of bucket 0)
    exact_graph = any(m.transition.requires_grad or m.drive.requires_grad for m in maps)
    start, delta = state.layers[0].buckets, None
    if state.input_encoder is not None:
        s_in, _, est_in, input_encoder = encode_chunk(
            inputs, state.input_encoder, maps[0].alpha0, cfg.input_threshold,
            gain0=maps[0].gain0, max_spikes=cfg.max_spikes_per_step)
        est_in = est_in.to(inputs.device)
        rows = filter_first(est_in, start, maps[0])  # [C + 1, B, N_in, K]
        buckets = with_first(est_in, rows[:-1], maps[0]) if exact_graph else rows[1:]
    else:
        s_in, input_encoder = inputs, None
        drive = cfg.input_height * (inputs if drive is None else drive)  # [C, B, N_in]
        rows = filter_drive(drive, start, maps[0])
        buckets = gamma_step(drive, rows[:-1], maps[0]) if exact_graph else rows[1:]
    steps, new_layers, views = [], [], []
    n_layers = len(net.layers)
    n_steps, batch = inputs.shape[:2]
    for l, layer in enumerate(net.layers):
        last = l == n_layers - 1
        w_eff = effective_weight(layer.weight, layer.bucket_weight)
        x = neuron_signal(buckets.flatten(0, 1), w_eff, layer.bias)  # [C·B, N_out]
        if delta is not None:
            gains = torch.cat([maps[l].drive.new_ones(1), maps[l].carry.detach()])  # [K]
            x = x + delta.flatten(0, 1) @ (w_eff * gains).sum(-1).T
        x, x_views = _split_steps(x.unflatten(0, (n_steps, batch)), per_step_views)
        enc_prev = state.layers[l].encoder
        if last and cfg.readout == "linear":
            y, y_views = x, x_views
            spikes = torch.zeros_like(x.detach())
            threshold = (enc_prev.theta_dyn + cfg.layers[l].threshold).expand_as(spikes)
            encoder, estimate = enc_prev, x.detach()
        else:
            y, y_views = _split_steps(torch.relu(x), per_step_views)
            receiver = maps[l + 1] if not last else maps[l]
            spikes, threshold, estimate, encoder = encode_chunk(
                y, enc_prev, receiver.alpha0, cfg.layers[l].threshold, gain0=receiver.gain0,
                max_spikes=cfg.max_spikes_per_step, **adapt)
            spikes, threshold, estimate = (v.to(x.device) for v in (spikes, threshold, estimate))
            encoder = type(encoder)(*(v.to(x.device) for v in encoder))
        steps.append(LayerStep(buckets, x, y, spikes, threshold, estimate, w_eff))
        views.append((x_views, y_views))
        new_layers.append(LayerState(buckets[-1], encoder))
        if not last:
            start = state.layers[l + 1].buckets
            values = y.detach() if cfg.coding == "rate" else estimate
            rows = filter_first(values, start, maps[l + 1])  # [C + 1, B, N_l, K_{l+1}]
            first = y if cfg.coding == "rate" else straight_through(estimate, y)
            if exact_graph:
                buckets, delta = with_first(first, rows[:-1], maps[l + 1]), None
            else:
                buckets, delta = rows[1:], first - values
    out = ChunkOutput(tuple(steps), s_in, tuple(views) if per_step_views else None)
    return out, NetworkState(tuple(new_layers), input_encoder)


def run_chunks(net: Network, inputs: torch.Tensor, state: NetworkState, learner, targets,
               per_step_targets: bool, chunk_steps: int, record,
               drive: torch.Tensor | None = None) -> NetworkState:
    """The chunk loop of :func:`engine.simulate.run` (``chunk_steps`` given): forward a chunk,
    call the step hooks (taps) for each of its steps, learn from it, ``record(out, n)`` it.
    A learner's updates fall between chunks: a chunk ends where ``learner.update_every`` asks
    for one. ``drive``: as in :func:`forward_chunk`, for the whole run. Returns the state after
    the last chunk."""
    from .chunk_learning import learn_chunk
    from .simulate import detach_state

    n_steps = inputs.shape[0]
    views = learner is not None and bool(net._step_hooks)
    t0 = 0
    while t0 < n_steps:
        size = min(chunk_steps, n_steps - t0)
        if learner is not None and learner.update_every is not None:
            size = min(size, learner.update_every - learner.steps_since_update)
        out, state = forward_chunk(net, inputs[t0:t0 + size], detach_state(state),
                                   per_step_views=views,
                                   drive=None if drive is None else drive[t0:t0 + size])
        for t in range(size) if net._step_hooks else ():
            net._call_step_hooks(t0 + t, out.step(t))
        if learner is not None:
            learn_chunk(learner, t0, out, targets[t0:t0 + size] if per_step_targets else targets)
        record(out, size)
        t0 += size
    return state
