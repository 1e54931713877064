"""Train a :class:`BenchModel` for a budget of batches and evaluate it (shared by the benchmarks)."""
from __future__ import annotations

import time


def train(model, task, dt_ms: float, n_batches: int, start: int = 0) -> dict:
    """``n_batches`` training batches at ``dt_ms``; returns the last loss and the wall time."""
    t0, loss = time.perf_counter(), float("nan")
    for i in range(start, start + n_batches):
        loss = model.train_batch(*task.train_batch(dt_ms, i))
    return {"final_loss": loss, "train_s": round(time.perf_counter() - t0, 2)}


def evaluate(model, task, dt_ms: float) -> dict:
    return model.evaluate(task.test_chunks(dt_ms))
