"""Free Spoken Digit Dataset (FSDD) as spike events, through the project's own front end.

Files: `recordings/<digit>_<speaker>_<take>.wav`, mono 16-bit PCM at 8 kHz, 3000 files
(10 digits x 6 speakers x 50 takes). Official split: takes 0-4 test (300), 5-49 train (2700).

Pipeline per file (settings in `CochleaConfig`; equations in `engine.data.cochlea`):
waveform -> 32 log-spaced band-pass biquads (100 Hz .. 3.8 kHz) -> half-wave rectification
-> 4 ms two-pole envelope smoothing, sampled at 1 kHz -> log compression (50 dB range,
relative to the file's peak) -> per-band normalisation (gain <= 2) -> send-on-delta
(`engine.data.send_on_delta`, delta 0.1, crossing times linearly interpolated between
envelope samples, so event times do not depend on a simulation dt).
Channels: band k rising = k (ON), band k falling = n_bands + k (OFF).

Converted splits are cached as `<cache_dir>/fsdd/<split>-<key>.pt`, the key hashing the
front-end settings and the recordings' names and sizes; cache_dir defaults to
$SPIKINGGAMMA_CACHE_DIR, else ~/.cache/spikinggamma (never inside the repository).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import wave
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch

from ._common import DataNotFoundError, check_split, default_cache_dir, find_data_dir, parsing
from .cochlea import CochleaConfig, centre_frequencies_hz, cochleagram, compress, envelopes
from .dataset import SpikeDataset
from .send_on_delta import send_on_delta

FSDD_N_CLASSES = 10
FSDD_TEST_TAKES = range(0, 5)
_CACHE_VERSION = 1  # bump when the conversion changes
_CHUNK = 64  # files per FFT / encoder batch


class FsddFile(NamedTuple):
    path: Path
    digit: int
    speaker: str
    take: int


class FsddEnvelope(NamedTuple):
    """Front-end stages of one file. Shape: raw, normalised [T, n_bands]; centre_hz [n_bands]."""

    raw: np.ndarray  # e_k, linear band envelopes
    normalised: np.ndarray  # c_k in [0, 1], the encoder's input
    centre_hz: np.ndarray
    step_ms: float  # envelope sample period


def fsdd_files(data_dir: str | os.PathLike | None = None, split: str = "train") -> list[FsddFile]:
    """The split's recordings, sorted by (digit, speaker, take)."""
    check_split(split)
    folder = find_data_dir(data_dir, "fsdd", "recordings", "fsdd") / "recordings"
    files = []
    for path in folder.glob("*.wav"):
        digit, speaker, take = path.stem.split("_")
        if (int(take) in FSDD_TEST_TAKES) == (split == "test"):
            files.append(FsddFile(path, int(digit), speaker, int(take)))
    if not files:
        raise DataNotFoundError(f"No {split} .wav files in {folder}. Download it from the FSDD repository")
    return sorted(files, key=lambda f: (f.digit, f.speaker, f.take))


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    """Mono 16-bit PCM WAV -> (float32 samples in [-1, 1), sample rate in Hz)."""
    with parsing(path), wave.open(str(path), "rb") as f:
        if f.getnchannels() != 1 or f.getsampwidth() != 2:
            raise ValueError(f"{path}: expected mono 16-bit PCM")
        raw = f.readframes(f.getnframes())
        if len(raw) % 2 or f.getframerate() <= 0:
            raise ValueError(f"{path}: truncated sample data or no sample rate")
        return np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768.0, f.getframerate()


def fsdd_envelope(file: str | os.PathLike, data_dir: str | os.PathLike | None = None, **settings) -> FsddEnvelope:
    """Filterbank envelopes of one recording, for plots. `file`: a path, or a name like
    "3_jackson_0.wav" looked up in the recordings folder; settings: CochleaConfig fields."""
    config = CochleaConfig(**settings)
    path = Path(file)
    if not path.exists():
        path = find_data_dir(data_dir, "fsdd", "recordings", "fsdd") / "recordings" / path.name
    wave_, rate = read_wav(path)
    raw = envelopes([wave_], rate, config)[0]
    return FsddEnvelope(raw, compress(raw, config), centre_frequencies_hz(config), 1000.0 / config.envelope_rate_hz)


def _encode(files: list[FsddFile], config: CochleaConfig, name: str) -> SpikeDataset:
    """Front end + send-on-delta for all files, in length-sorted chunks."""
    waves, rates = zip(*(read_wav(f.path) for f in files))
    if len(set(rates)) != 1:
        raise ValueError(f"FSDD files must share one sample rate, got {sorted(set(rates))}")
    rate, k_bands, step_ms = rates[0], config.n_bands, 1000.0 / config.envelope_rate_hz
    times, channels = [None] * len(files), [None] * len(files)
    order = np.argsort([len(w) for w in waves], kind="stable")
    for start in range(0, len(files), _CHUNK):
        chunk = order[start : start + _CHUNK]
        cgrams = cochleagram([waves[i] for i in chunk], rate, config)  # each [T_i, K]
        n_frames = max(len(c) for c in cgrams)
        # hold each file's last value to the chunk's length: no events after its end
        padded = np.concatenate([np.pad(c, ((0, n_frames - len(c)), (0, 0)), mode="edge") for c in cgrams], axis=1)  # [T, W*K]
        t_ms, col, on = send_on_delta(padded, config.delta, step_ms, interpolate=True)
        file_of, band = col // k_bands, col % k_bands
        for w, i in enumerate(chunk):
            mine = np.flatnonzero(file_of == w)
            mine = mine[np.argsort(t_ms[mine], kind="stable")]
            times[i], channels[i] = t_ms[mine], band[mine] + (1 - on[mine]) * k_bands
    return SpikeDataset.from_samples(
        name=name,
        n_channels=2 * k_bands,
        n_classes=FSDD_N_CLASSES,
        times_ms=times,
        channels=channels,
        labels=[f.digit for f in files],
        durations_ms=[1000.0 * len(w) / rate for w in waves],
    )


def _cache_path(cache_dir: Path, files: list[FsddFile], config: CochleaConfig, split: str) -> Path:
    listing = [(f.path.name, f.path.stat().st_size) for f in files]
    blob = json.dumps([_CACHE_VERSION, dataclasses.asdict(config), listing], sort_keys=True)
    return cache_dir / "fsdd" / f"{split}-{hashlib.sha256(blob.encode()).hexdigest()[:16]}.pt"


def load_fsdd(
    data_dir: str | os.PathLike | None = None,
    split: str = "train",
    config: CochleaConfig | None = None,
    cache_dir: str | os.PathLike | None = None,
    use_cache: bool = True,
    **settings,
) -> SpikeDataset:
    """Load FSDD as ON/OFF events of a cochlea-like front end.

    Args:
        data_dir: root data folder (holding fsdd/recordings) or the fsdd folder itself;
            default $SPIKINGGAMMA_DATA_DIR.
        split: "train" (takes 5-49, 2700 files) or "test" (takes 0-4, 300 files).
        config: front-end settings (default CochleaConfig()); `settings` override single
            fields, e.g. load_fsdd(split="test", n_bands=64, delta=0.05).
        cache_dir: where converted splits are kept (default: see module docstring).
        use_cache: read and write the cache.
    Returns:
        SpikeDataset, 2 * n_bands channels, 10 classes (the digit), one label per sample;
        duration_ms = the longest recording of the split.
    """
    config = dataclasses.replace(config or CochleaConfig(), **settings)
    files = fsdd_files(data_dir, split)
    name = f"fsdd/{split}"
    cache = _cache_path(Path(cache_dir) if cache_dir else default_cache_dir(), files, config, split)
    if use_cache and cache.exists():
        try:
            return SpikeDataset.from_state_dict(torch.load(cache, weights_only=True))
        except Exception:  # unreadable or stale layout: convert again
            pass
    dataset = _encode(files, config, name)
    if use_cache:
        cache.parent.mkdir(parents=True, exist_ok=True)
        partial = cache.with_suffix(f".{os.getpid()}.tmp")
        torch.save(dataset.state_dict(), partial)
        partial.replace(cache)  # atomic: readers never see half a file
    return dataset
