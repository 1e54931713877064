"""``spikinggamma bench <memory|resolution|accuracy|steps|all|report>`` (an entry point of the
``spikinggamma.commands`` group, found by engine.cli)."""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

BENCHES = ("memory", "resolution", "accuracy", "steps")
ALL = ("memory", "resolution", "accuracy")  # `bench all`; `steps` runs on its own (long)


def _run_one(name: str, args) -> list[tuple[str, list[dict]]]:
    from . import accuracy, memory, report, resolution, steps
    log = (lambda s: print(s, file=sys.stderr)) if args.json else print
    size = {"size": "quick" if args.quick else "full"}
    if name == "memory":
        rows, summary = memory.run(quick=args.quick, log=log)
        tables = [("memory", rows), ("memory_summary", summary),
                  ("memory_time", memory.time_ratios(quick=args.quick, log=log))]
    elif name == "resolution":
        rows = resolution.run(quick=args.quick, data_dir=args.data_dir, log=log, tasks=args.tasks,
                              models=args.models, seeds=tuple(range(args.seeds)))
        suffix = "".join("_" + "_".join(v) for v in (args.tasks, args.models) if v)
        tables = [(f"resolution{suffix}", rows),
                  (f"resolution_summary{suffix}", resolution.summarize(rows))]
    elif name == "steps":
        rows = steps.run(quick=args.quick, models=args.models, seeds=tuple(range(args.seeds)),
                         epochs=args.epochs, data_dir=args.data_dir, log=log)
        tables = [("steps", rows), ("steps_summary", steps.summarize(rows))]
    else:
        suffix = "" if args.epochs is None else f"_{args.epochs}_epochs"
        suffix += "_tradeoff" if args.spike_costs else ""
        suffix += "_hidden_" + "x".join(map(str, args.hidden)) if args.hidden else ""
        rows = accuracy.run(quick=args.quick, data_dir=args.data_dir, log=log, tasks=args.tasks,
                            models=args.models, epochs=args.epochs, seeds=tuple(range(args.seeds)),
                            traces_fraction=args.traces_fraction, spike_costs=args.spike_costs,
                            hidden=tuple(args.hidden) if args.hidden else None)
        tables = [(f"accuracy{suffix}", rows), (f"accuracy_summary{suffix}", accuracy.summarize(rows))]
    for table, rows in tables:
        report.write(rows, args.out, table, size)
        if not args.json:
            print(f"\n== {table} ({size['size']})\n" + report.text_table(rows))
    return tables


def _bench(args: argparse.Namespace) -> int:
    import torch

    from . import markdown
    torch.set_num_threads(1)  # every benchmark measures one thread; the tables' headers say so
    if args.data_dir:
        os.environ["SPIKINGGAMMA_DATA_DIR"] = str(args.data_dir)
    names = ALL if args.name == "all" else (() if args.name == "report" else (args.name,))
    results = {}
    for name in names:
        for table, rows in _run_one(name, args):
            results[table] = rows
    if args.json:
        print(json.dumps(results, default=str))
    if args.markdown:
        path = markdown.write(args.out, args.markdown)
        print(f"wrote {path}", file=sys.stderr)
    return 0


def register(subparsers) -> None:
    """Add ``bench`` to the ``spikinggamma`` command line."""
    b = subparsers.add_parser("bench", help="benchmarks: memory, resolution, accuracy, steps (see BENCHMARKS.md)")
    b.add_argument("name", choices=(*BENCHES, "all", "report"),
                   help="'report' only rebuilds --markdown from the CSV/JSON in --out")
    b.add_argument("--quick", action="store_true", help="CI size (a few minutes in all)")
    b.add_argument("--json", action="store_true", help="print the tables as one JSON object")
    b.add_argument("--tasks", nargs="+", default=None,
                   help="accuracy, resolution: only these tasks (their own table)")
    b.add_argument("--models", nargs="+", default=None, help="accuracy, resolution, steps: only these models")
    b.add_argument("--seeds", type=int, default=1, help="accuracy, resolution, steps: seeds 0..N-1")
    b.add_argument("--epochs", type=int, default=None, help="accuracy, steps: epochs instead of the recipe's (the size's)")
    b.add_argument("--traces-fraction", type=float, default=None,
                   help="accuracy: the share of the batches sg-traces trains on (default 1/3 at full size)")
    b.add_argument("--spike-costs", type=float, nargs="+", default=None, metavar="LAMBDA",
                   help="accuracy: train each model at each spike-cost weight (the accuracy-spikes "
                        "trade-off; tables accuracy_tradeoff*)")
    b.add_argument("--hidden", type=int, nargs="+", default=None, metavar="N",
                   help="accuracy: hidden neurons per hidden layer, the same for every model "
                        "(default: one layer of 64 quick, the data set's recipe full; tables "
                        "accuracy*_hidden_*)")
    b.add_argument("--data-dir", type=Path, default=None, help="data root (default $SPIKINGGAMMA_DATA_DIR)")
    b.add_argument("--out", type=Path, default=Path("bench_results"), help="folder for CSV/JSON")
    b.add_argument("--markdown", type=Path, default=None, help="write the tables in --out as Markdown here")
    b.set_defaults(func=_bench)
