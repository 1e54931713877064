"""The sweep's figure: HoloViews, saved as HTML next to the sweep's results table."""
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
