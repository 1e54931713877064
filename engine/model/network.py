"""A feed-forward SpikingGamma network: every layer over one step (:meth:`Network.step`, the
reference) or over a chunk of steps at once (:meth:`Network.forward_chunk`, the fast path), both
from the one pass of engine.model.layer; state explicit and returned.

One step, layer l (input spikes → buckets → signal → sigma-delta spikes → next buckets):

    ŷ_l(t)      = gamma_step(drive, ŷ_l(t−1), A_l, b_l)      input layer, drive = h · s_in(t)
                                                              (through a synapse: engine.model.synapse)
    x_l, y_l    = neuron_signal(ŷ_l(t), W_l, b_l), ReLU(x_l)
    s_l, ϑ_l, ê = encoder_step(y_l, ..., A_{l+1,00}, b_{l+1,0})   s_l: spike counts
    ŷ_{l+1}(t)  = with_first(ê(t) [straight-through to y_l], ŷ_{l+1}(t−1), A_{l+1}, b_{l+1})

(A, b): the step of the bucket cascade, ``cfg.discretisation`` (engine.model.buckets).

The straight-through estimate is the only non-exact derivative: forward ŷ^0 = ê, backward
∂ŷ^0/∂y = 1. With ``coding="rate"`` the receivers see y itself (ŷ^0 = y).
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Callable, NamedTuple

import torch
from torch import nn
from torch.utils.hooks import RemovableHandle

from ..checkpoint import load_network, save_network
from ..config import NetworkConfig
from ..units import alpha_from_tau
from .buckets import BucketStep
from .encoder import EncoderState, init_encoder_state
from .layer import ChunkKit, GammaLayer, LayerState, LayerStep, StepKit, layer_pass


def hold_gain(dt_ms: float, tau_ms: float, discretisation: str) -> float:
    """b for a single exponential with time constant τ: (1 − e^{−dt/τ})·τ/dt ("exact"), 1 ("paper")."""
    if discretisation == "paper":
        return 1.0
    return (1.0 - alpha_from_tau(dt_ms, tau_ms)) * tau_ms / dt_ms


class NetworkState(NamedTuple):
    layers: tuple[LayerState, ...]
    input_encoder: EncoderState | None  # analog inputs only


class StepOutput(NamedTuple):
    layers: tuple[LayerStep, ...]
    input_spikes: torch.Tensor  # [B, N_in] (the encoded spikes for analog inputs)


class ChunkOutput(NamedTuple):
    """What a chunk computed: per layer a :class:`LayerStep` whose tensors carry a leading time
    axis [C, ...] (w_eff: one [N_out, N_in, K] for the chunk), and the input spikes [C, B, N_in]."""

    layers: tuple[LayerStep, ...]
    input_spikes: torch.Tensor
    views: tuple | None = None  # per layer (x views, y views): one [B, N] view per step

    def step(self, t: int) -> StepOutput:
        """Step t of the chunk as :meth:`Network.step`'s :class:`StepOutput`."""
        layers = []
        for l, s in enumerate(self.layers):
            x, y = (s.x[t], s.y[t]) if self.views is None else (v[t] for v in self.views[l])
            layers.append(LayerStep(s.buckets[t], x, y, s.spikes[t], s.threshold[t],
                                    s.estimate[t], s.w_eff))
        return StepOutput(tuple(layers), self.input_spikes[t])


class Network(nn.Module):
    """A feed-forward SpikingGamma network built from a :class:`NetworkConfig`.

    Example:
        >>> net = Network(NetworkConfig(sizes=(3, 4, 2)), seed=0)
        >>> state = net.init_state(batch_size=1)
        >>> out, state = net.step(torch.zeros(1, 3), state)
        >>> out.layers[-1].spikes.shape
        torch.Size([1, 2])
    """

    def __init__(self, cfg: NetworkConfig, seed: int = 0):
        super().__init__()
        if not isinstance(cfg, NetworkConfig):
            raise ValueError(f"cfg must be a NetworkConfig (got {type(cfg).__name__})")
        self.cfg = cfg
        gen = torch.Generator().manual_seed(int(seed))
        self.layers = nn.ModuleList(GammaLayer(spec, cfg, gen) for spec in cfg.layers)
        self._step_hooks: OrderedDict[int, Callable] = OrderedDict()
        self._grad_hooks: OrderedDict[int, Callable] = OrderedDict()
        self.to(torch.device(cfg.device))

    # ----------------------------------------------------------------- configuration
    @property
    def dt_ms(self) -> float:
        return self.cfg.dt_ms

    LIVE_FIELDS = ("dt_ms", "tau_ms", "threshold", "adaptive_threshold", "adaptation_ms",
                   "adaptation_gain", "coding", "input_height", "input_threshold", "input_synapse_ms")

    def reconfigure(self, **changes) -> None:
        """Change settings that keep every parameter's shape, on a live network (validated).

        ``tau_ms`` overwrites the layers' time constants (learned ones included); the others
        take effect from the next step. Shape-changing fields (sizes, n_buckets, ...) raise.
        """
        bad = sorted(set(changes) - set(self.LIVE_FIELDS))
        if bad:
            raise ValueError(f"{bad} cannot change on a live network (build a new one); "
                             f"live fields: {', '.join(self.LIVE_FIELDS)}")
        cfg = self.cfg.replace(**changes)
        if "tau_ms" in changes:
            with torch.no_grad():
                for layer, spec in zip(self.layers, cfg.layers):
                    layer.tau_ms.copy_(torch.tensor(spec.tau_ms, dtype=layer.tau_ms.dtype))
        self.cfg = cfg

    def set_dt(self, dt_ms: float) -> None:
        """Simulate at a new time step from now on; all parameters are in ms and stay valid."""
        self.reconfigure(dt_ms=dt_ms)

    def copy_at_dt(self, dt_ms: float) -> "Network":
        """An independent copy of this network (same parameters, no taps) that simulates at
        ``dt_ms``: the trained network, run at another resolution."""
        import copy
        hooks, grad_hooks = self._step_hooks, self._grad_hooks
        self._step_hooks, self._grad_hooks = OrderedDict(), OrderedDict()
        try:
            twin = copy.deepcopy(self)
        finally:
            self._step_hooks, self._grad_hooks = hooks, grad_hooks
        twin.set_dt(dt_ms)
        return twin

    @property
    def device(self) -> torch.device:
        return self.layers[0].weight.device

    @property
    def dtype(self) -> torch.dtype:
        return self.layers[0].weight.dtype

    def init_state(self, batch_size: int) -> NetworkState:
        """All buckets and estimates zero (ŷ(0) = 0)."""
        kw = dict(dtype=self.dtype, device=self.device)
        layers = tuple(
            LayerState(torch.zeros(batch_size, s.n_in, s.n_buckets, **kw),
                       init_encoder_state(batch_size, s.n_out, **kw))
            for s in self.cfg.layers)
        inp = (init_encoder_state(batch_size, self.cfg.sizes[0], **kw)
               if self.cfg.input_encoding == "analog" else None)
        return NetworkState(layers, inp)

    # ----------------------------------------------------------------- one step, one chunk
    def step_maps(self) -> tuple[list[BucketStep], dict]:
        """The bucket map of every layer's input at this dt, and the encoders' adaptive-threshold
        arguments (empty without it)."""
        cfg, dt = self.cfg, self.cfg.dt_ms
        maps = [layer.bucket_step(dt, cfg.discretisation) for layer in self.layers]
        adapt = {}
        if cfg.adaptive_threshold:
            adapt = dict(alpha_theta=alpha_from_tau(dt, cfg.adaptation_ms), gain=cfg.adaptation_gain,
                         theta_gain0=hold_gain(dt, cfg.adaptation_ms, cfg.discretisation))
        return maps, adapt

    def step(self, input_t: torch.Tensor, state: NetworkState,
             drive_t: torch.Tensor | None = None) -> tuple[StepOutput, NetworkState]:
        """Advance every layer by one step of ``dt_ms`` (the reference form).

        ``drive_t``: what event inputs add to the input buckets this step, when not ``input_t``
        itself (the input synapse, engine.model.synapse: engine.run.simulate.run passes it).

        Shape: input_t [B, N_in] (event counts, or signals for analog input) → per layer
        spikes/signals [B, N_l].
        """
        steps, s_in, layers, input_encoder = layer_pass(self, StepKit(), input_t, state, drive_t)
        return StepOutput(steps, s_in), NetworkState(layers, input_encoder)

    def forward_chunk(self, inputs: torch.Tensor, state: NetworkState,
                      per_step_views: bool = False, drive: torch.Tensor | None = None
                      ) -> tuple["ChunkOutput", NetworkState]:
        """Advance every layer over a chunk of steps at once, weights fixed (the time-parallel
        form of :meth:`step`: same pass, :class:`ChunkKit`; equal to float tolerance, tested).

        Args:
            inputs: [C, B, n_in] event counts (or signals for analog input).
            state: the state before the chunk.
            per_step_views: give x and y of each step as separate views (gradient taps hook them).
            drive: [C, B, n_in] what event inputs add to the input buckets, when not ``inputs``.

        Returns:
            (chunk output, state after the chunk).
        """
        maps, _ = self.step_maps()
        kit = ChunkKit(*inputs.shape[:2], per_step_views,
                       exact_graph=any(m.transition.requires_grad or m.drive.requires_grad
                                       for m in maps))
        steps, s_in, layers, input_encoder = layer_pass(self, kit, inputs, state, drive)
        views = tuple(map(tuple, kit.views)) if per_step_views else None
        return ChunkOutput(steps, s_in, views), NetworkState(layers, input_encoder)

    # ----------------------------------------------------------------- taps
    def register_step_hook(self, hook: Callable[[int, StepOutput], None]) -> RemovableHandle:
        """Call ``hook(t, step_output)`` after every simulated step; observers must not write."""
        handle = RemovableHandle(self._step_hooks)
        self._step_hooks[handle.id] = hook
        return handle

    @property
    def has_step_hooks(self) -> bool:
        return bool(self._step_hooks)

    def call_step_hooks(self, t: int, out: StepOutput) -> None:
        """Call the step hooks with step ``t``'s output (engine.run.simulate.run does, after
        each step or, for a chunk, for each of its steps)."""
        for hook in list(self._step_hooks.values()):
            hook(t, out)

    def register_grad_hook(self, hook: Callable[[int, dict], None]) -> RemovableHandle:
        """Call ``hook(t, {param name: per-step gradient contribution})`` while learning."""
        handle = RemovableHandle(self._grad_hooks)
        self._grad_hooks[handle.id] = hook
        return handle

    @property
    def has_grad_hooks(self) -> bool:
        return bool(self._grad_hooks)

    def call_grad_hooks(self, t: int, grads: dict) -> None:
        """Call the gradient hooks with step ``t``'s per-step gradient contributions (the
        learner does, in engine.learn.learner)."""
        for hook in list(self._grad_hooks.values()):
            hook(t, grads)

    # ----------------------------------------------------------------- persistence
    def save(self, path) -> None:
        """State dict plus config, loadable with :meth:`load`; written atomically."""
        save_network(self, path)

    @classmethod
    def load(cls, path, map_location="cpu") -> "Network":
        """A network from :meth:`save`'s file; ValueError naming the file if damaged or not ours."""
        return load_network(cls, path, map_location)
