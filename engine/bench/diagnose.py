"""Why a SpikingGamma network does or does not learn a data set: measurements on one training
batch, before and during training (BENCHMARKS.md, "why it did not learn, and what changed").

Per layer: spikes per neuron per second, the fraction of dead neurons (y = ReLU(x) never above 0
on the batch), the signal range (x's 1st and 99th percentile), the gradient norm of the layer's
weights (``spatial``, one batch). For the data: the fraction of steps after the warm-up that carry
any input event (the per-step loss of the other steps can only fall as far as the network's memory
reaches across the silence), and each layer's memory depth (mean delay of its last bucket, ms)
against the samples' mean duration.

    python -m engine.bench.diagnose --task fsdd --epochs 4 [--sg '{"tau_ms": 20}'] [--data-dir D]
"""
from __future__ import annotations

import argparse
import json

import torch


def snapshot(model, task, dt_ms: float, batch_index: int = 0) -> dict:
    """The measurements above for a SpikingGamma :class:`BenchModel` on one training batch."""
    from ..model.buckets import bucket_delays_ms
    from ..learn.learner import gradients
    from ..run.simulate import simulate
    net = model.net
    inputs, labels = task.train_batch(dt_ms, batch_index)
    res = simulate(net, inputs, keep="all")
    warm = min(int(round(task.warmup_ms / dt_ms)), inputs.shape[0] - 1)
    active = inputs[warm:].sum(-1) > 0  # [T', B]
    grads = gradients(net, inputs, labels, mode="spatial", loss="ce", warmup_ms=task.warmup_ms)
    layers = []
    for l, layer in enumerate(net.layers):
        x = res.preacts[l].flatten(0, 1)
        q = torch.quantile(x[torch.randperm(x.shape[0])[:20000]].float(), torch.tensor([0.01, 0.99]))
        row = {"layer": l, "x_p01": round(float(q[0]), 3), "x_p99": round(float(q[1]), 3),
               "weight_grad_norm": float(f"{float(grads[f'layers.{l}.weight'].norm()):.3g}"),
               "memory_ms": round(float(bucket_delays_ms(layer.tau_ms.detach())[-1]), 1)}
        if l < len(net.layers) - 1 or net.cfg.readout == "spiking":
            row["spikes_per_neuron_per_s"] = round(res.spikes_per_neuron_per_s(l, inputs.shape[1]), 1)
            row["dead_fraction"] = round(float((x <= 0).all(0).float().mean()), 3)
        layers.append(row)
    durations = torch.as_tensor(task.train_ds.durations_ms)[task.train_idx]
    return {"active_step_fraction": round(float(active.float().mean()), 3),
            "mean_sample_ms": round(float(durations.mean()), 1),
            "sequence_ms": inputs.shape[0] * dt_ms, "layers": layers}


def main(argv=None) -> int:
    from .models import BenchModel
    from ..tasks.datasets import classification_task
    p = argparse.ArgumentParser(prog="python -m engine.bench.diagnose", description=__doc__.split("\n\n")[0])
    p.add_argument("--task", default="fsdd", choices=("qtdb", "fsdd", "nmnist", "smnist"))
    p.add_argument("--epochs", type=int, default=2, help="training epochs, a snapshot after each")
    p.add_argument("--sg", default="{}", help="JSON of NetworkConfig overrides")
    p.add_argument("--data-dir", default=None)
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    task = classification_task(args.task, quick=False, data_dir=args.data_dir)
    recipe = task.recipe
    model = BenchModel("sg-spatial", task, recipe.dt_ms, hidden=(128,), lr=recipe.lr,
                       sg_extra=json.loads(args.sg))
    print(json.dumps({"epoch": 0, **snapshot(model, task, recipe.dt_ms)}))
    index = 0
    for epoch in range(1, args.epochs + 1):
        for _ in range(task.batches_per_epoch):
            model.train_batch(*task.train_batch(recipe.dt_ms, index))
            index += 1
        print(json.dumps({"epoch": epoch, **snapshot(model, task, recipe.dt_ms)}), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
