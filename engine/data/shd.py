"""Spiking Heidelberg Digits / Spiking Speech Commands (Cramer et al. 2020), official HDF5 files.

The files (shd_train.h5, shd_test.h5, ssc_{train,valid,test}.h5; 79-268 MB) are not
shipped with the project; download them from
zenkelab.org/resources/spiking-heidelberg-datasets-shd. Layout used here:

    spikes/times  [S] variable-length float arrays, spike times in seconds
    spikes/units  [S] variable-length integer arrays, channel (0..699) of each spike
    labels        [S] integer class (SHD: 20 classes, SSC: 35)

Needs h5py (`pip install h5py`), imported only when a file is loaded.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np

from ._common import require_file
from .dataset import SpikeDataset

SHD_N_CHANNELS = 700


def load_shd(path: str | os.PathLike, n_classes: int | None = None, name: str | None = None) -> SpikeDataset:
    """Load one SHD or SSC HDF5 file as events in ms.

    Args:
        path: the .h5 file.
        n_classes: number of classes; default 20 for files named shd*, 35 for ssc*,
            else max(label) + 1.
        name: dataset name; default "shd/<file stem>".
    Returns:
        SpikeDataset, 700 channels, one label per sample; duration_ms = the last spike of
        the file rounded up to a whole ms.
    """
    try:
        import h5py
    except ImportError as err:
        raise ImportError("load_shd needs h5py: pip install h5py") from err
    path = require_file(Path(path), "shd")
    with h5py.File(path, "r") as f:
        times_s = [np.asarray(t, dtype=np.float64) for t in f["spikes"]["times"]]
        units = [np.asarray(u, dtype=np.int64) for u in f["spikes"]["units"]]
        labels = np.asarray(f["labels"], dtype=np.int64)
    if not len(times_s) == len(units) == len(labels):
        raise ValueError(f"{path}: spikes/times, spikes/units and labels differ in length")
    if n_classes is None:
        stem = path.stem.lower()
        n_classes = 20 if stem.startswith("shd") else 35 if stem.startswith("ssc") else int(labels.max()) + 1
    times_ms = [1000.0 * t for t in times_s]
    durations = [float(t.max()) if t.size else 0.0 for t in times_ms]
    return SpikeDataset.from_samples(
        name=name or f"shd/{path.stem}",
        n_channels=SHD_N_CHANNELS,
        n_classes=n_classes,
        times_ms=times_ms,
        channels=units,
        labels=labels.tolist(),
        durations_ms=durations,
        duration_ms=float(max(1, math.ceil(max(durations, default=0.0)))),
    )
