"""N-MNIST (Orchard et al. 2015), small subset: 1000 train / 100 test event recordings.

Event file format (`events/<id>.bs2`, the original N-MNIST .bin files): 5 bytes per
event, big-endian fields:
    byte0 = x (0..33), byte1 = y (0..33), byte2 bit 7 = polarity (1 ON, 0 OFF),
    bits 22..0 of bytes 2..4 = timestamp in microseconds.
Label tables `train1K.txt` / `test100.txt`: a "#sample #class" header, then "id<TAB>digit".

Channel layout: channel = polarity * side * side + (y // d) * side + (x // d) with
d = downsample and side = ceil(34 / d); d = 1 gives 2 * 34 * 34 = 2312 channels.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np

from ._common import check_split, find_data_dir, parsing, require_file
from .dataset import SpikeDataset

NMNIST_SIDE = 34
NMNIST_N_CLASSES = 10
_TABLES = {"train": "train1K.txt", "test": "test100.txt"}


def read_label_table(path: Path) -> list[tuple[int, int]]:
    """(sample id, class) pairs of a '#sample #class' table."""
    rows = []
    with parsing(path):
        for line in path.read_text().splitlines():
            if line.strip() and not line.lstrip().startswith("#"):
                sample_id, label = line.split()[:2]
                rows.append((int(sample_id), int(label)))
    return rows


def read_events(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Decode one 40-bit-per-event file. Returns x, y, polarity (uint8 [E]), time_us (int64 [E])."""
    raw = np.fromfile(path, dtype=np.uint8)
    if raw.size % 5:
        raise ValueError(f"{path}: size {raw.size} bytes is not a multiple of 5 (40-bit events)")
    ev = raw.reshape(-1, 5)  # [E, 5]
    polarity = ev[:, 2] >> 7
    time_us = ((ev[:, 2].astype(np.int64) & 0x7F) << 16) | (ev[:, 3].astype(np.int64) << 8) | ev[:, 4]
    return ev[:, 0], ev[:, 1], polarity, time_us


def load_nmnist(
    data_dir: str | os.PathLike | None = None, split: str = "train", downsample: int = 1
) -> SpikeDataset:
    """Load the N-MNIST subset as events in ms.

    Args:
        data_dir: root data folder (holding nmnist_small/) or that folder itself;
            default $SPIKINGGAMMA_DATA_DIR.
        split: "train" (ids 1..1000) or "test" (ids 60001..60100).
        downsample: spatial pooling factor d >= 1; events of a d x d pixel block share a
            channel, giving 2 * ceil(34 / d)**2 channels.
    Returns:
        SpikeDataset, 10 classes, one label per sample; duration_ms = the longest
        recording, rounded up to a whole ms (~316 ms).
    """
    check_split(split)
    if int(downsample) != downsample or downsample < 1:
        raise ValueError(f"downsample must be an integer >= 1, got {downsample}")
    downsample = int(downsample)
    folder = find_data_dir(data_dir, "nmnist_small", _TABLES[split], "nmnist")
    side = math.ceil(NMNIST_SIDE / downsample)
    times, channels, labels, durations = [], [], [], []
    for sample_id, label in read_label_table(folder / _TABLES[split]):
        x, y, p, t_us = read_events(require_file(folder / "events" / f"{sample_id}.bs2", "nmnist"))
        if x.size and (x.max() >= NMNIST_SIDE or y.max() >= NMNIST_SIDE):
            raise ValueError(f"sample {sample_id}: pixel outside the 34 x 34 sensor")
        times.append(t_us / 1000.0)
        channels.append(p.astype(np.int64) * side * side + (y // downsample) * side + x // downsample)
        labels.append(label)
        durations.append(t_us.max() / 1000.0 if t_us.size else 0.0)
    return SpikeDataset.from_samples(
        name=f"nmnist/{split}",
        n_channels=2 * side * side,
        n_classes=NMNIST_N_CLASSES,
        times_ms=times,
        channels=channels,
        labels=labels,
        durations_ms=durations,
        duration_ms=float(math.ceil(max(durations))),
    )
