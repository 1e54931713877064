"""The benchmarks' figures, drawn from their result files (the engine draws nothing itself).

``python -m workbench.figures steps RESULTS_DIR OUT.png`` draws ``bench steps``' rows (accuracy,
training memory and time per epoch against the number of steps, one line per model);
``python -m workbench.figures tradeoff RESULTS_DIR OUT.png`` draws ``bench accuracy
--spike-costs``' rows, every ``accuracy_tradeoff*.json`` in the folder (with ``--hidden`` the
file's name says the sizes): accuracy against hidden spikes/s and synaptic operations, one panel
per data set. Both read the JSON that ``spikinggamma bench ... --out RESULTS_DIR`` wrote.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

COLOURS = {"sg-spatial": "#1b6ca8", "sg-traces": "#2a9d8f", "lif-ottt": "#e76f51",
           "lif-bptt": "#b5179e"}


def read_rows(results: Path, table: str) -> list[dict]:
    """The rows of ``table`` (``steps``, ``accuracy_tradeoff``, ...) in a results folder."""
    path = Path(results) / f"{table}.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: run `spikinggamma bench ... --out {results}` "
                                "first")
    return [r for r in json.loads(path.read_text())["rows"] if "error" not in r]


def steps_figure(rows: list[dict]):
    """Three panels against steps per sample (log scale): test accuracy, training memory, time
    per epoch; each model trained and tested at each dt."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullFormatter, ScalarFormatter
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8), constrained_layout=True)
    panels = (("accuracy_pct", "test accuracy (%)"), ("training_memory_mb", "training memory (MiB)"),
              ("s_per_epoch", "time per epoch (s)"))
    for kind in dict.fromkeys(r["model"] for r in rows):
        pts = sorted((r for r in rows if r["model"] == kind), key=lambda r: r["steps_per_sample"])
        steps = [r["steps_per_sample"] for r in pts]
        for ax, (key, label) in zip(axes, panels):
            ax.plot(steps, [r[key] for r in pts], "o-", label=kind, color=COLOURS.get(kind))
            ax.set_xscale("log")
            ax.set_xlabel("time steps per sample (dt 4 → 0.25 ms)")
            ax.set_ylabel(label)
    axes[1].set_yscale("log")
    axes[2].set_yscale("log")
    ticks = sorted({r["steps_per_sample"] for r in rows})
    for ax in axes:  # the measured step counts as plain numbers, no log-scale minor labels
        ax.set_xticks(ticks, [str(t) for t in ticks])
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.yaxis.set_minor_formatter(NullFormatter())
        ax.yaxis.set_major_formatter(ScalarFormatter())
    axes[0].legend(fontsize=8)
    task = rows[0].get("task", "")
    fig.suptitle(f"{task}: each model trained and tested at each dt")
    return fig


def steps_curves(rows: list[dict], key: str, label: str):
    """HoloViews: ``key`` of ``bench steps``' rows against steps per sample, one curve per model
    (what lesson 7 draws on the page)."""
    import holoviews as hv
    curves = []
    for kind in dict.fromkeys(r["model"] for r in rows):
        pts = sorted((r for r in rows if r["model"] == kind), key=lambda r: r["steps_per_sample"])
        curves.append(hv.Curve([(r["steps_per_sample"], r[key]) for r in pts], "steps per sample",
                               label, label=kind).opts(logx=True, color=COLOURS.get(kind)))
    return hv.Overlay(curves)


def tradeoff_figure(rows: list[dict]):
    """Per data set: accuracy against hidden spikes per neuron per second and against synaptic
    operations per sample, one point per (model, spike-cost weight)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    tasks = list(dict.fromkeys(r["task"] for r in rows))
    fig, axes = plt.subplots(len(tasks), 2, figsize=(10, 3.6 * len(tasks)), squeeze=False,
                             constrained_layout=True)
    for row_axes, task in zip(axes, tasks):
        for kind in dict.fromkeys(r["model"] for r in rows if r["task"] == task):
            pts = sorted((r for r in rows if (r["task"], r["model"]) == (task, kind)),
                         key=lambda r: r["spikes_per_neuron_per_s"])
            for ax, key in zip(row_axes, ("spikes_per_neuron_per_s", "synops_per_sample")):
                ax.plot([r[key] for r in pts], [r["accuracy_pct"] for r in pts], "o-",
                        label=kind, color=COLOURS.get(kind))
                for r in pts:
                    ax.annotate(f"λ={r.get('spike_cost', 0):g}", (r[key], r["accuracy_pct"]),
                                fontsize=7, textcoords="offset points", xytext=(3, 3))
        row_axes[0].set_xlabel("hidden spikes per neuron per second")
        row_axes[1].set_xlabel("synaptic operations per sample")
        for ax in row_axes:  # linear axes: a silent network (0 Hz) is a point too
            ax.set_ylabel(f"{task}: test accuracy (%)")
            ax.ticklabel_format(axis="x", style="plain")
            ax.tick_params(axis="x", labelrotation=20)
        row_axes[0].legend(fontsize=8)
    return fig


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 3 or args[0] not in ("steps", "tradeoff"):
        print(__doc__, file=sys.stderr)
        return 2
    kind, results, out = args
    if kind == "steps":
        rows = read_rows(Path(results), "steps")
    else:
        tables = sorted(p.stem for p in Path(results).glob("accuracy_tradeoff*.json"))
        rows = [r for table in tables or ["accuracy_tradeoff"] for r in read_rows(Path(results), table)]
    fig = steps_figure(rows) if kind == "steps" else tradeoff_figure(rows)
    fig.savefig(out, dpi=110)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
