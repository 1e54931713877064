"""Send-on-delta (sigma-delta style) encoding of sampled analog signals into events.

The data front ends (FSDD envelopes, sMNIST pixel sequences) turn an analog signal
x[k], sampled every step_ms, into ON/OFF events. Each channel keeps a reference level
`ref` on the grid m * delta, starting at ref = 0; at sample k:

    n[k]   = floor((x[k] - ref) / delta)     if x[k] >= ref   (ON events)
           = -floor((ref - x[k]) / delta)    otherwise        (OFF events)
    ref   <- ref + n[k] * delta

so |x[k] - ref| < delta after every sample (the reconstruction error bound), a change of
less than delta sends nothing, and noise around a level does not chatter. Each of the
|n[k]| events marks one crossed level ref_old + j * delta (j = 1..|n|).

Event times: with `interpolate=False` (a held, piecewise-constant signal) all events of
sample k are at k * step_ms. With `interpolate=True` (a smooth signal) the time of each
crossed level is found by linear interpolation between samples k-1 and k, so the events
do not sit on the sampling grid and do not depend on a simulation dt. Sample -1 is taken
equal to sample 0, i.e. the events of the first sample are at time 0.
"""

from __future__ import annotations

import numpy as np

# numpy rather than torch here: the loop runs thousands of tiny steps, where numpy's
# per-call cost is low and it never waits on a thread pool.


def send_on_delta_counts(x: np.ndarray, delta: float) -> np.ndarray:
    """Signed event count n per sample and channel (see the module equations).

    Shape: x [T, C] float -> n [T, C] int32 (positive ON, negative OFF).
    """
    if not delta > 0:
        raise ValueError(f"delta must be > 0, got {delta}")
    scaled = np.asarray(x, dtype=np.float64) / delta  # [T, C]
    level = np.zeros(scaled.shape[1:])  # [C] ref / delta, an integer
    counts = np.empty(scaled.shape, dtype=np.int32)  # [T, C]
    for k in range(scaled.shape[0]):  # hysteresis makes this sequential; vectorised over C
        n = np.trunc(scaled[k] - level)  # floor for a rise, -floor(-diff) for a fall
        level += n
        counts[k] = n
    return counts


def send_on_delta(
    x: np.ndarray, delta: float, step_ms: float, interpolate: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Encode signals into ON/OFF events.

    Args:
        x: analog signals, sampled every step_ms.
        delta: level step (same unit as x), > 0.
        step_ms: sampling period (ms).
        interpolate: place events at linearly interpolated crossing times.
    Shape:
        x: [T, C]. Returns time_ms float64 [E], column int64 [E] in [0, C), polarity int64
        [E] (1 ON, 0 OFF); sorted by sample k, then column.
    Example:
        >>> t, c, on = send_on_delta(np.array([[0.0], [0.25], [0.05]]), 0.1, 1.0)
        >>> t.tolist(), on.tolist()   # ref: 0 -> 0.2 (two ON) -> 0.1 (one OFF)
        ([1.0, 1.0, 2.0], [1, 1, 0])
    """
    counts = send_on_delta_counts(x, delta)  # [T, C]
    k, col = np.nonzero(counts)  # [G] groups of events
    n = counts[k, col].astype(np.int64)  # [G]
    size = np.abs(n)  # [G]
    level_after = np.cumsum(counts, axis=0, dtype=np.int64)[k, col]  # [G] ref / delta after sample k
    group = np.repeat(np.arange(len(n)), size)  # [E]
    first = np.cumsum(size) - size  # [G]
    j = np.arange(int(size.sum())) - first[group] + 1  # [E] 1..|n| within a group
    sign = np.sign(n)[group]  # [E]
    crossed = (level_after - n)[group] + sign * j  # [E] crossed level / delta
    k_e, col_e = k[group], col[group]
    if interpolate:
        xs = np.asarray(x, dtype=np.float64) / delta  # [T, C]
        now, before = xs[k_e, col_e], xs[np.maximum(k_e - 1, 0), col_e]  # [E]
        span = now - before
        safe = np.where(span != 0, span, 1.0)
        frac = np.clip(np.where(span != 0, (crossed - before) / safe, 1.0), 0.0, 1.0)
        time_ms = (k_e - 1 + frac) * step_ms
    else:
        time_ms = k_e * float(step_ms)
    return np.maximum(time_ms, 0.0), col_e, (sign > 0).astype(np.int64)
