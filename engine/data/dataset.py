"""`SpikeDataset`: spike events in physical time, one object per split.

Every loader in `engine.data` returns this one representation. Events are kept in
milliseconds, independent of any simulation step; `to_dense` bins them onto a grid of
step `dt_ms` only when a batch is needed, so the same sample at dt 1 ms and 0.1 ms
carries exactly the same spikes.

Storage is packed (CSR-like): the events of sample i are
`times_ms[offsets[i]:offsets[i + 1]]` and `channels[...]` likewise. Labels are either one
class per sample (`labels` long [S]) or, for segmentation tasks, a step-function label
sequence per sample, given on its own time grid (`label_times_ms`, `labels` packed with
`label_offsets`): the label holds from its time until the next label time.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, fields
from typing import NamedTuple

import numpy as np
import torch
from torch import Tensor

# Guards floor(t / dt_ms) against float rounding: an event within 1e-6 of a bin below a
# bin edge (e.g. 0.7 / 0.1 = 6.9999999) counts as on the edge.
_EDGE_TOLERANCE_BINS = 1e-6


class SpikeSample(NamedTuple):
    """One sample. Shape: times_ms [E] float64, channels [E] long, label [] or [L] long,
    label_times_ms None or [L] float64."""

    times_ms: Tensor
    channels: Tensor
    label: Tensor
    label_times_ms: Tensor | None


def _offsets(lengths: Sequence[int]) -> Tensor:
    return torch.from_numpy(np.concatenate([[0], np.cumsum(lengths, dtype=np.int64)]).astype(np.int64))  # [S + 1]


def _gather(offsets: Tensor, idx: Tensor) -> tuple[Tensor, Tensor]:
    """Positions of the packed entries of samples `idx`, and their batch column. Shape: [E_b]."""
    starts = offsets[idx]  # [B]
    lengths = offsets[idx + 1] - starts  # [B]
    col = torch.repeat_interleave(torch.arange(len(idx)), lengths)  # [E_b]
    first = torch.cumsum(lengths, 0) - lengths  # [B] position of each sample's first entry
    pos = torch.arange(int(lengths.sum())) - first[col] + starts[col]  # [E_b]
    return pos, col


def check_dt_ms(dt_ms: float) -> float:
    """Validate a simulation step: finite and > 0 (ms)."""
    dt_ms = float(dt_ms)
    if not (math.isfinite(dt_ms) and dt_ms > 0):
        raise ValueError(f"dt_ms must be a finite number > 0 (ms), got {dt_ms}")
    return dt_ms


@dataclass(frozen=True, eq=False)
class SpikeDataset:
    """Spike events of one data split in physical time (ms), with labels.

    Fields:
        name: e.g. "qtdb/train".
        n_channels: number of input channels N.
        n_classes: number of classes; labels lie in [0, n_classes), or are -100 (ignore).
        duration_ms: time span every sample fits in (max over samples, or fixed by the set).
        times_ms: float64 [E], event times of all samples, packed by sample.
        channels: long [E], event channels in [0, n_channels).
        offsets: long [S + 1], sample i owns entries offsets[i]:offsets[i + 1].
        labels: long [S] (one class per sample) or [L] packed per-time labels.
        label_times_ms: None, or float64 [L]: start time of each per-time label.
        label_offsets: None, or long [S + 1] into labels / label_times_ms.
        durations_ms: float64 [S], each sample's own length (<= duration_ms).

    Build with `SpikeDataset.from_samples`; the constructor validates everything.
    """

    name: str
    n_channels: int
    n_classes: int
    duration_ms: float
    times_ms: Tensor
    channels: Tensor
    offsets: Tensor
    labels: Tensor
    durations_ms: Tensor
    label_times_ms: Tensor | None = None
    label_offsets: Tensor | None = None

    def __post_init__(self) -> None:
        if self.n_channels < 1:
            raise ValueError(f"n_channels must be >= 1, got {self.n_channels}")
        if self.n_classes < 1:
            raise ValueError(f"n_classes must be >= 1, got {self.n_classes}")
        if not (math.isfinite(self.duration_ms) and self.duration_ms > 0):
            raise ValueError(f"duration_ms must be finite and > 0 (ms), got {self.duration_ms}")
        n = len(self.offsets) - 1
        if self.offsets[0] != 0 or self.offsets[-1] != len(self.times_ms) or len(self.channels) != len(self.times_ms):
            raise ValueError("offsets must run from 0 to the number of events in times_ms/channels")
        if len(self.times_ms) and not (0 <= self.times_ms.min() and self.times_ms.max() <= self.duration_ms):
            raise ValueError(f"times_ms must lie in [0, duration_ms={self.duration_ms}]")
        if len(self.channels) and not (0 <= self.channels.min() and self.channels.max() < self.n_channels):
            raise ValueError(f"channels must lie in [0, n_channels={self.n_channels})")
        valid = (self.labels == -100) | ((self.labels >= 0) & (self.labels < self.n_classes))
        if not bool(valid.all()):
            raise ValueError(f"labels must lie in [0, n_classes={self.n_classes}) or be -100")
        if len(self.durations_ms) != n:
            raise ValueError(f"durations_ms must have one entry per sample ({n})")
        if self.per_step_labels:
            if self.label_offsets is None or len(self.label_offsets) != n + 1:
                raise ValueError("label_offsets must have n_samples + 1 entries")
        elif len(self.labels) != n:
            raise ValueError(f"labels must have one entry per sample ({n})")

    @classmethod
    def from_samples(
        cls,
        name: str,
        n_channels: int,
        n_classes: int,
        times_ms: Sequence[np.ndarray | Tensor],
        channels: Sequence[np.ndarray | Tensor],
        labels: Sequence[int] | Sequence[np.ndarray | Tensor],
        durations_ms: Sequence[float],
        label_times_ms: Sequence[np.ndarray | Tensor] | None = None,
        duration_ms: float | None = None,
    ) -> "SpikeDataset":
        """Pack per-sample event arrays. duration_ms defaults to max(durations_ms)."""

        def cat(parts, dtype) -> Tensor:  # numpy concatenation: one conversion, not one per sample
            arrays = [np.asarray(p, dtype=dtype).reshape(-1) for p in parts]
            return torch.from_numpy(np.concatenate(arrays) if arrays else np.zeros(0, dtype))

        durations = torch.as_tensor(np.asarray(durations_ms, dtype=np.float64))  # [S]
        per_step = label_times_ms is not None
        return cls(
            name=name,
            n_channels=int(n_channels),
            n_classes=int(n_classes),
            duration_ms=float(duration_ms if duration_ms is not None else durations.max()),
            times_ms=cat(times_ms, np.float64),
            channels=cat(channels, np.int64),
            offsets=_offsets([len(t) for t in times_ms]),
            labels=cat(labels, np.int64),
            durations_ms=durations,
            label_times_ms=cat(label_times_ms, np.float64) if per_step else None,
            label_offsets=_offsets([len(t) for t in label_times_ms]) if per_step else None,
        )

    def state_dict(self) -> dict:
        """All fields (tensors, numbers, strings): `torch.save`-able, `torch.load(weights_only=True)`-able."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_state_dict(cls, state: dict) -> "SpikeDataset":
        return cls(**state)

    @property
    def per_step_labels(self) -> bool:
        return self.label_times_ms is not None

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, i: int) -> SpikeSample:
        if not -len(self) <= i < len(self):
            raise IndexError(f"sample index {i} out of range for {len(self)} samples")
        i = i % len(self)
        a, b = int(self.offsets[i]), int(self.offsets[i + 1])
        if not self.per_step_labels:
            return SpikeSample(self.times_ms[a:b], self.channels[a:b], self.labels[i], None)
        la, lb = int(self.label_offsets[i]), int(self.label_offsets[i + 1])
        return SpikeSample(self.times_ms[a:b], self.channels[a:b], self.labels[la:lb], self.label_times_ms[la:lb])

    def sample_labels(self) -> Tensor:
        """One label per sample (long [S]); per-step datasets give each sample's first label."""
        return self.labels if not self.per_step_labels else self.labels[self.label_offsets[:-1]]

    def n_steps(self, dt_ms: float) -> int:
        """T = ceil(duration_ms / dt_ms), at least 1."""
        ratio = self.duration_ms / check_dt_ms(dt_ms)
        return max(1, math.ceil(ratio - _EDGE_TOLERANCE_BINS))

    def to_dense(self, indices: Sequence[int] | Tensor, dt_ms: float) -> tuple[Tensor, Tensor]:
        """Bin the events of samples `indices` onto a grid of step dt_ms.

        An event at t goes to bin floor(t / dt_ms); several events in one bin add up (so
        the per-channel totals do not depend on dt_ms). Events at exactly duration_ms go to
        the last bin. A per-step label of bin k is the label holding at its start k * dt_ms.

        Args:
            indices: B sample indices.
            dt_ms: bin width (ms), finite and > 0.
        Shape:
            inputs: float32 [T, B, n_channels], T = ceil(duration_ms / dt_ms).
            labels: long [B] (per-sample labels) or long [T, B] (per-step labels).
        Example:
            >>> x, y = ds.to_dense([0, 1], dt_ms=1.0)
        """
        dt_ms = check_dt_ms(dt_ms)
        idx = torch.as_tensor(indices, dtype=torch.long).reshape(-1)  # [B]
        if len(idx) and not (0 <= int(idx.min()) and int(idx.max()) < len(self)):
            raise IndexError(f"indices must lie in [0, {len(self)})")
        n_steps, batch = self.n_steps(dt_ms), len(idx)
        pos, col = _gather(self.offsets, idx)  # [E_b]
        bins = torch.floor(self.times_ms[pos] / dt_ms + _EDGE_TOLERANCE_BINS).long().clamp_(0, n_steps - 1)  # [E_b]
        flat = (bins * batch + col) * self.n_channels + self.channels[pos]  # [E_b] into [T, B, N]
        inputs = torch.zeros(n_steps * batch * self.n_channels, dtype=torch.float32)
        inputs.index_add_(0, flat, torch.ones(len(flat), dtype=torch.float32))
        inputs = inputs.view(n_steps, batch, self.n_channels)  # [T, B, N]
        if not self.per_step_labels:
            return inputs, self.labels[idx].clone()
        # step-function labels: bin k takes the last label whose start time <= k * dt_ms
        lpos, lcol = _gather(self.label_offsets, idx)  # [L_b]
        lengths = self.label_offsets[idx + 1] - self.label_offsets[idx]  # [B]
        width = max(int(lengths.max()), 1)
        slot = torch.arange(len(lpos)) - (torch.cumsum(lengths, 0) - lengths)[lcol]  # [L_b] index within sample
        edges = torch.full((batch, width), math.inf, dtype=torch.float64)  # [B, L_max] start times in bins
        edges[lcol, slot] = self.label_times_ms[lpos] / dt_ms
        values = torch.zeros(batch, width, dtype=torch.long)  # [B, L_max]
        values[lcol, slot] = self.labels[lpos]
        starts = (torch.arange(n_steps, dtype=torch.float64) + _EDGE_TOLERANCE_BINS).expand(batch, -1)  # [B, T]
        k = torch.searchsorted(edges, starts.contiguous(), right=True).sub_(1).clamp_(min=0)  # [B, T]
        return inputs, torch.gather(values, 1, k).T.contiguous()  # [T, B]

    def batches(
        self, batch_size: int, dt_ms: float, shuffle: bool = False, seed: int = 0, drop_last: bool = False
    ) -> Iterator[tuple[Tensor, Tensor]]:
        """Yield `to_dense` batches over the whole split; shuffled with a seeded generator.

        Shape: inputs float32 [T, B, n_channels]; labels long [B] or [T, B].
        """
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        check_dt_ms(dt_ms)
        if shuffle:
            order = torch.randperm(len(self), generator=torch.Generator().manual_seed(seed))
        else:
            order = torch.arange(len(self))
        stop = len(self) - (len(self) % batch_size if drop_last else 0)
        for start in range(0, stop, batch_size):
            yield self.to_dense(order[start : start + batch_size], dt_ms)

    def __repr__(self) -> str:
        kind = "per-step" if self.per_step_labels else "per-sample"
        return (
            f"SpikeDataset({self.name!r}, samples={len(self)}, n_channels={self.n_channels}, "
            f"n_classes={self.n_classes}, duration_ms={self.duration_ms:g}, events={len(self.times_ms)}, "
            f"labels={kind})"
        )
