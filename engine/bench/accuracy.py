"""Benchmark ``accuracy``: test accuracy on qtdb, fsdd, nmnist, smnist for SpikingGamma (spatial,
traces) against LIF-BPTT and LIF-OTTT at the same layer sizes and the same number of training
batches, with hidden spikes per neuron per second and synaptic operations per sample.

Each data set trains with its :class:`engine.tasks.datasets.Recipe` (dt, epochs, lr and its cosine
schedule), the same for every model; ``--epochs`` overrides the recipe's. ``sg-traces`` keeps K
eligibility traces per parameter and sample, so it trains on ``TRACES_FRACTION`` of the batches
(its row says how many; ``--traces-fraction 1`` for equal epochs). One row per model and seed;
:func:`summarize` gives mean ± spread.
"""
from __future__ import annotations

import json
import statistics

MODELS = ("sg-spatial", "sg-traces", "lif-bptt", "lif-ottt")
TASKS = ("qtdb", "fsdd", "nmnist", "smnist")
HIDDEN = {"quick": (64,)}  # full size: each data set's recipe (engine.tasks.datasets.RECIPES)
QUICK_EPOCHS = 1
TRACES_FRACTION = {"quick": 0.5, "full": 0.34}


def run(quick: bool = True, tasks=None, models=None, data_dir=None, log=print,
        epochs: int | None = None, seeds=(0,), traces_fraction: float | None = None,
        spike_costs=None, hidden: tuple[int, ...] | None = None) -> list[dict]:
    """One row per task, model, seed (and spike-cost weight, when ``spike_costs`` lists several:
    the accuracy–spikes trade-off; ``None``: the recipe's for SpikingGamma, none for LIF; every
    weight ramps up over the recipe's ``spike_cost_ramp``, LIF's too).
    ``hidden``: neurons per hidden layer for every model (default: quick ``HIDDEN``, full the
    data set's recipe)."""
    import torch

    from .models import BenchModel
    from ..learn.losses import ramp_over
    from ..tasks.datasets import classification_task
    from .train_eval import evaluate, train
    if traces_fraction is not None and not 0 < traces_fraction <= 1:
        raise ValueError(f"traces_fraction must be in (0, 1] (got {traces_fraction!r})")
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)
    size = "quick" if quick else "full"
    if hidden is not None and (not hidden or any(n < 1 for n in hidden)):
        raise ValueError(f"hidden: neurons per hidden layer must be >= 1 (got {hidden})")
    rows = []
    tasks, models = tasks or TASKS, models or MODELS
    for name in tasks:
        try:
            task = classification_task(name, quick=quick, data_dir=data_dir)
        except Exception as err:
            rows.append({"task": name, "model": "-", "error": repr(err)})
            log(f"{name}: {err!r}")
            continue
        recipe = task.recipe
        layers = hidden or (HIDDEN["quick"] if quick else recipe.hidden)
        dt = recipe.dt_ms
        n_epochs = epochs or (QUICK_EPOCHS if quick else recipe.epochs)
        for kind in models:
            n_batches = n_epochs * task.batches_per_epoch
            if kind == "sg-traces":
                fraction = traces_fraction if traces_fraction is not None else TRACES_FRACTION[size]
                n_batches = max(1, int(n_batches * fraction))
            for seed, cost in ((s, c) for c in (spike_costs or (None,)) for s in seeds):
                try:
                    ramp = ramp_over(recipe.spike_cost_ramp, n_batches)
                    model = BenchModel(kind, task, dt, hidden=layers, lr=recipe.lr, seed=seed,
                                       lr_schedule=recipe.lr_schedule, total_updates=n_batches,
                                       spike_cost=_spike_cost(kind, recipe, cost), spike_cost_ramp=ramp)
                    info = train(model, task, dt, n_batches)
                    m = evaluate(model, task, dt)
                    row = {"task": name, "model": kind, "seed": seed, "dt_ms": dt,
                           **({} if cost is None else {"spike_cost": cost, "spike_cost_ramp": ramp}),
                           "hidden": "x".join(map(str, layers)), "params": model.n_params,
                           "train_batches": n_batches, "batch_size": task.batch_size,
                           "n_train": task.n_train, "n_test": task.n_test, "crop_ms": task.crop_ms,
                           "accuracy_pct": round(m["accuracy"], 2),
                           "spikes_per_neuron_per_s": round(m["spikes_per_neuron_per_s"], 1),
                           "output_spikes_per_neuron_per_s": round(m["output_spikes_per_neuron_per_s"], 1),
                           "synops_per_sample": round(m["synops_per_sample"]), **info}
                except Exception as err:
                    row = {"task": name, "model": kind, "seed": seed, "error": repr(err),
                           **({} if cost is None else {"spike_cost": cost})}
                log(json.dumps(row))
                rows.append(row)
    return rows


def _spike_cost(kind: str, recipe, cost: float | None) -> float:
    """The weight a row trains with: the one asked for, else the recipe's (SpikingGamma; the
    LIF baselines train without one unless asked)."""
    if cost is not None:
        return cost
    return recipe.spike_cost if kind.startswith("sg-") else 0.0


def summarize(rows: list[dict]) -> list[dict]:
    """Mean ± spread (half the range) over seeds, one row per task and model."""
    out = []
    ok = [r for r in rows if "error" not in r]
    for key in dict.fromkeys((r["task"], r["model"], r.get("spike_cost")) for r in ok):
        group = [r for r in ok if (r["task"], r["model"], r.get("spike_cost")) == key]
        acc = [r["accuracy_pct"] for r in group]
        rate = [r["spikes_per_neuron_per_s"] for r in group]
        out.append({"task": key[0], "model": key[1],
                    **({} if key[2] is None else {"spike_cost": key[2]}), "seeds": len(group),
                    "accuracy_pct": round(statistics.mean(acc), 2),
                    "accuracy_spread": round((max(acc) - min(acc)) / 2, 2),
                    "spikes_per_neuron_per_s": round(statistics.mean(rate), 1),
                    "synops_per_sample": round(statistics.mean(r["synops_per_sample"] for r in group)),
                    "train_batches": group[0]["train_batches"],
                    "train_s": round(statistics.mean(r["train_s"] for r in group), 1)})
    return out
