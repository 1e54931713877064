"""Benchmark ``resolution``: accuracy and spikes/s vs dt; SpikingGamma against LIF-BPTT and
LIF-OTTT, under two protocols: ``trained_at_dt`` (a network trained at each dt) and
``trained_at_<home>ms`` (one network trained at the task's home dt, 1 ms or 4 ms for qtdb, then
run unchanged at every test dt with :func:`engine.experiment.test_at_dt`).

Classification tasks go through :class:`engine.bench.models.BenchModel`; ``pattern`` (spike
timing, the task's defaults) trains SpikingGamma with :class:`engine.experiment.Experiment` and
the LIF networks with a hinge on their output membrane (:func:`train_lif_pattern`); its score
is the fraction of target spikes matched within ±2 ms (in %), with the spurious spikes beside it.
"""
from __future__ import annotations

import json

MODELS = ("sg-spatial", "lif-bptt", "lif-ottt")
SIZES = {  # task: quick / full (dts trained at, dts tested at, batches)
    "pattern": (((1.0, 0.5), (1.0, 0.5), 15),
                ((2.0, 1.0, 0.5, 0.25), (2.0, 1.0, 0.5, 0.25, 0.1), 150)),
    "coincidence": (((1.0, 0.5), (1.0, 0.5), 20),
                    ((2.0, 1.0, 0.5, 0.25), (2.0, 1.0, 0.5, 0.25, 0.1), 800)),
    "qtdb": (((4.0, 2.0), (4.0, 2.0), 4), ((4.0, 2.0, 1.0), (4.0, 2.0, 1.0), 60)),
    "fsdd": (((1.0, 0.5), (1.0, 0.5), 4), ((2.0, 1.0, 0.5), (2.0, 1.0, 0.5), 12)),
}
HOME_DT = {"pattern": 1.0, "coincidence": 1.0, "qtdb": 4.0, "fsdd": 1.0}  # the one-network protocol
HIDDEN = {"coincidence": (24,), "qtdb": (64,), "fsdd": (64,)}


def _pattern_task(quick: bool, seed: int = 0):
    from ..tasks import PatternTask
    return PatternTask(n_inputs=30, n_hidden=30, duration_ms=100.0, n_targets=2, seed=seed) if quick \
        else PatternTask(seed=seed)


def train_lif_pattern(task, dt_ms: float, n_epochs: int, seed: int = 0, mode: str = "bptt",
                      on_epoch=None):
    """A LIF network with a spiking output trained on ``task`` (pattern) at ``dt_ms`` with
    surrogate gradients (``mode`` "bptt" or "ottt") and the membrane loss: the output membrane
    above ϑ in each target's step, below it elsewhere. ``on_epoch(i)`` is called after each epoch
    (progress). The settings are written here, so that the explorer's store (which digests this
    function) notices a change. Issue 17 (BENCHMARKS.md, "LIF baselines that learn"): a shallow
    surrogate (slope 2: at 25 a silent output gets no gradient), output gain 1 (was 3) and the
    membrane loss in place of filtered output spikes."""
    from ..baselines import LIFConfig, LIFNetwork, LIFTrainer, membrane_codes
    from ..tasks.spiketrains import bin_times
    net = LIFNetwork(LIFConfig(sizes=(task.n_inputs, task.n_hidden, task.n_outputs), dt_ms=dt_ms,
                               tau_mem_ms=5.0, slope=2.0, weight_gain=(10.0, 1.0), readout="count"),
                     seed=seed)
    trainer = LIFTrainer(net, mode=mode, loss="membrane", lr=1e-2, margin=0.1)
    inputs = bin_times(task.input_times(), dt_ms, task.duration_ms).unsqueeze(1)
    codes = membrane_codes(task.target_times(), dt_ms, task.duration_ms)
    for i in range(n_epochs):
        trainer.train_sequence(inputs, codes, keep_logits=False)
        if on_epoch is not None:
            on_epoch(i)
    return net


def lif_pattern_metrics(net, task, dt_ms: float) -> dict:
    """The pattern task's metrics for a LIF network run at ``dt_ms`` (the net is left at that dt),
    with the same keys as ``PatternTask.evaluate``."""
    from ..baselines import lif_hardware_counts, lif_output_spikes
    from ..tasks.spiketrains import bin_times
    net.set_dt(dt_ms)
    inputs = bin_times(task.input_times(), dt_ms, task.duration_ms).unsqueeze(1)
    spikes, res = lif_output_spikes(net, inputs)  # [T, 1, n_out]
    counts = lif_hardware_counts(net, res, inputs.shape[0], 1)
    seconds = task.duration_ms / 1000.0
    n_spikes = sum(float(c.sum()) for c in res.spike_counts)
    return {**task.spike_metrics(spikes[:, 0], dt_ms),
            "spikes_per_neuron_per_s": n_spikes / (sum(net.cfg.sizes[1:]) * seconds), **counts}


def lif_pattern_rows(modes=("bptt", "ottt"), seeds=(0, 1, 2), n_epochs: int = 150,
                     dts=(2.0, 1.0, 0.5, 0.25, 0.1), log=print) -> list[dict]:
    """The LIF baselines on the pattern task's defaults (50-50-1, 500 ms, 3 targets): trained at
    1 ms with :func:`train_lif_pattern`, then run unchanged at each of ``dts``. One row per mode,
    seed and dt: targets matched, spurious spikes, hidden and output rates, synaptic operations."""
    import time

    import torch

    from ..tasks import PatternTask
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)
    rows = []
    for mode in modes:
        for seed in seeds:
            task = PatternTask(seed=seed)
            t0 = time.perf_counter()
            net = train_lif_pattern(task, 1.0, n_epochs, seed, mode=mode)
            train_s = round(time.perf_counter() - t0, 1)
            for dt in dts:
                m = lif_pattern_metrics(net, task, dt)
                row = {"model": f"lif-{mode}", "seed": seed, "train_dt_ms": 1.0, "dt_ms": dt,
                       "matched": f"{round(m['matched_fraction'] * m['target_spikes'])}/{m['target_spikes']}",
                       "spurious_spikes": m["spurious_spikes"],
                       "hidden_hz": round(m["hidden_spikes_per_neuron_per_s"], 1),
                       "output_hz": round(m["output_spikes_per_neuron_per_s"], 1),
                       "synops_per_sample": round(m["synops_per_sample"]), "train_s": train_s}
                log(json.dumps(row))
                rows.append(row)
    return rows


def hidden_rates_by_dt(synapse_ms: float, dts=(1.0, 0.5, 0.25, 0.1), seed: int = 0) -> dict:
    """{dt: hidden spikes per neuron per second} of the pattern task's untrained network
    (``seed``) on its frozen inputs, with events entering through an input synapse of
    ``synapse_ms`` (0: impulses; engine.model.synapse). Without the synapse a finer grid samples
    peaks of the hidden signal that a coarser one steps over, and the rate rises with 1/dt."""
    from ..model.network import Network
    from ..run.simulate import simulate
    from ..tasks import PatternTask
    task = PatternTask(seed=seed)
    net = Network(task.network_config(max(dts), input_synapse_ms=synapse_ms), seed=seed)
    rates = {}
    for dt in dts:
        twin = net.copy_at_dt(dt)
        inputs, _ = task.batch(twin)
        result = simulate(twin, inputs)
        rates[dt] = result.spikes_per_neuron_per_s(0)
    return rates


def _pattern_point(kind: str, quick: bool, dt_train: float, dts, n_epochs: int, seed: int = 0) -> list[tuple]:
    """Train on pattern at dt_train; at each of ``dts``: (dt, matched fraction in %, rate of all
    neurons, spurious spikes, hidden rate, output rate, synaptic operations per sample or None)."""
    from ..experiment import Experiment, test_at_dt
    task = _pattern_task(quick, seed)
    if kind.startswith("sg-"):
        ex = Experiment(task, dt_ms=dt_train, mode=kind[3:], seed=seed)
        for _ in range(n_epochs):
            ex.run_epoch()
        tested = test_at_dt(task, ex.net, dts)
    else:
        net = train_lif_pattern(task, dt_train, n_epochs, seed, mode=kind[4:])
        tested = {f"{dt:g}": lif_pattern_metrics(net, task, dt) for dt in dts}
    return [(dt, 100 * m["matched_fraction"], m["spikes_per_neuron_per_s"], m["spurious_spikes"],
             m["hidden_spikes_per_neuron_per_s"], m["output_spikes_per_neuron_per_s"],
             m.get("synops_per_sample")) for dt, m in zip(dts, tested.values())]


def run(quick: bool = True, tasks=None, models=None, data_dir=None, log=print,
        seeds=(0,)) -> list[dict]:
    """Rows: task, model, seed, protocol, train_dt_ms, dt_ms, score_pct, spikes_per_neuron_per_s."""
    import torch

    from .models import BenchModel
    from ..tasks.datasets import classification_task
    from .train_eval import evaluate, train
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)
    rows = []
    tasks, models = tasks or tuple(SIZES), models or MODELS
    for name in tasks:
        train_dts, test_dts, n_batches = SIZES[name][0 if quick else 1]
        home = HOME_DT[name]
        for kind in models:
            for seed in seeds:
                def add(protocol, train_dt, dt, score, rate, **extra):
                    row = {"task": name, "model": kind, "seed": seed, "protocol": protocol,
                           "train_dt_ms": train_dt, "dt_ms": dt, "score_pct": round(score, 2),
                           "spikes_per_neuron_per_s": round(rate, 1), **extra}
                    log(json.dumps(row))
                    rows.append(row)
                try:
                    if name == "pattern":
                        def add_point(protocol, train_dt, point):
                            d, s, r, spurious, hidden, out, synops = point
                            extra = {} if synops is None else {"synops_per_sample": round(synops)}
                            add(protocol, train_dt, d, s, r, spurious_spikes=spurious,
                                hidden_hz=round(hidden, 1), output_hz=round(out, 1), **extra)
                        for dt in train_dts:
                            if dt == home:
                                continue  # the home dt's row comes with the one-network protocol
                            for point in _pattern_point(kind, quick, dt, [dt], n_batches, seed):
                                add_point("trained_at_dt", dt, point)
                        for point in _pattern_point(kind, quick, home, test_dts, n_batches, seed):
                            add_point(f"trained_at_{home:g}ms", home, point)
                            if point[0] == home:
                                add_point("trained_at_dt", home, point)
                        continue
                    task = classification_task(name, quick=quick, data_dir=data_dir)
                    for dt in dict.fromkeys((home, *train_dts)):
                        torch.manual_seed(seed)
                        model = BenchModel(kind, task, dt, hidden=HIDDEN[name])
                        info = train(model, task, dt, n_batches)
                        m = evaluate(model, task, dt)
                        add("trained_at_dt", dt, dt, m["accuracy"], m["spikes_per_neuron_per_s"],
                            train_s=info["train_s"])
                        if dt == home:
                            for d in test_dts:
                                model.set_dt(d)
                                m = evaluate(model, task, d)
                                add(f"trained_at_{home:g}ms", home, d, m["accuracy"],
                                    m["spikes_per_neuron_per_s"])
                            model.set_dt(dt)
                except Exception as err:  # a failing task/model is recorded, the rest still runs
                    rows.append({"task": name, "model": kind, "seed": seed, "protocol": "error",
                                 "error": repr(err)})
                    log(f"{name}/{kind}: {err!r}")
    return rows


def summarize(rows: list[dict]) -> list[dict]:
    """Spread (max − min, points) of the score across dt per task, model and protocol; the spread
    of the rate over all dt (% of the largest) and, where recorded, of one trained network's
    hidden and output rates over the dt at or below its training dt (% of the smallest: issue
    7's measure)."""
    out = []
    keys = dict.fromkeys((r["task"], r["model"], r.get("seed", 0), r["protocol"]) for r in rows
                         if r.get("protocol") != "error")
    for task, model, seed, protocol in keys:
        pts = [r for r in rows
               if (r["task"], r["model"], r.get("seed", 0), r["protocol"]) == (task, model, seed, protocol)]
        scores = [p["score_pct"] for p in pts]
        rates = [p["spikes_per_neuron_per_s"] for p in pts]
        row = {"task": task, "model": model, "seed": seed, "protocol": protocol,
               "n_dts": len(pts), "min_pct": min(scores), "max_pct": max(scores),
               "spread_points": round(max(scores) - min(scores), 2),
               "rate_spread_pct": round(100 * (max(rates) - min(rates)) / max(max(rates), 1e-9), 1)}
        if protocol != "trained_at_dt":  # one network at several dt
            fine = [p for p in pts if p["dt_ms"] <= p["train_dt_ms"]]
            for key in ("hidden_hz", "output_hz"):
                values = [p[key] for p in fine if key in p]
                if len(values) > 1:
                    row[f"{key[:-3]}_spread_pct"] = round(100 * (max(values) - min(values))
                                                          / max(min(values), 1e-9), 1)
        out.append(row)
    return out
