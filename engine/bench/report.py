"""Tables: print, CSV, JSON and Markdown from a list of row dicts (no pandas needed)."""
from __future__ import annotations

import csv
import json
import math
import platform
import time
from pathlib import Path


def _fmt(v) -> str:
    if isinstance(v, float):
        if math.isnan(v):
            return "–"
        return f"{v:.4g}" if abs(v) < 1e5 else f"{v:.3e}"
    return "" if v is None else str(v)


def columns_of(rows: list[dict]) -> list[str]:
    cols: list[str] = []
    for r in rows:
        cols += [k for k in r if k not in cols]
    return cols


def text_table(rows: list[dict], columns: list[str] | None = None) -> str:
    cols = columns or columns_of(rows)
    cells = [[_fmt(r.get(c)) for c in cols] for r in rows]
    widths = [max([len(c)] + [len(row[i]) for row in cells]) for i, c in enumerate(cols)]
    line = lambda vals: "  ".join(v.rjust(w) for v, w in zip(vals, widths))  # noqa: E731
    return "\n".join([line(cols), line(["-" * w for w in widths])] + [line(r) for r in cells])


def markdown_table(rows: list[dict], columns: list[str] | None = None) -> str:
    cols = columns or columns_of(rows)
    out = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    out += ["| " + " | ".join(_fmt(r.get(c)) for c in cols) + " |" for r in rows]
    return "\n".join(out)


def machine() -> dict:
    import os

    import torch
    return {"date": time.strftime("%Y-%m-%d %H:%M"), "machine": platform.platform(),
            "cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
            "torch_threads": torch.get_num_threads(), "torch": torch.__version__,
            "python": platform.python_version()}


def write(rows: list[dict], out_dir, name: str, meta: dict | None = None) -> tuple[Path, Path]:
    """Write ``<out_dir>/<name>.csv`` and ``<name>.json`` (rows + meta); returns both paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    cols = columns_of(rows)
    with open(out / f"{name}.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=cols)
        w.writeheader()
        w.writerows(rows)
    with open(out / f"{name}.json", "w") as f:
        json.dump({"benchmark": name, "meta": {**machine(), **(meta or {})}, "rows": rows}, f, indent=1,
                  default=str)
    return out / f"{name}.csv", out / f"{name}.json"
