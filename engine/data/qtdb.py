"""ECG QTDB as spike-encoded and segment-labelled by Yin et al. (2021): per-step segmentation.

File format (MATLAB v5, `QTDB_{train,test}.mat`):
    x  int16 [S, 1301, 4]  binary level-crossing spikes of two ECG leads (up/down pairs
                           (0, 1) and (2, 3)); channel 0 holds -1 at the last step: an end
                           marker, removed here.
    y  uint8 [S, 1301, 6]  one-hot ECG segment class per step; ~8 % of the rows are all
                           zero (unannotated).
S = 618 (train), 141 (test).

Time step (a choice, `QTDB_STEP_MS`): the files carry only step indices 0..1300. We take
1 step = 4 ms, the 250 Hz sampling rate of the PhysioNet QT database: with it the
labelled beats repeat every ~200 steps = 0.8 s (75 bpm) and QRS complexes last ~130 ms,
and the SRNN evaluation code measures its 150 ms tolerance as 0.150 * 250 steps. A sample
then spans 1301 * 4 = 5204 ms. Pass `step_ms=1.0` to use the raw step grid instead.
"""

from __future__ import annotations

import os

import numpy as np

from ._common import check_split, find_data_dir, parsing, require_file
from .dataset import SpikeDataset

QTDB_STEP_MS = 4.0  # one .mat step in ms (250 Hz, QTDB's sampling rate); a documented choice
QTDB_N_CHANNELS = 4
QTDB_N_CLASSES = 6


def load_qtdb(
    data_dir: str | os.PathLike | None = None,
    split: str = "train",
    step_ms: float = QTDB_STEP_MS,
    unlabelled_class: int = 0,
) -> SpikeDataset:
    """Load the QTDB spike data with one of 6 segment labels per step.

    Args:
        data_dir: root data folder (holding qtdb_yin/) or the qtdb_yin folder itself;
            default $SPIKINGGAMMA_DATA_DIR.
        split: "train" (618 samples) or "test" (141).
        step_ms: length of one .mat step in ms (> 0); see QTDB_STEP_MS.
        unlabelled_class: label of steps without annotation. 0 reproduces the SRNN code
            (argmax of an all-zero row); -100 marks them for `ignore_index` in a loss.
    Returns:
        SpikeDataset, 4 channels, 6 classes, per-step labels on the grid k * step_ms,
        duration 1301 * step_ms; an event in step k sits at time k * step_ms.
    """
    import scipy.io  # lazy: only this loader needs scipy

    check_split(split)
    if not (np.isfinite(step_ms) and step_ms > 0):
        raise ValueError(f"step_ms must be a finite number > 0 (ms), got {step_ms}")
    if unlabelled_class != -100 and not 0 <= unlabelled_class < QTDB_N_CLASSES:
        raise ValueError(f"unlabelled_class must be in [0, {QTDB_N_CLASSES}) or -100, got {unlabelled_class}")
    name = f"QTDB_{split}.mat"
    folder = find_data_dir(data_dir, "qtdb_yin", name, "qtdb")
    path = require_file(folder / name, "qtdb")
    with parsing(path):
        mat = scipy.io.loadmat(path, variable_names=("x", "y"))
        x, y = mat["x"], mat["y"]  # [S, T, 4] int16, [S, T, 6] uint8
    if x.ndim != 3 or x.shape[2] != QTDB_N_CHANNELS or y.shape != x.shape[:2] + (QTDB_N_CLASSES,):
        raise ValueError(f"{path}: expected x [S, T, {QTDB_N_CHANNELS}] and y [S, T, "
                         f"{QTDB_N_CLASSES}], got {x.shape} and {y.shape}")
    n_samples, n_steps, _ = x.shape
    spikes = x > 0  # drops the -1 end marker at the last step of channel 0
    sample, step, channel = np.nonzero(spikes)  # sorted by sample, then step
    counts = np.bincount(sample, minlength=n_samples)
    bounds = np.concatenate([[0], np.cumsum(counts)])
    labels = np.where(y.any(-1), y.argmax(-1), unlabelled_class)  # [S, T]
    grid_ms = np.arange(n_steps) * float(step_ms)  # [T]
    return SpikeDataset.from_samples(
        name=f"qtdb/{split}",
        n_channels=QTDB_N_CHANNELS,
        n_classes=QTDB_N_CLASSES,
        times_ms=[step[a:b] * float(step_ms) for a, b in zip(bounds[:-1], bounds[1:])],
        channels=[channel[a:b] for a, b in zip(bounds[:-1], bounds[1:])],
        labels=list(labels),
        label_times_ms=[grid_ms] * n_samples,
        durations_ms=[n_steps * float(step_ms)] * n_samples,
    )
