"""Command line: ``spikinggamma train|serve|bench|sweep``."""
from __future__ import annotations

import argparse
import json
import sys
import time


def _train(args: argparse.Namespace) -> int:
    from .errors import DivergenceError
    from .experiment import Experiment, dt_value, task_spike_cost_ramp, test_at_dt
    from .learn.learner import MODES
    from .memory import PeakMemory
    from .tasks import make_task

    if args.mode is not None and args.mode not in MODES:
        raise ValueError(f"--mode must be one of {MODES}")
    if args.epochs is not None and args.epochs < 1:
        raise ValueError(f"--epochs must be >= 1 (got {args.epochs})")
    if args.threads is not None:
        if args.threads < 1:
            raise ValueError("--threads must be >= 1")
        import torch
        torch.set_num_threads(args.threads)
    overrides = {}
    if args.tau_ms is not None:
        overrides["tau_ms"] = args.tau_ms
    if args.n_buckets is not None:
        overrides["n_buckets"] = args.n_buckets
    if args.bucket_weights is not None:
        overrides["bucket_weights"] = args.bucket_weights
    if args.threshold is not None:
        overrides["threshold"] = args.threshold[0] if len(args.threshold) == 1 else tuple(args.threshold)
    if args.adaptive_threshold:
        overrides["adaptive_threshold"] = True
    if args.discretisation is not None:
        overrides["discretisation"] = args.discretisation
    if args.max_spikes_per_step is not None:
        overrides["max_spikes_per_step"] = args.max_spikes_per_step
    if args.input_synapse_ms is not None:
        overrides["input_synapse_ms"] = args.input_synapse_ms
    for dt in args.test_dt_ms or ():  # checked before training, not after it
        dt_value(dt, "--test-dt-ms")
    overrides["device"] = args.device
    start = time.perf_counter()
    if args.n_hidden is not None and min(args.n_hidden) < 1:
        raise ValueError(f"--n-hidden must be >= 1 (got {args.n_hidden})")
    if (args.n_hidden is not None and len(args.n_hidden) > 1
            and args.task in ("pattern", "coincidence")):
        raise ValueError(f"--n-hidden: one hidden layer for {args.task} (got {args.n_hidden})")
    hidden = {}
    if args.n_hidden is not None:
        hidden["n_hidden"] = args.n_hidden[0] if len(args.n_hidden) == 1 else tuple(args.n_hidden)
    if args.task not in ("pattern", "coincidence"):  # a real data set (engine.tasks.datasets)
        hidden["data_dir"] = args.data_dir
    task = make_task(args.task, seed=args.seed, **hidden)
    # a real data set's recipe (engine.tasks.RECIPES) sets what the flags leave open
    args.dt_ms = args.dt_ms if args.dt_ms is not None else getattr(task, "default_dt_ms", 1.0)
    args.epochs = args.epochs if args.epochs is not None else getattr(task, "default_epochs", 300)
    args.mode = args.mode if args.mode is not None else getattr(task, "default_mode", "traces")
    if args.train_dt_ms is None and getattr(task, "train_dt_factors", None):
        args.train_dt_ms = [factor * args.dt_ms for factor in task.train_dt_factors]
    schedule = getattr(task, "lr_schedule", None)
    ramp = (args.spike_cost_ramp if args.spike_cost_ramp is not None
            else task_spike_cost_ramp(task, args.epochs))
    ex = Experiment(task, dt_ms=args.dt_ms, mode=args.mode, lr=args.lr, seed=args.seed,
                    train_dt_ms=args.train_dt_ms, lr_schedule=schedule,
                    total_updates=args.epochs if schedule else None,
                    spike_cost=args.spike_cost, spike_cost_ramp=ramp, **overrides)
    bar = None
    if not args.json:
        from tqdm import tqdm
        bar = tqdm(total=args.epochs, desc=f"{args.task} dt={args.dt_ms} ms {args.mode}",
                   file=sys.stderr)
    try:
        with PeakMemory(args.device) as mem:
            for _ in range(args.epochs):
                row = ex.run_epoch()
                if bar is not None:
                    bar.set_postfix(loss=f"{row['loss']:.4g}",
                                    **{ex.task.score_name: f"{row[ex.task.score_name]:.3g}"})
                    bar.update()
            metrics = ex.evaluate()
            tested = test_at_dt(ex.task, ex.net, args.test_dt_ms) if args.test_dt_ms else None
    except DivergenceError as err:
        print(f"error: {err}", file=sys.stderr)
        return 3
    finally:
        if bar is not None:
            bar.close()
    score = ex.task.score_name
    first_best = max(ex.history, key=lambda r: r[score])  # the first epoch reaching the best
    out = {"task": args.task, "dt_ms": args.dt_ms, "train_dt_ms": args.train_dt_ms,
           "mode": args.mode, "epochs": args.epochs, "seed": args.seed,
           "spike_cost": ex.trainer.spike_cost, "spike_cost_ramp_epochs": ramp,
           "final_loss": ex.history[-1]["loss"],
           f"best_train_{score}": first_best[score], "first_epoch_at_best": first_best["epoch"],
           "train_s_to_best": round(sum(r["wall_s"] for r in ex.history[:first_best["epoch"] + 1]), 2),
           **metrics, "peak_memory_mb": round(mem.total_peak_mb, 1),
           "training_memory_mb": round(mem.peak_mb, 1),
           "wall_s": round(time.perf_counter() - start, 2)}
    if tested is not None:
        out["test_at_dt"] = tested
    if args.save:
        ex.net.save(args.save)
        out["saved"] = args.save
    if args.json:
        print(json.dumps(out))
    else:
        for k, v in out.items():
            print(f"{k:>26}: {v}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="spikinggamma", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    tr = sub.add_parser("train", help="train a SpikingGamma network on a task")
    tr.add_argument("--task", default="pattern",
                    choices=["pattern", "coincidence", "qtdb", "fsdd", "nmnist", "smnist"])
    tr.add_argument("--data-dir", default=None,
                    help="real data sets' folder (default $SPIKINGGAMMA_DATA_DIR)")
    tr.add_argument("--dt-ms", type=float, default=None,
                    help="time step (ms); default: the data set's recipe, 1 ms for pattern/coincidence")
    tr.add_argument("--mode", default=None,
                    help="spatial | traces | bptt; default: the data set's recipe, traces for pattern/coincidence")
    tr.add_argument("--epochs", type=int, default=None,
                    help="training sequences (one batch each); default: the data set's recipe "
                         "(its epochs × batches per epoch), 300 for pattern/coincidence")
    tr.add_argument("--seed", type=int, default=0)
    tr.add_argument("--lr", type=float, default=None, help="learning rate (default: the task's)")
    tr.add_argument("--tau-ms", type=float, default=None, help="bucket time constant (ms)")
    tr.add_argument("--n-buckets", type=int, default=None, help="buckets K")
    tr.add_argument("--n-hidden", type=int, nargs="+", default=None,
                    help="hidden neurons (default: the task's); a real data set takes one value per "
                         "hidden layer (e.g. 128 128: two)")
    tr.add_argument("--threshold", type=float, nargs="+", default=None,
                    help="sigma-delta threshold ϑ: one value or one per layer (signal units)")
    tr.add_argument("--bucket-weights", choices=["neuron", "synapse"], default=None)
    tr.add_argument("--adaptive-threshold", action="store_true")
    tr.add_argument("--train-dt-ms", type=float, nargs="+", default=None, metavar="DT",
                    help="draw each epoch's dt from these (ms); default: every epoch at --dt-ms, "
                         "pattern: 2×dt and dt (one value: every epoch at it)")
    tr.add_argument("--test-dt-ms", nargs="+", default=None, metavar="DT",
                    help="after training, evaluate the same network at each of these dt (ms)")
    tr.add_argument("--discretisation", choices=["exact", "paper"], default=None,
                    help="bucket step: exact in ms (default) or the paper's recursion")
    tr.add_argument("--max-spikes-per-step", type=int, default=None,
                    help="cap on spikes per step (1: the paper's encoder; default: no cap)")
    tr.add_argument("--input-synapse-ms", type=float, default=None,
                    help="time constant (ms) of the exponential synapse between input events and "
                         "the input buckets (0: impulses; default: the task's)")
    tr.add_argument("--spike-cost", type=float, default=None,
                    help="weight of the hidden spike cost (loss per hidden spike/neuron/s, "
                         "estimated from y; default: the task's)")
    tr.add_argument("--spike-cost-ramp", type=int, default=None, metavar="EPOCHS",
                    help="the spike cost's weight grows linearly from 0 over the first EPOCHS "
                         "epochs (default: a real data set's recipe sets a fraction of --epochs; "
                         "the task's for pattern/coincidence)")
    tr.add_argument("--device", default="cpu")
    tr.add_argument("--threads", type=int, default=1,
                    help="torch CPU threads (default 1: the chunked path's products are small, and "
                         "on a shared 2-core machine a second thread mostly waits; 8x slower measured)")
    tr.add_argument("--save", default=None, help="write the trained model (state dict + config)")
    tr.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    tr.set_defaults(func=_train)
    for register in _extensions():
        register(sub)
    return parser


def _extensions():
    """Sub-commands that other packages add (``bench``, ``serve``, ``sweep``, ``lessons``): the
    ``spikinggamma.commands`` entry points (pyproject.toml), each a ``register(subparsers)``.
    Found by name in the installed metadata, so the engine never imports the workbench itself;
    one whose package is not installed (an ImportError) is left out."""
    from importlib.metadata import entry_points
    found = []
    for point in sorted(entry_points(group="spikinggamma.commands"), key=lambda p: p.name):
        try:
            found.append(point.load())
        except ImportError:
            continue
    return found


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, FileNotFoundError) as err:  # bad settings; missing data (with its source)
        parser.exit(2, f"error: {err}\n")


if __name__ == "__main__":
    sys.exit(main())
