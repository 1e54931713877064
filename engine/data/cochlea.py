"""The project's audio front end: a cochlea-like filterbank turning sound into band envelopes.

For each waveform w (float, sample rate fs) and band k = 0..n_bands-1:

    f_k    = f_min_hz * (f_max_hz / f_min_hz) ** (k / (n_bands - 1))   log-spaced centres
    b_k    = BP_k(w)          2nd-order band-pass biquad (RBJ cookbook, 0 dB peak gain),
                              Q = sqrt(r) / (r - 1), r = f_{k+1} / f_k: neighbours meet at -3 dB
    e_k    = LP(relu(b_k))    half-wave rectification (inner hair cells), then two cascaded
                              one-pole low-passes of time constant smoothing_tau_ms;
                              sampled at envelope_rate_hz
    l_k    = clip(1 + 20 log10(e_k / e_peak) / dynamic_range_db, 0, 1)
                              log compression relative to the file's loudest envelope
                              e_peak (over all bands and times): loudness invariant, in [0, 1]
    c_k    = l_k * min(1 / max_t l_k, max_band_gain)
                              per-band normalisation: each band's loudest moment is raised
                              to 1, but by at most max_band_gain, so near-silent bands are not
                              blown up to full scale

The filters are applied in the frequency domain (their exact biquad frequency responses
times the FFT of the zero-padded signal; the padding covers the filters' decay so the
circular convolution equals the IIR filtering), batched over files and bands with
torch.fft. Decimation to envelope_rate_hz keeps only the low FFT bins of the rectified
signal, which the low-pass has already confined. Shape of an envelope: [T_frames, n_bands]
(time-major), frame i at time i * 1000 / envelope_rate_hz ms.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import Tensor


@dataclass(frozen=True)
class CochleaConfig:
    """Front-end settings (filterbank, envelope, compression, send-on-delta step `delta`)."""

    n_bands: int = 32
    f_min_hz: float = 100.0
    f_max_hz: float = 3800.0
    smoothing_tau_ms: float = 4.0
    envelope_rate_hz: float = 1000.0
    dynamic_range_db: float = 50.0
    max_band_gain: float = 2.0
    delta: float = 0.1

    def __post_init__(self) -> None:
        checks = [
            ("n_bands", 2 <= self.n_bands <= 256, "an integer in [2, 256]"),
            ("f_min_hz", 0 < self.f_min_hz < self.f_max_hz, "in (0, f_max_hz)"),
            ("f_max_hz", self.f_max_hz > 0, "> 0 and below half the sample rate"),
            ("smoothing_tau_ms", 0.1 <= self.smoothing_tau_ms <= 100, "in [0.1, 100] ms"),
            ("envelope_rate_hz", self.envelope_rate_hz > 0, "> 0 and dividing the sample rate"),
            ("dynamic_range_db", 1 <= self.dynamic_range_db <= 150, "in [1, 150] dB"),
            ("max_band_gain", self.max_band_gain >= 1, ">= 1"),
            ("delta", 0 < self.delta <= 1, "in (0, 1]"),
        ]
        for field, ok, allowed in checks:
            if not ok:
                raise ValueError(f"{field} must be {allowed}, got {getattr(self, field)}")
        if int(self.n_bands) != self.n_bands:
            raise ValueError(f"n_bands must be an integer in [2, 256], got {self.n_bands}")

    def as_dict(self) -> dict:
        return asdict(self)


def centre_frequencies_hz(config: CochleaConfig) -> np.ndarray:
    """Log-spaced band centres. Shape: [n_bands]."""
    return np.geomspace(config.f_min_hz, config.f_max_hz, config.n_bands)


def _quality(config: CochleaConfig) -> float:
    r = (config.f_max_hz / config.f_min_hz) ** (1 / (config.n_bands - 1))
    return math.sqrt(r) / (r - 1)


def _check_rate(config: CochleaConfig, sample_rate_hz: float) -> int:
    if config.f_max_hz >= sample_rate_hz / 2:
        raise ValueError(f"f_max_hz must be below half the sample rate ({sample_rate_hz / 2} Hz), got {config.f_max_hz}")
    decimation = sample_rate_hz / config.envelope_rate_hz
    if abs(decimation - round(decimation)) > 1e-9:
        raise ValueError(f"envelope_rate_hz must divide the sample rate {sample_rate_hz} Hz, got {config.envelope_rate_hz}")
    return int(round(decimation))


def padding_samples(config: CochleaConfig, sample_rate_hz: float) -> int:
    """Zero padding covering 5 decay times of the slowest band-pass plus the low-pass."""
    band_tau_s = _quality(config) / (math.pi * config.f_min_hz)
    return math.ceil(5 * (band_tau_s + 2e-3 * config.smoothing_tau_ms) * sample_rate_hz)


def _bandpass_response(config: CochleaConfig, sample_rate_hz: float, n_fft: int) -> Tensor:
    """Biquad band-pass frequency responses. Shape: complex64 [n_bands, n_fft // 2 + 1]."""
    w0 = 2 * np.pi * centre_frequencies_hz(config)[:, None] / sample_rate_hz  # [K, 1]
    alpha = np.sin(w0) / (2 * _quality(config))
    z1 = np.exp(-1j * np.linspace(0, np.pi, n_fft // 2 + 1))[None, :]  # [1, F] = e^{-j omega}
    h = alpha * (1 - z1**2) / ((1 + alpha) - 2 * np.cos(w0) * z1 + (1 - alpha) * z1**2)  # [K, F]
    return torch.from_numpy(h.astype(np.complex64))


def _lowpass_response(config: CochleaConfig, sample_rate_hz: float, n_fft: int) -> Tensor:
    """Two cascaded one-pole low-passes. Shape: complex64 [n_fft // 2 + 1]."""
    a = math.exp(-1000.0 / (config.smoothing_tau_ms * sample_rate_hz))
    z1 = np.exp(-1j * np.linspace(0, np.pi, n_fft // 2 + 1))
    return torch.from_numpy((((1 - a) / (1 - a * z1)) ** 2).astype(np.complex64))


def _fast_length(n: int) -> int:
    """Smallest m >= n of the form 2^a 3^b 5^c (a fast FFT size)."""
    m = max(n, 1)
    while True:
        k = m
        for p in (2, 3, 5):
            while k % p == 0:
                k //= p
        if k == 1:
            return m
        m += 1


def envelopes(waves: list[np.ndarray], sample_rate_hz: float, config: CochleaConfig) -> list[np.ndarray]:
    """Raw band envelopes e_k of several waveforms, computed as one FFT batch.

    Shape: waves[i] [L_i] -> [ceil(L_i / decimation), n_bands] float32 (time-major).
    """
    decimation = _check_rate(config, sample_rate_hz)
    longest = max(len(w) for w in waves) + padding_samples(config, sample_rate_hz)
    n_fft = decimation * _fast_length(math.ceil(longest / decimation / 2)) * 2  # even, a multiple of decimation
    n_low = n_fft // decimation
    batch = torch.zeros(len(waves), n_fft)  # [W, n_fft]
    for i, w in enumerate(waves):
        batch[i, : len(w)] = torch.as_tensor(w, dtype=torch.float32)
    spectrum = torch.fft.rfft(batch)  # [W, F]
    bands = torch.fft.irfft(spectrum[:, None, :] * _bandpass_response(config, sample_rate_hz, n_fft), n=n_fft)  # [W, K, n_fft]
    rectified = torch.fft.rfft(torch.relu_(bands))[..., : n_low // 2 + 1]  # [W, K, F_low]
    lowpass = _lowpass_response(config, sample_rate_hz, n_fft)[: n_low // 2 + 1]
    env = torch.fft.irfft(rectified * lowpass, n=n_low) / decimation  # [W, K, n_low], sampled every decimation
    env = env.numpy()
    return [np.ascontiguousarray(env[i, :, : math.ceil(len(w) / decimation)].T) for i, w in enumerate(waves)]


def compress(env: np.ndarray, config: CochleaConfig) -> np.ndarray:
    """Log compression and per-band normalisation (l_k, c_k above). Shape: [T, K] -> [T, K] in [0, 1]."""
    peak = max(float(env.max()), 1e-12)
    floor = peak * 10 ** (-config.dynamic_range_db / 20)
    level = 1 + 20 * np.log10(np.maximum(env, floor) / peak) / config.dynamic_range_db  # [T, K]
    gain = np.minimum(1 / np.maximum(level.max(axis=0), 1e-12), config.max_band_gain)  # [K]
    return np.clip(level * gain, 0, 1).astype(np.float32)


def cochleagram(waves: list[np.ndarray], sample_rate_hz: float, config: CochleaConfig) -> list[np.ndarray]:
    """Normalised band envelopes c_k in [0, 1], the send-on-delta encoder's input.

    Shape: waves[i] [L_i] -> [T_i, n_bands], frame i at i * 1000 / envelope_rate_hz ms.
    """
    return [compress(e, config) for e in envelopes(waves, sample_rate_hz, config)]
