"""A feed-forward SpikingGamma network: one step of every layer, state explicit and returned.

One step, layer l (input spikes → buckets → signal → sigma-delta spikes → next buckets):

    ŷ_l(t)      = gamma_step(drive, ŷ_l(t−1), A_l, b_l)      input layer, drive = h · s_in(t)
                                                              (through a synapse: engine.input_synapse)
    x_l, y_l    = neuron_signal(ŷ_l(t), W_l, b_l), ReLU(x_l)
    s_l, ϑ_l, ê = encoder_step(y_l, ..., A_{l+1,00}, b_{l+1,0})   s_l: spike counts
    ŷ_{l+1}(t)  = with_first(ê(t) [straight-through to y_l], ŷ_{l+1}(t−1), A_{l+1}, b_{l+1})

(A, b): the step of the bucket cascade, ``cfg.discretisation`` (engine.buckets).

The straight-through estimate is the only non-exact derivative: forward ŷ^0 = ê, backward
∂ŷ^0/∂y = 1. With ``coding="rate"`` the receivers see y itself (ŷ^0 = y).
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Callable, NamedTuple

import torch
from torch import nn
from torch.utils.hooks import RemovableHandle

from .buckets import BucketStep, gamma_step, with_first
from .config import NetworkConfig
from .encoder import EncoderState, encoder_step, init_encoder_state
from .layer import GammaLayer
from .neuron import effective_weight, neuron_signal
from .units import alpha_from_tau


def hold_gain(dt_ms: float, tau_ms: float, discretisation: str) -> float:
    """b for a single exponential with time constant τ: (1 − e^{−dt/τ})·τ/dt ("exact"), 1 ("paper")."""
    if discretisation == "paper":
        return 1.0
    return (1.0 - alpha_from_tau(dt_ms, tau_ms)) * tau_ms / dt_ms


class LayerState(NamedTuple):
    """State of layer l: its input buckets [B, N_in, K] and its output encoder ([B, N_out] each)."""

    buckets: torch.Tensor
    encoder: EncoderState


class NetworkState(NamedTuple):
    layers: tuple[LayerState, ...]
    input_encoder: EncoderState | None  # analog inputs only


class LayerStep(NamedTuple):
    """What layer l computed at one step (shapes [B, N_in, K] for buckets, [B, N_out] else)."""

    buckets: torch.Tensor
    x: torch.Tensor
    y: torch.Tensor
    spikes: torch.Tensor
    threshold: torch.Tensor
    estimate: torch.Tensor
    w_eff: torch.Tensor  # [N_out, N_in, K], this step's use of the weights (for gradient taps)


class StepOutput(NamedTuple):
    layers: tuple[LayerStep, ...]
    input_spikes: torch.Tensor  # [B, N_in] (the encoded spikes for analog inputs)


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

    # ----------------------------------------------------------------- one step
    def step_maps(self) -> tuple[list[BucketStep], dict]:
        """The bucket map of every layer's input at this dt, and the encoders' adaptive-threshold
        arguments (empty without it); engine.chunked uses the same."""
        cfg, dt = self.cfg, self.cfg.dt_ms
        maps = [layer.bucket_step(dt, cfg.discretisation) for layer in self.layers]
        adapt = {}
        if cfg.adaptive_threshold:
            adapt = dict(alpha_theta=alpha_from_tau(dt, cfg.adaptation_ms), gain=cfg.adaptation_gain,
                         theta_gain0=hold_gain(dt, cfg.adaptation_ms, cfg.discretisation))
        return maps, adapt

    def step(self, input_t: torch.Tensor, state: NetworkState,
             drive_t: torch.Tensor | None = None) -> tuple[StepOutput, NetworkState]:
        """Advance every layer by one step of ``dt_ms``.

        ``drive_t``: what event inputs add to the input buckets this step, when not ``input_t``
        itself (the input synapse, engine.input_synapse: engine.simulate.run passes it).

        Shape: input_t [B, N_in] (event counts, or signals for analog input) → per layer
        spikes/signals [B, N_l].
        """
        cfg = self.cfg
        maps, adapt = self.step_maps()
        if state.input_encoder is not None:
            s_in, theta_in, input_encoder = encoder_step(
                input_t, state.input_encoder, maps[0].alpha0, cfg.input_threshold,
                gain0=maps[0].gain0, max_spikes=cfg.max_spikes_per_step)
            buckets = with_first(input_encoder.estimate, state.layers[0].buckets, maps[0])
        else:
            s_in, input_encoder = input_t, None
            drive = input_t if drive_t is None else drive_t
            buckets = gamma_step(cfg.input_height * drive, state.layers[0].buckets, maps[0])
        steps, new_layers = [], []
        n_layers = len(self.layers)
        for l, layer in enumerate(self.layers):
            last = l == n_layers - 1
            w_eff = effective_weight(layer.weight, layer.bucket_weight)
            x = neuron_signal(buckets, w_eff, layer.bias)
            enc_prev = state.layers[l].encoder
            if last and cfg.readout == "linear":
                y, spikes = x, torch.zeros_like(x.detach())
                threshold, encoder = enc_prev.theta_dyn + cfg.layers[l].threshold, enc_prev
                estimate = x.detach()
            else:
                y = torch.relu(x)
                receiver = maps[l + 1] if not last else maps[l]
                spikes, threshold, encoder = encoder_step(
                    y, enc_prev, receiver.alpha0, cfg.layers[l].threshold, gain0=receiver.gain0,
                    max_spikes=cfg.max_spikes_per_step, **adapt)
                estimate = encoder.estimate
            steps.append(LayerStep(buckets, x, y, spikes, threshold, estimate, w_eff))
            new_layers.append(LayerState(buckets, encoder))
            if not last:
                first = y if cfg.coding == "rate" else straight_through(estimate, y)
                buckets = with_first(first, state.layers[l + 1].buckets, maps[l + 1])
        return StepOutput(tuple(steps), s_in), NetworkState(tuple(new_layers), input_encoder)

    # ----------------------------------------------------------------- taps
    def register_step_hook(self, hook: Callable[[int, StepOutput], None]) -> RemovableHandle:
        """Call ``hook(t, step_output)`` after every simulated step; observers must not write."""
        handle = RemovableHandle(self._step_hooks)
        self._step_hooks[handle.id] = hook
        return handle

    def _call_step_hooks(self, t: int, out: StepOutput) -> None:
        for hook in list(self._step_hooks.values()):
            hook(t, out)

    def register_grad_hook(self, hook: Callable[[int, dict], None]) -> RemovableHandle:
        """Call ``hook(t, {param name: per-step gradient contribution})`` while learning."""
        handle = RemovableHandle(self._grad_hooks)
        self._grad_hooks[handle.id] = hook
        return handle

    def _call_grad_hooks(self, t: int, grads: dict) -> None:
        for hook in list(self._grad_hooks.values()):
            hook(t, grads)

    # ----------------------------------------------------------------- persistence
    def save(self, path) -> None:
        """State dict plus config, loadable with :meth:`load`; written atomically."""
        from .checkpoint import save_network
        save_network(self, path)

    @classmethod
    def load(cls, path, map_location="cpu") -> "Network":
        """A network from :meth:`save`'s file; ValueError naming the file if damaged or not ours."""
        from .checkpoint import load_network
        return load_network(cls, path, map_location)
