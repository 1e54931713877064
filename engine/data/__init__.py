"""Data sets as spike events in physical time (ms), one `SpikeDataset` per split.

    ds = load("nmnist", split="train")          # data dir from $SPIKINGGAMMA_DATA_DIR
    inputs, labels = ds.to_dense(range(32), dt_ms=1.0)   # [T, 32, N], [32]

Needs torch and numpy only; scipy (QTDB) and h5py (SHD) are imported by their loaders.
Data is never part of the repository: see `_common` for how the folder is found.
"""

from __future__ import annotations

import os

from ._common import DATA_ENV, SOURCES, DataNotFoundError
from .cochlea import CochleaConfig
from .dataset import SpikeDataset, SpikeSample
from .fsdd import fsdd_envelope, load_fsdd
from .nmnist import load_nmnist
from .qtdb import QTDB_STEP_MS, load_qtdb
from .send_on_delta import send_on_delta
from .shd import load_shd
from .smnist import load_smnist

LOADERS = {"qtdb": load_qtdb, "fsdd": load_fsdd, "nmnist": load_nmnist, "smnist": load_smnist}


def load(name: str, data_dir: str | os.PathLike | None = None, split: str = "train", **options) -> SpikeDataset:
    """Load data set `name` ("qtdb", "fsdd", "nmnist", "smnist"); options go to its loader."""
    if name not in LOADERS:
        raise ValueError(f"name must be one of {sorted(LOADERS)}, got {name!r}")
    return LOADERS[name](data_dir=data_dir, split=split, **options)


__all__ = [
    "DATA_ENV",
    "LOADERS",
    "QTDB_STEP_MS",
    "SOURCES",
    "CochleaConfig",
    "DataNotFoundError",
    "SpikeDataset",
    "SpikeSample",
    "fsdd_envelope",
    "load",
    "load_fsdd",
    "load_nmnist",
    "load_qtdb",
    "load_shd",
    "load_smnist",
    "send_on_delta",
]
