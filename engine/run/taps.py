"""Per-timestep taps: record bucket states, signals, spikes, thresholds and gradients.

A :class:`Recorder` follows PyTorch's hook contract: it registers when built, ``remove()``s
cleanly, works as a context manager, and only observes (outputs with and without taps are
bitwise equal). Recording can be decimated (``every``) and bounded (``max_steps``, a ring buffer).

Tap names, for layer l: ``layers.{l}.buckets`` [B, N_in, K] (layer l's input buckets),
``layers.{l}.preact`` (x), ``layers.{l}.signal`` (y), ``layers.{l}.estimate`` (ŷ^0 of layer l's
output), ``layers.{l}.spikes``, ``layers.{l}.threshold`` ([B, N_l] each), ``input.spikes``;
gradients: ``layers.{l}.preact.grad`` / ``layers.{l}.signal.grad`` (∂L/∂x, ∂L/∂y per step)
and ``layers.{l}.weight.grad`` / ``.bucket_weight.grad`` / ``.bias.grad`` (per-step
weight-gradient contributions while learning).
"""
from __future__ import annotations

import re
from collections import deque

import torch

from ..model.network import Network, StepOutput

_STATE_FIELDS = {"buckets": "buckets", "preact": "x", "signal": "y", "estimate": "estimate",
                 "spikes": "spikes", "threshold": "threshold"}
_PARAM_FIELDS = ("weight", "bucket_weight", "bias")
_NAME = re.compile(r"^layers\.(\d+)\.(\w+)(\.grad)?$")


def tap_names(net: Network) -> list[str]:
    """Every valid tap name for ``net``."""
    names = ["input.spikes"]
    for l in range(len(net.layers)):
        names += [f"layers.{l}.{f}" for f in _STATE_FIELDS]
        names += [f"layers.{l}.preact.grad", f"layers.{l}.signal.grad"]
        names += [f"layers.{l}.{p}.grad" for p in _PARAM_FIELDS]
    return names


class Recorder:
    """Record taps of ``net`` while it runs.

    Args:
        net: the network to observe.
        names: tap names (see the module docstring).
        every: keep every Nth step (within each sequence), >= 1.
        max_steps: keep at most this many recorded steps per tap (oldest dropped); None: all.
        device: where recordings are kept (default: CPU).

    Example:
        >>> with Recorder(net, ["layers.0.buckets"]) as rec:
        ...     simulate(net, inputs)
        >>> rec["layers.0.buckets"].shape      # [T, B, n_in, K]
    """

    def __init__(self, net: Network, names, every: int = 1, max_steps: int | None = None,
                 device: str | torch.device = "cpu"):
        if isinstance(names, str):
            names = [names]
        valid = set(tap_names(net))
        for name in names:
            if name not in valid:
                raise ValueError(f"unknown tap name {name!r}; valid names for this network: "
                                 f"{sorted(valid)}")
        if not isinstance(every, int) or every < 1:
            raise ValueError(f"every must be an integer >= 1 (got {every!r})")
        if max_steps is not None and (not isinstance(max_steps, int) or max_steps < 1):
            raise ValueError(f"max_steps must be an integer >= 1 or None (got {max_steps!r})")
        self.net, self.names, self.every = net, list(names), every
        self.device = torch.device(device)
        self._data = {n: deque(maxlen=max_steps) for n in self.names}
        self._sequence = 0
        self._last_t = -1
        self._handles = [net.register_step_hook(self._on_step)]
        if any(_NAME.match(n) and n.split(".")[2] in _PARAM_FIELDS for n in self.names):
            self._handles.append(net.register_grad_hook(self._on_grads))

    # ------------------------------------------------------------------ hook contract
    def remove(self) -> None:
        for h in self._handles:
            h.remove()
        self._handles = []

    def __enter__(self) -> "Recorder":
        return self

    def __exit__(self, *exc) -> None:
        self.remove()

    # ------------------------------------------------------------------ reading
    def __getitem__(self, name: str) -> torch.Tensor:
        """Recorded values of one tap, stacked in time order: [T_kept, ...]."""
        entries = self._entries(name)
        if not entries:
            raise KeyError(f"nothing recorded for {name!r}")
        return torch.stack([v for _, v in entries])

    def steps(self, name: str) -> list[tuple[int, int]]:
        """(sequence index, step index) of each recorded value of ``name``."""
        return [key for key, _ in self._entries(name)]

    def __contains__(self, name: str) -> bool:
        return bool(self._data.get(name))

    def clear(self) -> None:
        for d in self._data.values():
            d.clear()

    def _entries(self, name: str):
        if name not in self._data:
            raise KeyError(f"{name!r} is not recorded by this Recorder (recording {self.names})")
        return sorted(self._data[name], key=lambda e: e[0])

    # ------------------------------------------------------------------ observers
    def _keep(self, t: int) -> bool:
        return t % self.every == 0

    def _store(self, name: str, key: tuple[int, int], value: torch.Tensor) -> None:
        value = value.detach()
        value = value.clone() if value.device == self.device else value.to(self.device)
        self._data[name].append((key, value))

    def _on_step(self, t: int, out: StepOutput) -> None:
        if t <= self._last_t:
            self._sequence += 1
        self._last_t = t
        if not self._keep(t):
            return
        key = (self._sequence, t)
        for name in self.names:
            if name == "input.spikes":
                self._store(name, key, out.input_spikes)
                continue
            layer, field, grad = _NAME.match(name).groups()
            if field not in _STATE_FIELDS:
                continue
            tensor = getattr(out.layers[int(layer)], _STATE_FIELDS[field])
            if not grad:
                self._store(name, key, tensor)
            elif tensor.requires_grad:
                tensor.register_hook(lambda g, name=name, key=key: self._store(name, key, g))

    def _on_grads(self, t: int, grads: dict) -> None:
        if not self._keep(t):
            return
        for name in self.names:
            base = name[:-len(".grad")] if name.endswith(".grad") else None
            if base in grads:
                self._store(name, (self._sequence, t), grads[base])
