"""One server, many students: per-session limits and a queue of training slots. No Panel here.

A server process trains at most ``max_training`` runs at once, each in its slot's worker process
(:mod:`workbench.serving.worker`), and computes at most ``max_lab_jobs`` lab views at once (a
slider moved in the Neuron, encoder or gradient lab), each in a thread off the event loop. A
session that presses Play while every slot is taken waits in a first-come queue (its status says
so); a run holding a slot gives it up after ``turn_s`` seconds when others wait, and joins the back
of the queue, so every student trains in turns. A running session without any user action for
``idle_minutes`` is paused and gives its slot back. Long jobs in threads (the Resolution
explorer's) start with :func:`background` and stop at exit.

    limits = Limits(max_training=2, turn_s=20)      # what ``spikinggamma serve`` sets
    configure(limits)                               # before serving; children of --num-procs inherit
"""
from __future__ import annotations

import asyncio
import atexit
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from engine.config import check_positive


@dataclass(frozen=True)
class Limits:
    """What one session may use on a shared server (per server process).

    Args:
        max_training: runs training at once (one worker process each); the rest queue.
        turn_s: seconds a run keeps its slot while others wait, then it queues again.
        idle_minutes: a running session with no user action this long is paused.
        max_hidden: largest hidden layer a session may ask for (neurons).
        torch_threads: torch CPU threads of the server process (1: many small runs share cores).
        max_redraws_per_s: a training session's page is updated (status line and plots, one
            message) this often; the newest epoch is shown, those between are skipped.
        max_lab_jobs: lab computations at once (threads); the others wait their turn.
    """

    max_training: int = 2
    turn_s: float = 20.0
    idle_minutes: float = 20.0
    max_hidden: int = 200
    torch_threads: int = 1
    max_redraws_per_s: float = 3.0
    max_lab_jobs: int = 2

    def __post_init__(self) -> None:
        check_positive("max_training", self.max_training, integer=True, minimum=1, inclusive=True)
        check_positive("turn_s", self.turn_s)
        check_positive("idle_minutes", self.idle_minutes)
        check_positive("max_hidden", self.max_hidden, integer=True, minimum=1, inclusive=True)
        check_positive("torch_threads", self.torch_threads, integer=True, minimum=1, inclusive=True)
        check_positive("max_redraws_per_s", self.max_redraws_per_s)
        check_positive("max_lab_jobs", self.max_lab_jobs, integer=True, minimum=1, inclusive=True)


class Slots:
    """At most ``n`` holders at once; waiting owners are served first come, first served."""

    def __init__(self, n: int):
        self.n = n
        self._lock = threading.RLock()
        self._holders: dict[object, tuple[float, int]] = {}  # owner -> (time it got it, slot)
        self._queue: list[object] = []
        self._pool = None  # one training worker process per slot, started on first use

    def try_acquire(self, owner) -> bool:
        """Take a slot if ``owner`` holds one or is first in line and one is free; else queue."""
        with self._lock:
            if owner in self._holders:
                return True
            if owner not in self._queue:
                self._queue.append(owner)
            if len(self._holders) < self.n and self._queue[0] is owner:
                self._queue.pop(0)
                taken = {slot for _, slot in self._holders.values()}
                free = min(set(range(self.n)) - taken)
                self._holders[owner] = (time.monotonic(), free)
                return True
            return False

    def slot_of(self, owner) -> int | None:
        """Index (0 … n-1) of the slot ``owner`` holds, None when it holds none."""
        with self._lock:
            held = self._holders.get(owner)
            return None if held is None else held[1]

    def _workers(self):
        """The slots' :class:`workbench.serving.worker.WorkerPool`, made on first use."""
        from .worker import WorkerPool

        with self._lock:
            if self._pool is None:
                self._pool = WorkerPool(self.n)
            return self._pool

    def start_workers(self) -> None:
        """Start every slot's worker process now (a server does, before students arrive: a
        worker takes seconds to import torch)."""
        pool = self._workers()
        for slot in range(self.n):
            pool.get(slot)

    def worker(self, owner):
        """The worker process of the slot ``owner`` holds (:mod:`workbench.serving.worker`)."""
        slot = self.slot_of(owner)
        if slot is None:
            raise ValueError("owner holds no training slot")
        return self._workers().get(slot)

    def close(self) -> None:
        """Stop the slots' worker processes."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.close()

    def release(self, owner) -> None:
        """Give the slot back (or leave the queue)."""
        with self._lock:
            self._holders.pop(owner, None)
            if owner in self._queue:
                self._queue.remove(owner)

    def turn_due(self, owner, turn_s: float) -> bool:
        """Whether ``owner`` has held its slot for ``turn_s`` seconds and someone waits."""
        with self._lock:
            held = self._holders.get(owner)
            return held is not None and bool(self._queue) and time.monotonic() - held[0] >= turn_s

    def turn_over(self, owner, turn_s: float) -> bool:
        """True (and the slot is given back, owner queued last) when its turn is due."""
        with self._lock:
            if not self.turn_due(owner, turn_s):
                return False
            del self._holders[owner]
            self._queue.append(owner)
            return True

    def position(self, owner) -> tuple[int, int] | None:
        """(1-based place in the queue, queue length), or None when not waiting."""
        with self._lock:
            if owner not in self._queue:
                return None
            return self._queue.index(owner) + 1, len(self._queue)

    def holds(self, owner) -> bool:
        with self._lock:
            return owner in self._holders

    @property
    def busy(self) -> int:
        with self._lock:
            return len(self._holders)


class LabJobs:
    """Lab computations in at most ``n`` threads, first come, first served: a class moving
    sliders queues here while the event loop keeps answering every page."""

    def __init__(self, n: int):
        self._pool = ThreadPoolExecutor(max_workers=n, thread_name_prefix="lab")

    async def run(self, fn, *args):
        """``fn(*args)`` in a lab thread, awaited."""
        return await asyncio.wrap_future(self._pool.submit(fn, *args))


class Stopping(Exception):
    """The server is shutting down: a background job stops at its next check."""


STOPPING = threading.Event()
_BACKGROUND: list[threading.Thread] = []


def check_stopping() -> None:
    """Raise :class:`Stopping` once the server shuts down (a long job calls this between steps)."""
    if STOPPING.is_set():
        raise Stopping("the server is shutting down")


def background(target) -> threading.Thread:
    """Start ``target()`` in a daemon thread that the server stops at exit: a thread killed in
    the middle of a torch operation aborts the whole process ("terminate called …")."""
    thread = threading.Thread(target=target, daemon=True)
    _BACKGROUND[:] = [t for t in _BACKGROUND if t.is_alive()] + [thread]
    thread.start()
    return thread


@atexit.register
def _stop_background(timeout_s: float = 30.0) -> None:
    """At exit: ask every background job to stop, and wait for it at its next check."""
    STOPPING.set()
    deadline = time.monotonic() + timeout_s
    for thread in _BACKGROUND:
        thread.join(max(0.0, deadline - time.monotonic()))


LIMITS = Limits()
SLOTS = Slots(LIMITS.max_training)
LABS = LabJobs(LIMITS.max_lab_jobs)


def configure(limits: Limits) -> None:
    """Use ``limits`` for sessions created from now on (a fresh slot pool of their size)."""
    global LIMITS, SLOTS, LABS
    import torch

    LIMITS, SLOTS, LABS = limits, Slots(limits.max_training), LabJobs(limits.max_lab_jobs)
    torch.set_num_threads(limits.torch_threads)
