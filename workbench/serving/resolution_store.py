"""Where the Resolution explorer keeps trained networks: in this process for every session, and
on disk outside the repository (``$SPIKINGGAMMA_CACHE_DIR/resolution``, default
``~/.cache/spikinggamma/resolution``), with the recipe each was trained with.

A stored run is served only when every network's recipe matches the one the code would use now:
the full configuration and the training settings, read from the objects that train them. For
SpikingGamma: the task's fields, its NetworkConfig and the Experiment's settings. For LIF:
``train_lif_pattern`` writes its LIFConfig and LIFTrainer arguments inside it, so its recipe is
a digest of that function (its code, constants and the module constants it reads) with the
defaults of LIFConfig and LIFTrainer that it leaves as they are; the stored network's LIFConfig
must also be the one written beside it. Nothing is built to read a recipe (building a LIFTrainer
would import torch's compiler machinery into the server: seconds with the GIL held). A run
stored with other settings is trained again, never served.

    recipes = run_recipes(task, seed, epochs)       # {kind: recipe}
    nets = load(seed, epochs, recipes)              # None when missing or trained otherwise
    save(nets, seed, epochs, recipes)
"""
from __future__ import annotations

import dataclasses
import hashlib
import inspect
import json
import os
import threading
import types

from ..models.resolution import KINDS, LIF_KINDS, SG_KINDS

CACHE_ENV = "SPIKINGGAMMA_CACHE_DIR"
TRAIN_DT_MS = 1.0
SG_MODE = "spatial"

MEMORY: dict = {}  # (seed, epochs, recipes digest) -> trained networks, shared by the sessions
LOCK = threading.Lock()


def store_dir() -> str:
    """Where trained explorer networks are kept: ``$SPIKINGGAMMA_CACHE_DIR/resolution`` or
    ``~/.cache/spikinggamma/resolution`` (generated files, never in the repository)."""
    root = os.environ.get(CACHE_ENV) or os.path.join(os.path.expanduser("~"), ".cache", "spikinggamma")
    return os.path.join(root, "resolution")


def store_path(seed: int, epochs: int, kind: str) -> str:
    """The file of one network (``kind`` in KINDS), or of the run's recipes (``"recipes"``)."""
    ext = "json" if kind == "recipes" else "pt"
    return os.path.join(store_dir(), f"pattern_seed{seed}_epochs{epochs}_{kind}.{ext}")


# ---------------------------------------------------------------------- recipes
def run_recipes(task, seed: int, epochs: int) -> dict:
    """{kind: what its training depends on}, as JSON values (see the module docstring)."""
    from engine.baselines import LIFConfig, LIFTrainer
    from engine.bench.resolution import train_lif_pattern
    from engine.experiment import Experiment

    common = {"task": dataclasses.asdict(task), "seed": seed, "epochs": epochs,
              "train_dt_ms": TRAIN_DT_MS}
    out = {}
    for kind, overrides in SG_KINDS.items():
        out[kind] = {**common, "config": task.network_config(TRAIN_DT_MS, **overrides).to_dict(),
                     "training": {"mode": SG_MODE, "experiment": _defaults(Experiment)}}
    for kind, mode in LIF_KINDS.items():
        out[kind] = {**common, "config_defaults": _defaults(LIFConfig),
                     "training": {"mode": mode, "trainer": _defaults(LIFTrainer),
                                  "recipe": code_digest(train_lif_pattern)}}
    return _plain(out)


def _plain(value):
    """``value`` as it reads back from JSON (tuples become lists), for comparing."""
    return json.loads(json.dumps(value, sort_keys=True, default=repr))


def digest(recipes: dict) -> str:
    return hashlib.sha256(json.dumps(recipes, sort_keys=True).encode()).hexdigest()[:16]


def code_digest(fn) -> str:
    """A digest of what ``fn`` does: its byte code, constants and defaults (nested functions
    included) and the values of the plain module constants it reads. Comments and line numbers
    do not count; a changed learning rate or kernel written in it does."""
    h = hashlib.sha256(repr((fn.__defaults__, fn.__kwdefaults__)).encode())
    names: set[str] = set()

    def add(code: types.CodeType) -> None:
        h.update(code.co_code)
        names.update(code.co_names)
        for const in code.co_consts:
            if isinstance(const, types.CodeType):
                add(const)
            else:
                h.update(repr(const).encode())

    add(fn.__code__)
    for name in sorted(names):
        value = fn.__globals__.get(name)
        if isinstance(value, (bool, int, float, str, tuple, frozenset)):
            h.update(f"{name}={value!r}".encode())
    return h.hexdigest()[:16]


def _defaults(cls) -> dict:
    """The keyword defaults of ``cls(...)`` (settings a caller leaves at their default)."""
    return {name: p.default for name, p in inspect.signature(cls).parameters.items()
            if p.default is not inspect.Parameter.empty}


# ---------------------------------------------------------------------- disk
def load(seed: int, epochs: int, recipes: dict) -> dict | None:
    """The stored networks of this run, or None when a file is missing or any network was
    trained with another recipe than ``recipes``."""
    import torch

    from engine import Network
    from engine.baselines import LIFConfig, LIFNetwork

    paths = {kind: store_path(seed, epochs, kind) for kind in (*KINDS, "recipes")}
    if not all(os.path.exists(p) for p in paths.values()):
        return None
    try:
        with open(paths["recipes"]) as f:
            stored = json.load(f)
    except (OSError, ValueError):
        return None
    stored_configs = stored.pop("lif_configs", {}) if isinstance(stored, dict) else {}
    if stored != recipes:
        return None  # trained with other settings (or by other code)
    nets = {}
    for kind in SG_KINDS:
        nets[kind] = Network.load(paths[kind])
        if _plain(nets[kind].cfg.to_dict()) != recipes[kind]["config"]:
            return None
    for kind in LIF_KINDS:
        blob = torch.load(paths[kind], map_location="cpu", weights_only=True)
        if _plain(blob["config"]) != stored_configs.get(kind):
            return None  # not the network its recipe was written for
        lif = LIFNetwork(LIFConfig(**blob["config"]))
        lif.load_state_dict(blob["state_dict"])
        nets[kind] = lif
    return nets


def save(nets: dict, seed: int, epochs: int, recipes: dict) -> None:
    """Write the networks and their recipes atomically (the recipes last: a run is complete
    only when they are there). Raises OSError when the folder cannot be written."""
    import torch

    from engine.checkpoint import atomic_path

    os.makedirs(store_dir(), exist_ok=True)
    for kind in SG_KINDS:
        nets[kind].save(store_path(seed, epochs, kind))
    for kind in LIF_KINDS:
        with atomic_path(store_path(seed, epochs, kind)) as tmp:
            torch.save({"config": dataclasses.asdict(nets[kind].cfg),
                        "state_dict": nets[kind].state_dict()}, tmp)
    lif_configs = {kind: _plain(dataclasses.asdict(nets[kind].cfg)) for kind in LIF_KINDS}
    with atomic_path(store_path(seed, epochs, "recipes")) as tmp:
        with open(tmp, "w") as f:
            json.dump({**recipes, "lif_configs": lif_configs}, f, indent=1, sort_keys=True)
