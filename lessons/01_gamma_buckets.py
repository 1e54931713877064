"""Lesson 1: gamma buckets, the only memory a SpikingGamma neuron has.

Run: ``python lessons/01_gamma_buckets.py [out_dir]``; it builds the figures headlessly (PNG).
In the browser, the Neuron lab (``spikinggamma serve`` → Neuron lab) shows the same, live.

1. A spike of height 1 enters bucket 0, which decays with τ. Bucket k leaks into bucket k+1,
   so bucket k's response is a gamma kernel peaking near k·τ: the input, smoothed and delayed.
2. Weighting buckets with v (here: a Gaussian around the bucket nearest a chosen delay) gives the
   neuron a smooth delay: that is what SpikingGamma learns.
3. The kernels are defined in milliseconds: α = exp(−dt/τ) changes with dt, the curves do not
   (to O(dt/τ)). Compare the two kernel figures at dt = 1 ms and dt = 0.1 ms.
"""
import os
import sys

from workbench.neuron_model import NeuronLabModel
from workbench.pages.neuron import figures
from workbench.exports import png_bytes


def main(out_dir: str = "artifacts/lessons") -> list[str]:
    os.makedirs(out_dir, exist_ok=True)
    written = []
    peaks = {}
    for dt in (1.0, 0.1):
        lab = NeuronLabModel(dt_ms=dt, tau_ms=5.0, n_buckets=4, delay_ms=15.0)
        d = lab.simulate()
        peaks[dt] = d["kernels"].max(0)
        path = os.path.join(out_dir, f"gamma_buckets_dt{dt:g}.png")
        with open(path, "wb") as fh:
            fh.write(png_bytes(figures(d)))
        written.append(path)
    change = abs(peaks[1.0] - peaks[0.1]).max() / peaks[0.1].max()
    print(f"kernel peaks at dt=1 ms: {peaks[1.0].round(3)}; at dt=0.1 ms: {peaks[0.1].round(3)}")
    print(f"largest change: {100 * change:.0f} % of the peak (O(dt/τ) = {100 * 1.0 / 5.0:.0f} %)")
    return written


if __name__ == "__main__":
    for p in main(*sys.argv[1:]):
        print("wrote", p)
