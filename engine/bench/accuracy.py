"""Benchmark ``accuracy``: test accuracy on qtdb, fsdd, nmnist, smnist for SpikingGamma (spatial,
traces) and LIF-BPTT at the same layer sizes and the same number of training batches, with hidden
spikes per neuron per second and synaptic operations per sample.

dt per task (ms): qtdb 4 (the data's own step), fsdd 2, nmnist 1, smnist 2. ``sg-traces`` keeps
K eligibility traces per parameter and sample, so it trains on ``TRACES_FRACTION`` of the batches
(its row says how many).
"""
from __future__ import annotations

import json

MODELS = ("sg-spatial", "sg-traces", "lif-bptt")
TASKS = ("qtdb", "fsdd", "nmnist", "smnist")
DT_MS = {"qtdb": 4.0, "fsdd": 2.0, "nmnist": 1.0, "smnist": 2.0}
HIDDEN = {"quick": (64,), "full": (128,)}
EPOCHS = {"quick": 1, "full": 3}
TRACES_FRACTION = {"quick": 0.5, "full": 0.34}


def run(quick: bool = True, tasks=None, models=None, data_dir=None, log=print,
        epochs: int | None = None) -> list[dict]:
    import torch

    from .models import BenchModel
    from .tasks import make_task
    from .train_eval import evaluate, train
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)
    size = "quick" if quick else "full"
    rows = []
    tasks, models = tasks or TASKS, models or MODELS
    for name in tasks:
        try:
            task = make_task(name, quick=quick, data_dir=data_dir)
        except Exception as err:
            rows.append({"task": name, "model": "-", "error": repr(err)})
            log(f"{name}: {err!r}")
            continue
        dt = DT_MS[name]
        for kind in models:
            try:
                model = BenchModel(kind, task, dt, hidden=HIDDEN[size])
                n_batches = (epochs or EPOCHS[size]) * task.batches_per_epoch
                if kind == "sg-traces":
                    n_batches = max(1, int(n_batches * TRACES_FRACTION[size]))
                info = train(model, task, dt, n_batches)
                m = evaluate(model, task, dt)
                row = {"task": name, "model": kind, "dt_ms": dt, "hidden": "x".join(map(str, HIDDEN[size])),
                       "params": model.n_params, "train_batches": n_batches, "batch_size": task.batch_size,
                       "n_train": task.n_train, "n_test": task.n_test, "crop_ms": task.crop_ms,
                       "accuracy_pct": round(m["accuracy"], 2),
                       "spikes_per_neuron_per_s": round(m["spikes_per_neuron_per_s"], 1),
                       "synops_per_sample": round(m["synops_per_sample"]), **info}
            except Exception as err:
                row = {"task": name, "model": kind, "error": repr(err)}
            log(json.dumps(row))
            rows.append(row)
    return rows
