"""Typed, frozen and validated configuration of a SpikingGamma network.

Every bad value raises a ``ValueError`` that names the field and the allowed range. Physical
quantities carry their unit in the name (``dt_ms``, ``tau_ms``); nothing is per step.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

import torch

_DTYPES = {"float32": torch.float32, "float64": torch.float64}
#: the step of the bucket cascade (engine.model.buckets): its exact solution, or the paper's recursion
DISCRETISATIONS = ("exact", "paper")


def _fail(field_name: str, allowed: str, got: Any) -> None:
    raise ValueError(f"{field_name} must be {allowed} (got {got!r})")


def check_positive(field_name: str, value: Any, *, integer: bool = False, minimum: float = 0.0,
                   inclusive: bool = False) -> None:
    """Raise ValueError unless ``value`` is a finite number above ``minimum`` (or at it if inclusive)."""
    ok_type = isinstance(value, int) if integer else isinstance(value, (int, float))
    bound = f">= {minimum:g}" if inclusive else f"> {minimum:g}"
    allowed = f"{'an integer' if integer else 'a finite number'} {bound}"
    if isinstance(value, bool) or not ok_type:
        _fail(field_name, allowed, value)
    if not math.isfinite(value) or (value < minimum if inclusive else value <= minimum):
        _fail(field_name, allowed, value)


def check_choice(field_name: str, value: Any, choices: tuple[str, ...]) -> None:
    if value not in choices:
        _fail(field_name, "one of " + ", ".join(repr(c) for c in choices), value)


def per_layer(field_name: str, value: Any, n_layers: int) -> tuple:
    """Expand a scalar to one entry per layer, or check a per-layer tuple's length."""
    if isinstance(value, (list, tuple)):
        if len(value) != n_layers:
            _fail(field_name, f"a single value or one value per layer ({n_layers})", value)
        return tuple(value)
    return (value,) * n_layers


@dataclass(frozen=True)
class NetworkConfig:
    """A feed-forward SpikingGamma network.

    Args:
        sizes: neurons per layer, input first: ``(n_in, n_hidden..., n_out)``.
        dt_ms: simulation time step (ms), > 0.
        tau_ms: bucket time constant (ms), > 0; one value, one per layer, or per layer a tuple
            of ``n_buckets`` values (one τ per bucket).
        n_buckets: gamma buckets K per layer input, >= 1 (one value or one per layer).
        threshold: sigma-delta threshold ϑ₀ (signal units), > 0 (one value or one per layer).
        bucket_weights: ``"neuron"`` (v_j^k) or ``"synapse"`` (v_ij^k).
        adaptive_threshold: ϑ = ϑ₀ + ϑ_dyn, ϑ_dyn decays with ``adaptation_ms`` and rises by
            ``adaptation_gain``·ϑ at every spike.
        readout: ``"spiking"`` (last layer encodes its output in spikes) or ``"linear"``
            (last layer outputs x, no ReLU, no spikes).
        coding: ``"spikes"`` (sigma-delta coupling) or ``"rate"`` (receivers see y itself).
        input_encoding: ``"spikes"`` (inputs are event counts of height ``input_height``) or
            ``"analog"`` (inputs are signals, encoded with threshold ``input_threshold``).
        input_synapse_ms: time constant τ_s (ms, >= 0) of an exponential synapse between input
            events and the input buckets; 0: impulses held over their step. With τ_s ≈ dt the
            input signal has no sub-step jumps, so every dt samples the same signal
            (engine.model.synapse); spike inputs only.
        discretisation: ``"exact"`` (the exact step of the bucket cascade with the step's spikes
            held over the step: kernels, areas and spike rates in ms independent of dt) or
            ``"paper"`` (the paper's recursion, dt-invariant only to O(dt/τ)); engine.model.buckets.
        max_spikes_per_step: cap on the sigma-delta spike count per step, an integer >= 1, or
            ``None`` (no cap: rates independent of dt); 1 is the paper's encoder.
        learn_tau: make τ a learnable parameter.
        bias: give each neuron a learnable bias b_j.
        weight_gain: weights start as N(0, (gain/√n_in)²); one value or one per layer.
        bucket_init: ``"uniform"`` (v = 1/K) or ``"first"`` (v on bucket 0 only).
        dtype: ``"float32"`` or ``"float64"``.
        device: torch device string, e.g. ``"cpu"`` or ``"cuda"``.
    """

    sizes: tuple[int, ...] = (50, 50, 1)
    dt_ms: float = 1.0
    tau_ms: Any = 5.0
    n_buckets: Any = 4
    threshold: Any = 0.1
    bucket_weights: str = "neuron"
    adaptive_threshold: bool = False
    adaptation_ms: float = 15.0
    adaptation_gain: float = 0.5
    readout: str = "spiking"
    coding: str = "spikes"
    input_encoding: str = "spikes"
    input_height: float = 1.0
    input_threshold: float = 0.1
    input_synapse_ms: float = 0.0
    discretisation: str = "exact"
    max_spikes_per_step: int | None = None
    learn_tau: bool = False
    bias: bool = True
    weight_gain: Any = 1.0
    bucket_init: str = "uniform"
    dtype: str = "float32"
    device: str = "cpu"
    _layers: tuple = field(init=False, repr=False, compare=False, default=())

    def __post_init__(self) -> None:
        sizes = tuple(self.sizes) if isinstance(self.sizes, (list, tuple)) else self.sizes
        if not isinstance(sizes, tuple) or len(sizes) < 2:
            _fail("sizes", "a tuple of at least two layer sizes (n_in, ..., n_out)", self.sizes)
        for i, n in enumerate(sizes):
            check_positive(f"sizes[{i}]", n, integer=True, minimum=1, inclusive=True)
        object.__setattr__(self, "sizes", sizes)
        check_positive("dt_ms", self.dt_ms)
        n_layers = len(sizes) - 1
        ks = per_layer("n_buckets", self.n_buckets, n_layers)
        for i, k in enumerate(ks):
            check_positive(f"n_buckets[{i}]" if n_layers > 1 else "n_buckets", k, integer=True,
                           minimum=1, inclusive=True)
        taus = per_layer("tau_ms", self.tau_ms, n_layers)
        for i, (tau, k) in enumerate(zip(taus, ks)):
            values = tau if isinstance(tau, (list, tuple)) else (tau,)
            if isinstance(tau, (list, tuple)) and len(tau) != k:
                _fail(f"tau_ms[{i}]", f"one τ or {k} values (one per bucket)", tau)
            for v in values:
                check_positive("tau_ms", v)
        thresholds = per_layer("threshold", self.threshold, n_layers)
        for v in thresholds:
            check_positive("threshold", v)
        gains = per_layer("weight_gain", self.weight_gain, n_layers)
        for v in gains:
            check_positive("weight_gain", v)
        check_choice("bucket_weights", self.bucket_weights, ("neuron", "synapse"))
        check_choice("readout", self.readout, ("spiking", "linear"))
        check_choice("coding", self.coding, ("spikes", "rate"))
        check_choice("input_encoding", self.input_encoding, ("spikes", "analog"))
        check_choice("bucket_init", self.bucket_init, ("uniform", "first"))
        check_choice("discretisation", self.discretisation, DISCRETISATIONS)
        if self.max_spikes_per_step is not None:
            check_positive("max_spikes_per_step", self.max_spikes_per_step, integer=True,
                           minimum=1, inclusive=True)
        check_choice("dtype", self.dtype, tuple(_DTYPES))
        for name in ("adaptive_threshold", "learn_tau", "bias"):
            if not isinstance(getattr(self, name), bool):
                _fail(name, "True or False", getattr(self, name))
        check_positive("adaptation_ms", self.adaptation_ms)
        check_positive("adaptation_gain", self.adaptation_gain, inclusive=True)
        check_positive("input_height", self.input_height)
        check_positive("input_threshold", self.input_threshold)
        check_positive("input_synapse_ms", self.input_synapse_ms, inclusive=True)
        if self.input_synapse_ms > 0 and self.input_encoding != "spikes":
            _fail("input_synapse_ms", "0 with input_encoding='analog' (the synapse filters events)",
                  self.input_synapse_ms)
        try:
            torch.device(self.device)
        except (RuntimeError, TypeError) as exc:
            raise ValueError(f"device must be a torch device string such as 'cpu' or 'cuda' "
                             f"(got {self.device!r})") from exc
        layers = tuple(
            LayerSpec(n_in=sizes[i], n_out=sizes[i + 1], n_buckets=ks[i],
                      tau_ms=tuple(taus[i]) if isinstance(taus[i], (list, tuple)) else (float(taus[i]),) * ks[i],
                      threshold=float(thresholds[i]), weight_gain=float(gains[i]))
            for i in range(n_layers))
        object.__setattr__(self, "_layers", layers)

    @property
    def layers(self) -> tuple["LayerSpec", ...]:
        """One resolved :class:`LayerSpec` per layer."""
        return self._layers

    @property
    def torch_dtype(self) -> torch.dtype:
        return _DTYPES[self.dtype]

    def replace(self, **changes: Any) -> "NetworkConfig":
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        """Plain JSON-able dict of the public fields."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.init}

    @classmethod
    def from_dict(cls, data: dict) -> "NetworkConfig":
        known = {f.name for f in dataclasses.fields(cls) if f.init}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown NetworkConfig fields: {sorted(unknown)}")
        fixed = {k: tuple(tuple(x) if isinstance(x, list) else x for x in v) if isinstance(v, list) else v
                 for k, v in data.items()}
        return cls(**fixed)


@dataclass(frozen=True)
class LayerSpec:
    """Resolved settings of one layer (built by :class:`NetworkConfig`)."""

    n_in: int
    n_out: int
    n_buckets: int
    tau_ms: tuple[float, ...]
    threshold: float
    weight_gain: float
