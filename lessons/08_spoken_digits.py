"""Lesson 2: from speech to spikes, the front end the `fsdd` data set goes through.

Run: ``python lessons/02_audio_to_spikes.py [--data-dir DIR] [out_dir]`` (or set
SPIKINGGAMMA_DATA_DIR); it draws one spoken digit of the Free Spoken Digit Dataset in three
panels, in ms:

1. The cochlea-like filterbank (`engine/data/cochlea.py`): 32 band-pass filters, log-spaced from
   100 Hz to 3.8 kHz; each band's envelope is rectified and smoothed (a few ms).
2. Log compression and per-band normalisation: the input of the encoder, between 0 and 1.
3. Send-on-delta encoding: a band emits an "up" event each time its level rises by δ and a
   "down" event each time it falls by δ. The events carry times in ms, so a network simulated
   at any dt sees the same spikes (`SpikeDataset.to_dense(indices, dt_ms)` bins them).
"""
import argparse
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from engine.data import fsdd_envelope, load_fsdd  # noqa: E402
from engine.data.fsdd import fsdd_files  # noqa: E402


def main(out_dir: str = "artifacts/lessons", data_dir: str | None = None,
         name: str = "3_jackson_0.wav") -> str:
    env = fsdd_envelope(name, data_dir=data_dir)
    names = [f.path.name for f in fsdd_files(data_dir, "test")]  # the split's order
    sample = load_fsdd(data_dir, "test")[names.index(name)]
    t_env = np.arange(env.raw.shape[0]) * env.step_ms
    fig, axes = plt.subplots(3, 1, figsize=(10, 9), sharex=True)
    axes[0].imshow(env.raw.T, aspect="auto", origin="lower", cmap="magma",
                   extent=(0, t_env[-1], 0, env.raw.shape[1]))
    axes[0].set_ylabel("band (low → high)")
    axes[0].set_title(f"{name}: filterbank envelopes ({env.raw.shape[1]} bands, "
                      f"{env.centre_hz[0]:.0f}–{env.centre_hz[-1]:.0f} Hz)")
    axes[1].imshow(env.normalised.T, aspect="auto", origin="lower", cmap="viridis",
                   extent=(0, t_env[-1], 0, env.raw.shape[1]), vmin=0, vmax=1)
    axes[1].set_ylabel("band")
    axes[1].set_title("log-compressed, normalised: the encoder's input (0–1)")
    times, channels = sample.times_ms.numpy(), sample.channels.numpy()
    n_bands = env.raw.shape[1]
    up = channels < n_bands
    axes[2].scatter(times[up], channels[up], s=4, c="tab:red", label="up events")
    axes[2].scatter(times[~up], channels[~up] - n_bands, s=4, c="tab:blue", label="down events")
    axes[2].set_ylabel("band")
    axes[2].set_xlabel("time (ms)")
    axes[2].set_title(f"send-on-delta events: {len(times)} in all (same at every dt)")
    axes[2].legend(loc="upper right")
    fig.tight_layout()
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, "audio_to_spikes.png")
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", nargs="?", default="artifacts/lessons")
    parser.add_argument("--data-dir", default=None, help="data root (default $SPIKINGGAMMA_DATA_DIR)")
    args = parser.parse_args()
    print(main(args.out_dir, args.data_dir))
