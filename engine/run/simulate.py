"""The engine's two loops over time: step by step (the reference) and chunk by chunk (the fast
path, the default). Everything else is one step, or one chunk, of the model (engine.model).

Both loops call the network's step hooks (taps) for every step and hand each step, or each
chunk, to the learner (engine.learn.learner.Learner.observe / observe_chunk).
"""
from __future__ import annotations

from typing import NamedTuple

import torch

from ..model.network import Network, NetworkState
from ..model.synapse import synapse_inputs

#: steps computed at a time by the fast path (weights fixed within a chunk)
DEFAULT_CHUNK_STEPS = 256


class SimResult(NamedTuple):
    """Per-layer recordings of a run, time-major.

    spikes, signals (y) and preacts (x): one [T, B, N_l] tensor per layer (empty tuples when not
    kept); spike_counts: one [N_l] tensor per layer (summed over time and batch); loss: the summed
    per-step loss of a learning run (0.0 otherwise); state: the final :class:`NetworkState`;
    input_events: the input spikes (events, or the encoded spikes of analog input) summed over
    time, batch and inputs; n_steps, batch_size: the run's T and B.
    """

    spikes: tuple[torch.Tensor, ...]
    signals: tuple[torch.Tensor, ...]
    preacts: tuple[torch.Tensor, ...]
    input_spikes: torch.Tensor | None
    spike_counts: tuple[torch.Tensor, ...]
    loss: float
    state: NetworkState
    dt_ms: float
    input_events: float = 0.0
    n_steps: int = 0
    batch_size: int = 1

    @property
    def duration_ms(self) -> float:
        return self.n_steps * self.dt_ms

    def spikes_per_neuron_per_s(self, layer: int | None = None, batch_size: int | None = None) -> float:
        """Mean rate (Hz) of one layer, or of all spiking layers together when ``layer`` is None
        (per sample: ``batch_size`` defaults to the run's)."""
        counts = self.spike_counts if layer is None else (self.spike_counts[layer],)
        total = sum(float(c.sum()) for c in counts)
        neurons = sum(c.numel() for c in counts)
        seconds = self.n_steps * self.dt_ms / 1000.0 * (batch_size or self.batch_size)
        return total / max(neurons, 1) / seconds if seconds > 0 else 0.0

    def synaptic_ops_per_sample(self) -> float:
        """Synaptic operations per sample (:func:`hardware_counts`)."""
        return self.hardware_counts()["synops_per_sample"]

    def hardware_counts(self) -> dict:
        """The figures every evaluation reports (:func:`hardware_counts`)."""
        return hardware_counts([c.numel() for c in self.spike_counts], self.input_events,
                               [float(c.sum()) for c in self.spike_counts[:-1]],
                               float(self.spike_counts[-1].sum()), self.n_steps, self.dt_ms,
                               self.batch_size)


def hardware_counts(layer_sizes, input_events: float, hidden_spikes, output_spikes: float,
                    n_steps: int, dt_ms: float, batch_size: int) -> dict:
    """What hardware pays for, for SpikingGamma and the LIF baselines alike: hidden and output
    spikes per neuron per second, and synaptic operations per sample, every spike reaching each
    neuron of the next layer:

        Σ (input events × N_1) + Σ_l (spikes of hidden layer l × N_{l+1})

    (the output layer's spikes leave the network). ``layer_sizes``: N_1 … N_L; ``hidden_spikes``:
    the total of each hidden layer; all totals over time and batch.
    """
    seconds = n_steps * dt_ms / 1000.0 * batch_size
    ops = input_events * layer_sizes[0] + sum(s * n for s, n in zip(hidden_spikes, layer_sizes[1:]))
    n_hidden = sum(layer_sizes[:-1])
    return {"hidden_spikes_per_neuron_per_s":
            sum(hidden_spikes) / max(n_hidden, 1) / seconds if seconds > 0 else 0.0,
            "output_spikes_per_neuron_per_s":
            output_spikes / layer_sizes[-1] / seconds if seconds > 0 else 0.0,
            "synops_per_sample": ops / batch_size}


def check_inputs(net: Network, inputs: torch.Tensor) -> None:
    """Raise ValueError unless inputs is a finite [T, B, n_in] tensor."""
    n_in = net.cfg.sizes[0]
    if not isinstance(inputs, torch.Tensor):
        raise ValueError(f"inputs must be a torch.Tensor of shape [T, B, {n_in}] (got {type(inputs).__name__})")
    if inputs.dim() != 3 or inputs.shape[2] != n_in or inputs.shape[0] < 1 or inputs.shape[1] < 1:
        raise ValueError(f"inputs must have shape [T, B, {n_in}] = [steps, batch, n_in] "
                         f"(got {list(inputs.shape)})")
    # in chunks of steps: a whole-tensor isfinite makes temporaries ~1.5x the input's size
    if not all(bool(torch.isfinite(chunk).all()) for chunk in inputs.split(256)):
        raise ValueError("inputs must be finite (found NaN or infinite values)")


def run(net: Network, inputs: torch.Tensor, *, state: NetworkState | None = None,
        learner=None, targets: torch.Tensor | None = None, keep: str = "all",
        chunk_steps: int | None = DEFAULT_CHUNK_STEPS) -> SimResult:
    """Simulate ``net`` over ``inputs``, optionally learning online at every step.

    Args:
        inputs: [T, B, n_in] spike counts (or signals for analog input).
        state: start state (zeros when None). The input synapse (``input_synapse_ms``) is not
            part of it: each run starts with an empty synapse.
        learner: an object with ``begin(n_steps, batch)``, ``prepare(state)``,
            ``observe(t, out, target_t)``, ``observe_chunk(t0, out, targets)``,
            ``steps_in_chunk(size)`` and ``finish()`` (engine.learn.learner.Learner).
        targets: [T, B, ...] per-step targets, or [B] one label per sequence.
        keep: ``"all"`` layers' spikes/signals, ``"output"`` layer only, or ``"none"``.
        chunk_steps: compute this many steps at a time (:meth:`Network.forward_chunk`, the fast
            path, the default); ``None``: step by step (:meth:`Network.step`), the reference.
            ``bptt`` and gradient hooks (per-step weight-gradient taps) always run step by step.
    """
    if chunk_steps is not None and (isinstance(chunk_steps, bool) or not isinstance(chunk_steps, int)
                                    or chunk_steps < 1):
        raise ValueError(f"chunk_steps must be an integer >= 1 or None (got {chunk_steps!r})")
    if net.has_grad_hooks or getattr(learner, "mode", "") == "bptt":
        chunk_steps = None
    check_inputs(net, inputs)
    if keep not in ("all", "output", "none"):
        raise ValueError(f"keep must be 'all', 'output' or 'none' (got {keep!r})")
    inputs = inputs.to(device=net.device, dtype=net.dtype)
    # what events add to the input buckets: through the input synapse (engine.model.synapse),
    # the counts themselves without one
    drive = synapse_inputs(inputs, net.dt_ms, net.cfg.input_synapse_ms)
    n_steps, batch = inputs.shape[:2]
    if state is None:
        state = net.init_state(batch)
    n_layers = len(net.layers)
    kept = range(n_layers) if keep == "all" else ([n_layers - 1] if keep == "output" else [])
    records = {l: ([], [], []) for l in kept}  # spikes, y, x per kept layer
    in_spikes = [] if keep == "all" else None
    counts = [torch.zeros(s.n_out, device=net.device, dtype=net.dtype) for s in net.cfg.layers]
    events = torch.zeros((), device=net.device, dtype=net.dtype)
    # [T, B, ...] targets are per step; [B] labels hold for the whole sequence
    per_step_targets = targets is not None and targets.dim() >= 2
    if per_step_targets and targets.shape[0] != n_steps:
        raise ValueError(f"targets must have shape [T={n_steps}, B, ...] or [B] (got {list(targets.shape)})")
    if learner is not None and targets is None:
        raise ValueError("targets are required for learning")
    if learner is not None:
        learner.begin(n_steps, batch)
    grad_ctx = torch.enable_grad() if learner is not None else torch.no_grad()

    def record(out, n: int | None) -> None:
        """Keep one step's outputs ([B, ...], n None) or a chunk's ([n, B, ...])."""
        events.add_(out.input_spikes.detach().sum())
        for l, layer_out in enumerate(out.layers):
            counts[l] += layer_out.spikes.detach().reshape(-1, counts[l].numel()).sum(0)
            if l in records:
                for store, value in zip(records[l], (layer_out.spikes, layer_out.y, layer_out.x)):
                    store.append(value.detach() if n else value.detach().unsqueeze(0))
        if in_spikes is not None:
            in_spikes.append(out.input_spikes.detach() if n else out.input_spikes.detach().unsqueeze(0))

    # decaying buckets and traces reach subnormal floats, which are ~100x slower on CPUs
    flush = torch.set_flush_denormal(True)
    try:
        with grad_ctx:
            if chunk_steps is not None:  # the fast path: a chunk of steps at a time
                state = _run_chunks(net, inputs, state, learner, targets, per_step_targets,
                                    chunk_steps, record, drive)
            for t in range(n_steps) if chunk_steps is None else ():  # index per step: unbind's
                if learner is not None:                               # T views grow memory with T
                    state = learner.prepare(state)
                out, state = net.step(inputs[t], state, drive[t])
                if net.has_step_hooks:
                    net.call_step_hooks(t, out)
                if learner is not None:
                    learner.observe(t, out, targets[t] if per_step_targets else targets)
                record(out, None)
        loss = learner.finish() if learner is not None else 0.0
    finally:
        if flush:
            torch.set_flush_denormal(False)
    stacked = [tuple(torch.cat(records[l][i]) for l in kept) for i in range(3)]  # [T, B, N_l]
    return SimResult(*stacked, torch.cat(in_spikes) if in_spikes is not None else None,
                     tuple(counts), float(loss), detach_state(state), net.dt_ms, float(events),
                     n_steps, batch)


def detach_state(state):
    """The same state (nested tuples / NamedTuples of tensors) cut from any autograd graph."""
    if isinstance(state, torch.Tensor):
        return state.detach()
    if isinstance(state, tuple):
        items = [detach_state(s) for s in state]
        return type(state)(*items) if hasattr(state, "_fields") else tuple(items)
    return state


def _run_chunks(net: Network, inputs: torch.Tensor, state: NetworkState, learner, targets,
                per_step_targets: bool, chunk_steps: int, record, drive: torch.Tensor
                ) -> NetworkState:
    """The chunk loop of :func:`run`: forward a chunk, call the step hooks (taps) for each of its
    steps, hand it to the learner, ``record(out, n)`` it. A learner's updates fall between
    chunks: a chunk ends where the learner asks for an update. Returns the state after the
    last chunk."""
    n_steps = inputs.shape[0]
    views = learner is not None and net.has_step_hooks
    t0 = 0
    while t0 < n_steps:
        size = min(chunk_steps, n_steps - t0)
        if learner is not None:
            size = learner.steps_in_chunk(size)
        out, state = net.forward_chunk(inputs[t0:t0 + size], detach_state(state),
                                       per_step_views=views, drive=drive[t0:t0 + size])
        for t in range(size) if net.has_step_hooks else ():
            net.call_step_hooks(t0 + t, out.step(t))
        if learner is not None:
            learner.observe_chunk(t0, out, targets[t0:t0 + size] if per_step_targets else targets)
        record(out, size)
        t0 += size
    return state


def simulate(net: Network, inputs: torch.Tensor, state: NetworkState | None = None,
             keep: str = "all", chunk_steps: int | None = DEFAULT_CHUNK_STEPS) -> SimResult:
    """Run ``net`` over ``inputs`` [T, B, n_in] without learning; see :func:`run`.

    Example:
        >>> net = Network(NetworkConfig(sizes=(2, 3, 1)))
        >>> simulate(net, torch.zeros(10, 1, 2)).spikes[-1].shape
        torch.Size([10, 1, 1])
    """
    return run(net, inputs, state=state, keep=keep, chunk_steps=chunk_steps)
