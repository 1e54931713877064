"""Training slots as worker processes: a session's run trains outside the server's GIL.

Each training slot of :class:`workbench.serving.classroom.Slots` has one long-lived worker process
(``spawn``ed by the server at start, or on first use; at ``NICE``, 0 by default).
A session that holds a slot loads its run into the slot's worker, asks for one epoch at a time
and gets back plain numpy snapshots; when it gives the slot up, it takes its run back as bytes.
Pause sets the worker's interrupt flag, which the run's step hook reads every time step.

    worker = pool.get(slot)              # pool: WorkerPool(n), slot: Slots.slot_of(owner)
    worker.load(owner, run_bytes)        # None: a run not built yet
    out = worker.call("epoch", settings, restart, live)   # see Run.advance
    run_bytes = worker.unload(owner)
"""
from __future__ import annotations

import atexit
import multiprocessing as mp
import os
import threading
import weakref

NICE = 0  # raise it to let the event loop and other jobs come first (BENCHMARKS.md, Classroom)

_POOLS = weakref.WeakSet()


@atexit.register
def _close_pools() -> None:
    for pool in list(_POOLS):
        pool.close()


class Flag:
    """A flag shared with the worker without a lock: an ``mp.Event`` takes a lock that the
    worker holds while it reads the flag every time step, and a worker descheduled there (a
    niced one on a busy machine) made the server's Pause wait for seconds. One byte in shared
    memory cannot tear."""

    def __init__(self, ctx):
        self._value = ctx.RawValue("b", 0)

    def set(self) -> None:
        self._value.value = 1

    def clear(self) -> None:
        self._value.value = 0

    def is_set(self) -> bool:
        return bool(self._value.value)


class WorkerError(RuntimeError):
    """The worker raised (its message and type) or died."""


class Worker:
    """One process that trains one run at a time. Calls are serialised (one at a time)."""

    def __init__(self):
        ctx = mp.get_context("spawn")
        self.interrupt = Flag(ctx)
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(target=_main, args=(child, self.interrupt), daemon=True,
                                 name="spikinggamma-trainer")
        self._proc.start()
        child.close()
        self._lock = threading.Lock()
        self.holder = None  # the owner whose run is loaded

    def call(self, op: str, *args):
        """Run ``op`` in the worker and return its answer (``WorkerError`` if it raised)."""
        with self._lock:
            try:
                self._conn.send((op, args))
                ok, value = self._conn.recv()
            except (EOFError, OSError, BrokenPipeError) as err:
                raise WorkerError(f"training worker stopped ({err!r})") from None
        if not ok:
            raise WorkerError(value)
        return value

    def load(self, owner, blob: bytes | None) -> None:
        self.call("load", blob)
        self.holder = owner

    def unload(self, owner) -> bytes | None:
        """The run's bytes, and the worker is free; None when ``owner``'s run is not here."""
        if self.holder is not owner:
            return None
        blob = self.call("unload")
        self.holder = None
        return blob

    @property
    def alive(self) -> bool:
        return self._proc.is_alive()

    @property
    def pid(self) -> int:
        """The worker process's id."""
        return self._proc.pid

    def close(self) -> None:
        try:
            with self._lock:
                self._conn.send(("stop", ()))
        except (OSError, BrokenPipeError):
            pass
        self._proc.join(timeout=5)
        if self._proc.is_alive():
            self._proc.terminate()
        self._conn.close()


class WorkerPool:
    """One worker per training slot, started when the slot is first used."""

    def __init__(self, n: int):
        self._workers: list[Worker | None] = [None] * n
        self._lock = threading.Lock()
        _POOLS.add(self)

    def get(self, slot: int) -> Worker:
        with self._lock:
            worker = self._workers[slot]
            if worker is None or not worker.alive:
                worker = self._workers[slot] = Worker()
            return worker

    def close(self) -> None:
        with self._lock:
            workers, self._workers = self._workers, [None] * len(self._workers)
        for w in workers:
            if w is not None:
                w.close()


# ---------------------------------------------------------------------- in the worker process
def _main(conn, interrupt) -> None:
    """The worker's loop: one request at a time, each answered with (ok, value)."""
    import torch

    import engine.experiment  # noqa: F401  (imported now, not in the first epoch)

    from .. import exports  # noqa: F401
    from . import snapshot  # noqa: F401
    from .run import Run

    if NICE:
        try:
            os.nice(NICE)
        except OSError:
            pass
    torch.set_num_threads(1)
    torch.optim.Adam([torch.zeros(1, requires_grad=True)])  # imports torch._dynamo: seconds
    run = None
    while True:
        try:
            op, args = conn.recv()
        except (EOFError, OSError):
            return
        if op == "stop":
            return
        try:
            if op == "load":
                run = Run.from_bytes(args[0]) if args[0] is not None else Run()
                value = None
            elif op == "unload":
                value, run = run.to_bytes(), None
            elif op == "epoch":  # (settings, restart, live)
                error = run.apply(*args)
                value = run.advance(interrupt.is_set)
                value["error"] = error
            elif op == "export":  # (kind, command)
                value = run.export(*args)
            else:
                raise ValueError(f"unknown request {op!r}")
            conn.send((True, value))
        except Exception as err:  # the session shows it; the worker stays up
            conn.send((False, f"{type(err).__name__}: {err}"))
