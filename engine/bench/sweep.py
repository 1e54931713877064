"""``spikinggamma sweep``: a grid of settings × seeds on Dask distributed, resumable.

Each point trains ``engine.Experiment(task, **params, seed=s)`` for ``epochs`` epochs and records
its evaluation. A point that raises is recorded with ``status="failed"`` and its error; points
already ``"ok"`` in ``<out>/results.csv`` are skipped when the sweep is run again. Results:
``results.csv``, ``results.parquet`` and ``plot.html`` (HoloViews) in ``out``.
"""
from __future__ import annotations

import itertools
import json
import time
from pathlib import Path

EXPERIMENT_KEYS = ("dt_ms", "mode", "lr")  # the rest go to the task's network_config


def parse_grid(items: list[str]) -> dict[str, list]:
    """``["dt_ms=1,0.5", "mode=traces"]`` → {"dt_ms": [1.0, 0.5], "mode": ["traces"]}."""
    grid = {}
    for item in items:
        if "=" not in item:
            raise ValueError(f"--grid entries must look like name=v1,v2 (got {item!r})")
        name, values = item.split("=", 1)
        grid[name.strip()] = [_value(v) for v in values.split(",") if v.strip()]
    return grid


def _value(text: str):
    text = text.strip()
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def point_key(task: str, params: dict, seed: int) -> str:
    return json.dumps({"task": task, "seed": seed, **params}, sort_keys=True)


def run_point(task: str, params: dict, seed: int, epochs: int) -> dict:
    """Train and evaluate one point; never raises (a failure is a row with its error)."""
    start = time.perf_counter()
    row = {"key": point_key(task, params, seed), "task": task, "seed": seed, **params}
    try:
        import torch

        from ..experiment import Experiment
        torch.set_num_threads(1)
        exp_kw = {k: v for k, v in params.items() if k in EXPERIMENT_KEYS}
        cfg_kw = {k: v for k, v in params.items() if k not in EXPERIMENT_KEYS}
        ex = Experiment(task, seed=seed, **exp_kw, **cfg_kw)
        for _ in range(epochs):
            last = ex.run_epoch()
        metrics = ex.evaluate()
        score = ex.task.score_name
        row.update(status="ok", error="", score_name=score, score=float(metrics[score]),
                   final_loss=float(last["loss"]),
                   spikes_per_neuron_per_s=float(metrics.get("spikes_per_neuron_per_s", float("nan"))))
    except Exception as err:  # recorded, not lost
        row.update(status="failed", error=f"{type(err).__name__}: {err}")
    row["wall_s"] = round(time.perf_counter() - start, 2)
    return row


def read_results(out: Path) -> list[dict]:
    import pandas as pd
    path = out / "results.csv"
    if not path.exists():
        return []
    return pd.read_csv(path, keep_default_na=False).to_dict("records")


def write_results(rows: list[dict], out: Path) -> None:
    import pandas as pd
    out.mkdir(parents=True, exist_ok=True)
    df = pd.DataFrame(rows)
    df.to_csv(out / "results.csv", index=False)
    df.astype({c: str for c in df.columns if df[c].dtype == object}).to_parquet(out / "results.parquet")


def sweep(task: str, grid: dict[str, list], seeds: int = 1, epochs: int = 20, out="sweep_results",
          scheduler: str | None = None, n_workers: int = 2, log=print, plot=None) -> list[dict]:
    """Run the missing points of ``grid`` × ``seeds`` on Dask; returns all rows (old and new).

    ``plot(rows, grid, out)``, when given, draws the results (``workbench.sweep_plot.save``:
    the engine itself draws nothing)."""
    from dask.distributed import Client, LocalCluster, as_completed
    out = Path(out)
    old = read_results(out)
    done = {r["key"] for r in old if r.get("status") == "ok"}
    names = list(grid)
    points = [(dict(zip(names, combo)), s) for combo in itertools.product(*grid.values()) for s in range(seeds)]
    todo = [(p, s) for p, s in points if point_key(task, p, s) not in done]
    log(f"{len(points)} points, {len(points) - len(todo)} already finished, {len(todo)} to run")
    rows = [r for r in old if r.get("status") == "ok"]
    if todo:
        cluster = None
        if scheduler:
            client = Client(scheduler)
        else:
            cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                                   dashboard_address=None)
            client = Client(cluster)
        try:
            futures = {client.submit(run_point, task, p, s, epochs, pure=False): (p, s) for p, s in todo}
            for fut in as_completed(futures):
                p, s = futures[fut]
                if fut.status == "error":  # the worker itself failed
                    row = {"key": point_key(task, p, s), "task": task, "seed": s, **p,
                           "status": "failed", "error": repr(fut.exception())}
                else:
                    row = fut.result()
                log(json.dumps({k: row.get(k) for k in ("key", "status", "score", "error")}))
                rows.append(row)
                write_results(rows, out)  # after every point: an interrupted sweep loses nothing
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
    write_results(rows, out)
    if plot is not None:
        try:
            plot(rows, grid, out)
        except Exception as err:
            log(f"plot skipped: {err!r}")
    return rows
