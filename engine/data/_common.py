"""Where data and caches live, and the error raised when data is missing.

Data folders are never part of the repository. A loader's `data_dir` resolves as: the
explicit argument, else the environment variable SPIKINGGAMMA_DATA_DIR, else an error.
`data_dir` may be the root holding every data set's folder (e.g. `<root>/qtdb_yin`) or
that data set's folder itself.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

DATA_ENV = "SPIKINGGAMMA_DATA_DIR"
CACHE_ENV = "SPIKINGGAMMA_CACHE_DIR"
SPLITS = ("train", "test")

# Official places to download each data set from.
SOURCES = {
    "qtdb": "PhysioNet QT database (physionet.org/content/qtdb/1.0.0), spike-encoded and "
    "labelled by Yin et al.: github.com/byin-cwi/Efficient-spiking-networks, data/QTDB_{train,test}.mat",
    "fsdd": "Free Spoken Digit Dataset: github.com/Jakobovski/free-spoken-digit-dataset, folder recordings/",
    "nmnist": "N-MNIST: garrickorchard.com/datasets/n-mnist (<id>.bs2 = the original .bin event files)",
    "mnist": "MNIST: yann.lecun.com/exdb/mnist (t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz)",
    "shd": "Spiking Heidelberg Datasets (SHD/SSC HDF5): zenkelab.org/resources/spiking-heidelberg-datasets-shd",
}


class DataNotFoundError(FileNotFoundError):
    """A data folder or file is missing; the message names it and where to download it."""


def check_split(split: str) -> str:
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    return split


def find_data_dir(data_dir: str | os.PathLike | None, folder: str, marker: str, source: str) -> Path:
    """The folder of one data set, checked to contain `marker` (a file or folder name).

    Tries `<data_dir>/<folder>` then `<data_dir>` itself; data_dir defaults to
    $SPIKINGGAMMA_DATA_DIR. Raises DataNotFoundError naming the expected path and source.
    """
    how = f"Download it from {SOURCES[source]}"
    if data_dir is None:
        data_dir = os.environ.get(DATA_ENV)
        if not data_dir:
            raise DataNotFoundError(
                f"No data directory given: pass data_dir or set {DATA_ENV} to the folder holding "
                f"{folder}/{marker}. {how}"
            )
    root = Path(data_dir).expanduser()
    for candidate in (root / folder, root):
        if (candidate / marker).exists():
            return candidate
    raise DataNotFoundError(f"Expected {root / folder / marker} (folder {folder}/ under {root}). {how}")


def require_file(path: Path, source: str) -> Path:
    if not path.exists():
        raise DataNotFoundError(f"Expected file {path}. Download it from {SOURCES[source]}")
    return path


def default_cache_dir() -> Path:
    """$SPIKINGGAMMA_CACHE_DIR, else ~/.cache/spikinggamma (outside the repository)."""
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "spikinggamma").expanduser()


@contextlib.contextmanager
def parsing(path: os.PathLike | str):
    """Around the code that decodes one file: a truncated or corrupt file raises a ValueError
    naming the file, whatever the parser raised (a missing file stays a FileNotFoundError)."""
    try:
        yield
    except FileNotFoundError:
        raise
    except Exception as err:  # struct, zlib, EOF, wave, scipy.io, reshape ... errors
        if isinstance(err, ValueError) and str(path) in str(err):
            raise
        raise ValueError(f"{path}: corrupt or truncated file ({type(err).__name__}: {err})") from err
