"""Benchmark ``steps``: accuracy, training memory and time per epoch against the number of time
steps, each model trained *and* tested at every dt (the paper's Figure 5 comparison).

One real data set (QTDB by default: per-step labels, its recipe's cosine schedule) at
dt = 4, 2, 1, 0.5, 0.25 ms, 16× the steps from end to end, for SpikingGamma ``spatial`` and
``traces`` (online, memory O(chunk)), LIF-OTTT (the online peer) and LIF-BPTT (memory O(T)).
Every point runs in a fresh subprocess (``python -m engine.bench.steps KIND DT ...``), so that its
training memory (peak RSS above the level before training, engine.memory.PeakMemory) is its own,
with glibc trimming its heap on every free as ``bench memory`` does (``MALLOC_TRIM_THRESHOLD_=0``:
RSS then tracks live memory; the run in BENCHMARKS.md was made before this, see there).
The same number of batches at every dt: the steps grow, the data and the budget do not.
"""
from __future__ import annotations

import json
import subprocess
import sys

DTS_MS = (4.0, 2.0, 1.0, 0.5, 0.25)
MODELS = ("sg-spatial", "sg-traces", "lif-ottt", "lif-bptt")
HIDDEN = (128,)
#: (task, data size, epochs) per benchmark size; "quick" is what the test suite runs. "full" uses
#: QTDB's quick subset (64 training, 32 test recordings of 1 s) for 12 epochs: 20 points of
#: up to 4,000 steps per sample fit in about 40 minutes on 2 busy cores
SIZES = {"quick": ("qtdb", "quick", 1), "full": ("qtdb", "quick", 12)}


def measure_point(kind: str, dt_ms: float, size: str = "quick", seed: int = 0,
                  epochs: int | None = None, data_dir=None) -> dict:
    """Train ``kind`` at ``dt_ms`` for the size's epochs and test it at the same dt, in this
    process: accuracy (%), hidden rate, synaptic operations, training memory and s per epoch."""
    import time

    import torch

    from ..memory import PeakMemory
    from ..tasks.datasets import classification_task
    from .models import BenchModel
    from .train_eval import evaluate

    torch.set_num_threads(1)
    torch.set_flush_denormal(True)
    name, data_size, default_epochs = SIZES[size]
    task = classification_task(name, quick=data_size == "quick", data_dir=data_dir)
    n_epochs = epochs or default_epochs
    n_batches = n_epochs * task.batches_per_epoch
    recipe = task.recipe
    model = BenchModel(kind, task, dt_ms, hidden=HIDDEN, lr=recipe.lr, seed=seed,
                       lr_schedule=recipe.lr_schedule, total_updates=n_batches)
    batches = [task.train_batch(dt_ms, i) for i in range(task.batches_per_epoch)]  # outside the probe
    with PeakMemory() as mem:
        start = time.perf_counter()
        for i in range(n_batches):
            model.train_batch(*batches[i % len(batches)])
        wall = time.perf_counter() - start
    m = evaluate(model, task, dt_ms)
    return {"task": name, "model": kind, "seed": seed, "dt_ms": dt_ms,
            "steps_per_sample": batches[0][0].shape[0], "epochs": n_epochs,
            "train_batches": n_batches, "accuracy_pct": round(m["accuracy"], 2),
            "spikes_per_neuron_per_s": round(m["spikes_per_neuron_per_s"], 1),
            "synops_per_sample": round(m["synops_per_sample"]),
            "training_memory_mb": round(mem.peak_mb, 1),
            "s_per_epoch": round(wall / n_epochs, 2)}


def run(quick: bool = True, models=None, dts=None, seeds=(0,), epochs: int | None = None,
        data_dir=None, log=print, timeout_s: float = 3600) -> list[dict]:
    """Every (model, dt, seed) point in its own subprocess; a failing point is a row with its
    error, and the rest still runs."""
    import os
    size = "quick" if quick else "full"
    env = {**os.environ, "MALLOC_TRIM_THRESHOLD_": "0"}
    rows = []
    for kind in models or MODELS:
        for dt in dts or DTS_MS:
            for seed in seeds:
                cmd = [sys.executable, "-m", "engine.bench.steps", kind, str(dt), size, str(seed),
                       str(epochs or 0)] + ([str(data_dir)] if data_dir else [])
                try:
                    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s,
                                          env=env)
                    if proc.returncode != 0:
                        raise RuntimeError((proc.stderr.strip().splitlines() or ["failed"])[-1])
                    row = json.loads(proc.stdout.strip().splitlines()[-1])
                except (RuntimeError, subprocess.TimeoutExpired, ValueError) as err:
                    row = {"model": kind, "dt_ms": dt, "seed": seed, "error": str(err)}
                log(json.dumps(row))
                rows.append(row)
    return rows


def summarize(rows: list[dict]) -> list[dict]:
    """Per model: accuracy at the coarsest and finest dt, its spread over all dt (points), and
    training memory and time per epoch from the coarsest to the finest dt (× growth)."""
    out = []
    ok = [r for r in rows if "error" not in r]
    for kind in dict.fromkeys(r["model"] for r in ok):
        pts = sorted((r for r in ok if r["model"] == kind), key=lambda r: -r["dt_ms"])
        acc = [r["accuracy_pct"] for r in pts]
        first, last = pts[0], pts[-1]
        out.append({"model": kind, "n_dts": len(pts), "dt_from_ms": first["dt_ms"],
                    "dt_to_ms": last["dt_ms"], "accuracy_from_pct": first["accuracy_pct"],
                    "accuracy_to_pct": last["accuracy_pct"],
                    "accuracy_spread_points": round(max(acc) - min(acc), 2),
                    "memory_from_mb": first["training_memory_mb"],
                    "memory_to_mb": last["training_memory_mb"],
                    "s_per_epoch_from": first["s_per_epoch"], "s_per_epoch_to": last["s_per_epoch"],
                    "time_growth": round(last["s_per_epoch"] / max(first["s_per_epoch"], 1e-9), 1)})
    return out


if __name__ == "__main__":  # one point: KIND DT SIZE SEED EPOCHS [DATA_DIR]
    args = sys.argv[1:]
    point = measure_point(args[0], float(args[1]), args[2], int(args[3]), int(args[4]) or None,
                          args[5] if len(args) > 5 else None)
    print(json.dumps(point))
