"""Benchmark ``memory``: peak training memory and time per step vs the number of steps.

The same 500 ms sequence at finer and finer dt (T = 500 ms / dt); one training step (one
sequence, forward + gradient + Adam update) per point, each point in a fresh subprocess so that
RSS readings of one point do not leak into the next. Network: 64 → 128 → 10, batch 8, Poisson
inputs at 20 Hz, per-step cross-entropy, one thread.

RSS is read with ``MALLOC_TRIM_THRESHOLD_=0`` (see :func:`_subprocess_point`), which makes glibc
return every large freed block to the system: fair for memory, but it charges page faults to
any model that allocates large temporaries, as the chunked path does once per chunk. So the
time ratios (:func:`time_ratios`) are measured apart, in fresh subprocesses under the default
allocator, the models interleaved, the best of ``repeats`` taken: ``sg-spatial`` and
``sg-traces`` (the chunked fast path, the default), the same with ``@step`` (the per-step
reference path) and snnTorch's BPTT, side by side in one run.
"""
from __future__ import annotations

import json
import subprocess
import sys

DURATION_MS = 500.0
SIZES = (64, 128, 10)
BATCH = 8
KINDS = ("sg-spatial", "sg-traces", "sg-bptt", "lif-bptt", "lif-ottt", "snntorch")
STEPS = {"quick": (250, 1000, 2000), "full": (1000, 2000, 5000, 10000, 20000)}


TIME_KINDS = ("sg-spatial", "sg-traces", "sg-spatial@step", "sg-traces@step", "snntorch")
TIME_STEPS = {"quick": 1000, "full": 5000}


def measure_point(kind: str, n_steps: int) -> dict:
    """One point, in this process: memory above the level before training, and time.
    ``kind@step``: a SpikingGamma kind on the per-step reference path instead of the chunked one."""
    import time

    import torch

    from ..memory import PeakMemory
    from .models import BenchModel
    from ..tasks.datasets import BenchTask

    torch.set_num_threads(1)
    torch.set_flush_denormal(True)
    dt = DURATION_MS / n_steps
    task = BenchTask("memory", SIZES[0], SIZES[-1], 0.0, BATCH, BATCH, BATCH)
    base, _, path = kind.partition("@")
    model = BenchModel(base, task, dt, hidden=SIZES[1:-1])
    if path == "step":
        model.trainer.chunk_steps = None
    gen = torch.Generator().manual_seed(0)
    rate = 20.0 * dt / 1000.0
    warm_x = (torch.rand(20, BATCH, SIZES[0], generator=gen) < rate).float()
    labels = torch.randint(SIZES[-1], (BATCH,), generator=gen)
    model.train_batch(warm_x, labels)  # allocator and autograd warm-up
    x = (torch.rand(n_steps, BATCH, SIZES[0], generator=gen) < rate).float()  # outside the probe
    with PeakMemory() as mem:
        start = time.perf_counter()
        model.train_batch(x, labels)
        wall = time.perf_counter() - start
    return {"model": kind, "n_steps": n_steps, "dt_ms": dt, "training_memory_mb": round(mem.peak_mb, 2),
            "peak_rss_mb": round(mem.total_peak_mb, 1), "s_per_sequence": round(wall, 3),
            "us_per_step": round(wall / n_steps * 1e6, 1)}


def _subprocess_point(kind: str, n_steps: int, timeout_s: float = 900, trim: bool = True) -> dict:
    import os
    # glibc keeps freed small blocks mapped (RSS creeps ~3 KB/step for any per-step allocation
    # pattern); trimming on every free makes RSS track live memory, for every model alike
    env = {**os.environ, "MALLOC_TRIM_THRESHOLD_": "0"} if trim else dict(os.environ)
    proc = subprocess.run([sys.executable, "-m", "engine.bench.memory", kind, str(n_steps)],
                          capture_output=True, text=True, timeout=timeout_s, env=env)
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["failed"])[-1]
        return {"model": kind, "n_steps": n_steps, "error": tail}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run(quick: bool = True, kinds=None, steps=None, log=print) -> tuple[list[dict], list[dict]]:
    """All points (rows) and a summary per model (growth, time ratio to snnTorch)."""
    from ..baselines import snntorch_peer
    steps = steps or STEPS["quick" if quick else "full"]
    kinds = kinds or KINDS
    rows = []
    for kind in kinds:
        if kind == "snntorch" and not snntorch_peer.available():
            log("snntorch: not installed (pip install snntorch) - row skipped")
            continue
        for n in steps:
            row = _subprocess_point(kind, n)
            log(json.dumps(row))
            rows.append(row)
    return rows, summarize(rows)


def time_ratios(quick: bool = True, kinds=None, n_steps: int | None = None, repeats: int = 3,
                log=print) -> list[dict]:
    """Training time per step of each kind against snnTorch's BPTT, measured side by side (one
    500 ms sequence at dt = 500 ms / n_steps; default 5,000 steps = dt 0.1 ms, full size)."""
    from ..baselines import snntorch_peer
    n_steps = n_steps or TIME_STEPS["quick" if quick else "full"]
    kinds = [k for k in (kinds or TIME_KINDS) if k != "snntorch" or snntorch_peer.available()]
    best: dict[str, dict] = {}
    for _ in range(repeats):
        for kind in kinds:  # interleaved, so that a busy spell of the machine hits all alike
            row = _subprocess_point(kind, n_steps, trim=False)
            log(json.dumps(row))
            if "error" not in row and (kind not in best or row["us_per_step"] < best[kind]["us_per_step"]):
                best[kind] = row
    ref = best.get("snntorch")
    return [{"model": k, "n_steps": n_steps, "dt_ms": r["dt_ms"], "repeats": repeats,
             "best_us_per_step": r["us_per_step"],
             "time_ratio_vs_snntorch": round(r["us_per_step"] / ref["us_per_step"], 3) if ref else float("nan")}
            for k, r in best.items()]


def summarize(rows: list[dict]) -> list[dict]:
    ok = [r for r in rows if "error" not in r]
    snn = {r["n_steps"]: r["us_per_step"] for r in ok if r["model"] == "snntorch"}
    out = []
    for kind in dict.fromkeys(r["model"] for r in ok):
        pts = sorted((r for r in ok if r["model"] == kind), key=lambda r: r["n_steps"])
        ref = next((p for p in pts if p["n_steps"] >= 1000), pts[0])
        last = pts[-1]
        growth = last["training_memory_mb"] - ref["training_memory_mb"]
        ratios = [p["us_per_step"] / snn[p["n_steps"]] for p in pts if p["n_steps"] in snn]
        out.append({"model": kind, "from_steps": ref["n_steps"], "to_steps": last["n_steps"],
                    "mem_from_mb": ref["training_memory_mb"], "mem_to_mb": last["training_memory_mb"],
                    "growth_mb": round(growth, 2),
                    "growth_pct": round(100 * growth / max(ref["training_memory_mb"], 1e-9), 1),
                    "mb_per_1000_steps": round(1000 * growth / max(last["n_steps"] - ref["n_steps"], 1), 2),
                    "us_per_step_at_max": last["us_per_step"],
                    "time_ratio_vs_snntorch": round(sum(ratios) / len(ratios), 2) if ratios else float("nan")})
    return out


if __name__ == "__main__":
    print(json.dumps(measure_point(sys.argv[1], int(sys.argv[2]))))
