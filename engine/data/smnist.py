"""Sequential MNIST from the MNIST test set: 8000 train / 2000 test images.

Only the canonical MNIST *test* files are available here (t10k-*-ubyte.gz, IDX format:
big-endian int32 magic (2051 images / 2049 labels), counts and sizes, then uint8 data).
The split is deterministic: the first 8000 images train, the last 2000 test.

Each image is read row by row as a 784-step sequence, pixel k held during
[k * step_ms, (k + 1) * step_ms), intensity p in [0, 1] (= uint8 / 255). The sequence is
encoded by send-on-delta (`engine.data.send_on_delta`, events at the pixel start times)
into 2 channels: 0 = ON (intensity rose by delta), 1 = OFF (fell by delta). A pixel jump
of several deltas gives several events at the same time, so the running sum
delta * cumsum(ON - OFF) reconstructs the pixel sequence within delta.
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np

from ._common import check_split, find_data_dir, parsing, require_file
from .dataset import SpikeDataset
from .send_on_delta import send_on_delta

SMNIST_N_TRAIN = 8000
SMNIST_N_CLASSES = 10
_IMAGES = "t10k-images-idx3-ubyte.gz"
_LABELS = "t10k-labels-idx1-ubyte.gz"


def read_idx(path: Path) -> np.ndarray:
    """Read a gzipped IDX file (uint8 data) into an array of its declared shape."""
    with parsing(path):
        with gzip.open(path, "rb") as f:
            raw = f.read()
        magic = int.from_bytes(raw[:4], "big")
        if magic >> 8 != 0x08:  # 0x08 = unsigned byte data
            raise ValueError(f"{path}: not a uint8 IDX file (magic {magic:#x})")
        n_dims = magic & 0xFF
        shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(n_dims))
        return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * n_dims).reshape(shape)


def load_mnist_test(data_dir: str | os.PathLike | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The MNIST test set. Shape: images uint8 [10000, 28, 28], labels uint8 [10000]."""
    folder = find_data_dir(data_dir, "mnist_test", _IMAGES, "mnist")
    images = read_idx(require_file(folder / _IMAGES, "mnist"))
    labels = read_idx(require_file(folder / _LABELS, "mnist"))
    if len(images) != len(labels):
        raise ValueError(f"{len(images)} images but {len(labels)} labels in {folder}")
    return images, labels


def load_smnist(
    data_dir: str | os.PathLike | None = None,
    split: str = "train",
    step_ms: float = 1.0,
    delta: float = 0.1,
    permutation_seed: int | None = None,
) -> SpikeDataset:
    """Load sequential MNIST as ON/OFF send-on-delta events.

    Args:
        data_dir: root data folder (holding mnist_test/) or that folder itself;
            default $SPIKINGGAMMA_DATA_DIR.
        split: "train" (first 8000 test-set images) or "test" (last 2000).
        step_ms: time per pixel (ms), > 0; a sample lasts 784 * step_ms.
        delta: intensity step of the encoder in (0, 1]; 0.1 gives ~460 events per image.
        permutation_seed: if given, the pixel order is permuted with this seed
            (permuted sMNIST; the same permutation for both splits).
    Returns:
        SpikeDataset, 2 channels (ON, OFF), 10 classes, one label per sample.
    """
    check_split(split)
    if not (np.isfinite(step_ms) and step_ms > 0):
        raise ValueError(f"step_ms must be a finite number > 0 (ms), got {step_ms}")
    if not 0 < delta <= 1:
        raise ValueError(f"delta must be in (0, 1], got {delta}")
    images, labels = load_mnist_test(data_dir)
    rows = slice(0, SMNIST_N_TRAIN) if split == "train" else slice(SMNIST_N_TRAIN, None)
    pixels = images[rows].reshape(-1, 784).astype(np.float32) / 255.0  # [S, 784]
    if permutation_seed is not None:
        pixels = pixels[:, np.random.default_rng(permutation_seed).permutation(784)]
    time_ms, sample, on = send_on_delta(pixels.T, delta, step_ms)  # [E] each, sorted by step
    order = np.argsort(sample, kind="stable")  # regroup events by sample, keeping time order
    time_ms, sample, channel = time_ms[order], sample[order], 1 - on[order]
    bounds = np.cumsum(np.bincount(sample, minlength=len(pixels))).tolist()
    starts = [0] + bounds[:-1]
    return SpikeDataset.from_samples(
        name=f"smnist/{split}" if permutation_seed is None else f"psmnist/{split}",
        n_channels=2,
        n_classes=SMNIST_N_CLASSES,
        times_ms=[time_ms[a:b] for a, b in zip(starts, bounds)],
        channels=[channel[a:b] for a, b in zip(starts, bounds)],
        labels=labels[rows].tolist(),
        durations_ms=[784 * step_ms] * len(pixels),
    )
