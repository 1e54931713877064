"""Model files: written atomically, and read back with a clear message when damaged or not ours.

A model file is ``torch.save({"format": FORMAT, "config": cfg.to_dict(), "state_dict": ...})``,
read with ``torch.load(weights_only=True)`` (no code runs from the file). Files written before
the ``format`` key existed load too.
"""
from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

import torch

from .config import NetworkConfig

FORMAT = "spikinggamma-network-v1"


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike):
    """Yield a temporary path beside ``path``; on success it replaces ``path`` in one step
    (``os.replace``), on failure it is removed: readers see the old file or the new one, never half."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent or ".")
    os.close(fd)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def save_network(net, path: str | os.PathLike) -> None:
    """Write ``net``'s config and state dict to ``path`` atomically."""
    blob = {"format": FORMAT, "config": net.cfg.to_dict(), "state_dict": net.state_dict()}
    with atomic_path(path) as tmp:
        torch.save(blob, tmp)


def load_network(cls, path: str | os.PathLike, map_location="cpu"):
    """``cls(cfg)`` with the file's parameters; ValueError naming the file when it is truncated,
    corrupt, not a model file of this engine, or does not fit its own config."""
    try:
        blob = torch.load(path, map_location=map_location, weights_only=True)
    except FileNotFoundError:
        raise
    except Exception as err:  # unpickling, zip and storage errors of a damaged file
        raise ValueError(f"{path}: not a SpikingGamma model file, or truncated "
                         f"({type(err).__name__}: {str(err)[:200]})") from err
    if not (isinstance(blob, dict) and isinstance(blob.get("config"), dict)
            and isinstance(blob.get("state_dict"), dict)
            and blob.get("format", FORMAT) == FORMAT):
        raise ValueError(f"{path}: not a SpikingGamma model file (expected {FORMAT}: a dict "
                         "with 'config' and 'state_dict', as written by Network.save)")
    try:
        cfg = NetworkConfig.from_dict(blob["config"]).replace(device=str(map_location))
        net = cls(cfg)
        net.load_state_dict(blob["state_dict"])
    except (ValueError, TypeError, RuntimeError, KeyError) as err:
        raise ValueError(f"{path}: model file does not match its config ({str(err)[:300]})") from err
    return net
