"""Synthetic tasks that need no data: `pattern` (precise spike timing) and `coincidence` (ITD)."""
from .coincidence import CoincidenceTask
from .pattern import PatternTask

TASKS = {"pattern": PatternTask, "coincidence": CoincidenceTask}


def make_task(name: str, **kwargs):
    """Build a task by name; unknown names raise ValueError listing the known ones."""
    if name not in TASKS:
        raise ValueError(f"task must be one of {sorted(TASKS)} (got {name!r})")
    return TASKS[name](**kwargs)


__all__ = ["CoincidenceTask", "PatternTask", "TASKS", "make_task"]
