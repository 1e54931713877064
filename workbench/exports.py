"""Downloads: figures as PNG, the recorded taps as NetCDF, the trained model, the CLI command.

Recording format (NetCDF4, one file, read with ``xarray.open_dataset``): the last epoch of the
first sequence of the batch, time in ms.

    coords  time_ms [T] (start of each step), input [N_in], hidden [H], output [N_out],
            grad_time_ms [T_g] (gradient-tap samples), epoch [E]
    vars    input_spikes (time_ms, input), hidden_spikes (time_ms, hidden),
            output_spikes (time_ms, output)        0/1 per step
            output_preact (time_ms, output)        readout x (what the loss compares)
            target_signal (time_ms, output)        pattern task only
            hidden_preact_grad (grad_time_ms, hidden)  the tap layers.0.preact.grad, ∂L/∂x
            loss, score (epoch)                    training history
    attrs   dt_ms, task, mode, epoch, score_name, command (the equivalent ``spikinggamma train``)
"""
from __future__ import annotations

import io
import os
import tempfile


def png_bytes(element, dpi: int = 80) -> bytes:
    """Render a HoloViews element/layout to PNG with the matplotlib backend (server side)."""
    import holoviews as hv
    import holoviews.plotting.mpl  # noqa: F401  registers the renderer
    import matplotlib

    matplotlib.use("Agg")
    element = element.opts({
        "Scatter": dict(s=4, marker="s"), "Image": dict(aspect=2, cmap="RdBu_r", colorbar=True),
        "Curve": dict(aspect=2), "Overlay": dict(aspect=2), "Bars": dict(aspect=2),
        "Layout": dict(fig_size=120, sublabel_format="")}, backend="matplotlib")
    buf = io.BytesIO()
    hv.save(element, buf, fmt="png", backend="matplotlib", dpi=dpi)
    return buf.getvalue()


def recording_dataset(ex, recorder=None, command: str = ""):
    """The last epoch of ``ex`` as an xarray Dataset (format in the module docstring); ``recorder``
    is the :class:`engine.Recorder` holding ``layers.0.preact.grad`` (optional)."""
    import numpy as np
    import xarray as xr

    res, (inputs, targets) = ex.last_result, ex.last_batch
    dt = ex.net.dt_ms
    out = len(res.spikes) - 1
    n_steps = inputs.shape[0]
    time_ms = np.arange(n_steps) * dt
    hist = ex.history
    data = {
        "input_spikes": (("time_ms", "input"), res.input_spikes[:, 0].numpy().astype("int8")),
        "hidden_spikes": (("time_ms", "hidden"), res.spikes[0][:, 0].numpy().astype("int8")),
        "output_spikes": (("time_ms", "output"), res.spikes[out][:, 0].numpy().astype("int8")),
        "output_preact": (("time_ms", "output"), res.preacts[out][:, 0].double().numpy()),
        "loss": (("epoch",), np.array([r["loss"] for r in hist])),
        "score": (("epoch",), np.array([r[ex.task.score_name] for r in hist], dtype=float)),
    }
    if ex.task.loss != "ce":  # a target signal (mse, mse_hinge)
        data["target_signal"] = (("time_ms", "output"), targets[:, 0].double().numpy())
    coords = {"time_ms": time_ms, "epoch": [r["epoch"] for r in hist]}
    rec = recorder
    if rec is not None and "layers.0.preact.grad" in rec:
        g = rec["layers.0.preact.grad"][:, 0].double().numpy()
        steps = np.array([s for _, s in rec.steps("layers.0.preact.grad")])
        data["hidden_preact_grad"] = (("grad_time_ms", "hidden"), g)
        coords["grad_time_ms"] = steps * dt
    ds = xr.Dataset(data, coords=coords)
    ds.attrs.update(dt_ms=dt, task=ex.task.name, mode=ex.trainer.mode, epoch=ex.epoch_index,
                    score_name=ex.task.score_name, command=command,
                    format="SpikingGamma workbench recording v1 (see workbench/exports.py)")
    return ds


def netcdf_bytes(ds) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "recording.nc")
        ds.to_netcdf(path, engine="netcdf4")
        with open(path, "rb") as fh:
            return fh.read()


def model_bytes(net) -> bytes:
    """Network.save (state dict + config) into memory; load with ``engine.Network.load``."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.pt")
        net.save(path)
        with open(path, "rb") as fh:
            return fh.read()
