"""``spikinggamma sweep``: engine.bench.sweep over a grid, and its figure (HoloViews, saved as HTML
next to the sweep's results table)."""
from __future__ import annotations

from pathlib import Path


def save(rows: list[dict], grid: dict, out: Path) -> Path | None:
    """Mean score per setting of the first grid axis (one curve per setting of the second)."""
    import holoviews as hv
    import pandas as pd
    hv.extension("bokeh", logo=False)
    df = pd.DataFrame([r for r in rows if r.get("status") == "ok"])
    if df.empty:
        return None
    axes = list(grid)
    x = axes[0]
    by = axes[1:2]
    mean = df.groupby([x, *by])["score"].mean().reset_index()
    if by:
        curves = {str(v): hv.Curve(g, x, "score")
                  for v, g in mean.groupby(by[0])}
        fig = hv.NdOverlay(curves, kdims=by[0])
    else:
        fig = hv.Curve(mean, x, "score")
    path = out / "plot.html"
    hv.save(fig.opts(title=f"{df['task'].iloc[0]}: {df['score_name'].iloc[0]} (mean over seeds)"), path)
    return path


def _sweep(args) -> int:
    import json

    from engine.bench.report import text_table
    from engine.bench.sweep import parse_grid, sweep
    grid = parse_grid(args.grid)
    rows = sweep(args.task, grid, seeds=args.seeds, epochs=args.epochs, out=args.out,
                 scheduler=args.scheduler, n_workers=args.workers, plot=save)
    if args.json:
        print(json.dumps(rows, default=str))
    else:
        cols = ["seed", *grid, "status", "score", "spikes_per_neuron_per_s", "wall_s", "error"]
        print(text_table(rows, cols))
    return 0 if all(r.get("status") == "ok" for r in rows) else 1


def register(subparsers) -> None:
    """Add ``sweep`` (runs engine.bench.sweep, draws its figure) to ``spikinggamma``: an entry
    point of the ``spikinggamma.commands`` group, so the engine never imports the workbench."""
    s = subparsers.add_parser("sweep", help="grid × seeds of a task on Dask distributed")
    s.add_argument("--task", default="coincidence", choices=["pattern", "coincidence"])
    s.add_argument("--grid", nargs="+", default=["dt_ms=1"],
                   help="name=v1,v2 ... (dt_ms, tau_ms, n_buckets, mode, lr, ...)")
    s.add_argument("--seeds", type=int, default=1)
    s.add_argument("--epochs", type=int, default=20)
    s.add_argument("--scheduler", default=None,
                   help="tcp://host:port of a running scheduler (default: LocalCluster)")
    s.add_argument("--workers", type=int, default=2, help="LocalCluster worker processes")
    s.add_argument("--out", type=Path, default=Path("sweep_results"))
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=_sweep)
