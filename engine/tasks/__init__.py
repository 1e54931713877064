"""Tasks: synthetic ones that need no data, `pattern` (precise spike timing) and `coincidence`
(ITD), and the real data sets `qtdb`, `fsdd`, `nmnist`, `smnist` (engine.tasks.datasets)."""
from .coincidence import CoincidenceTask
from .datasets import DATASETS, RECIPES, DataTask, data_task
from .pattern import PatternTask

TASKS = {"pattern": PatternTask, "coincidence": CoincidenceTask}


def make_task(name: str, **kwargs):
    """A task by name: ``pattern`` and ``coincidence`` (keyword arguments: their fields), or a
    real data set (``n_hidden``, ``seed``, ``data_dir``, ``n_test``: :class:`DataTask`, shared
    between calls with the same arguments). Unknown names raise ValueError listing the known ones.

    Example:
        >>> make_task("pattern", seed=0).name
        'pattern'
    """
    if name in TASKS:
        return TASKS[name](**kwargs)
    if name in DATASETS:
        return data_task(name, **kwargs)
    raise ValueError(f"task must be one of {sorted(TASKS) + list(DATASETS)} (got {name!r})")


__all__ = ["CoincidenceTask", "DATASETS", "DataTask", "PatternTask", "RECIPES", "TASKS",
           "make_task"]
