"""One server, many students: per-session limits and a queue of training slots. No Panel here.

A server process runs at most ``max_training`` training threads at once. A session that presses
Play while every slot is taken waits in a first-come queue (its status says so); a run holding a
slot gives it up after ``turn_s`` seconds when others wait, and joins the back of the queue, so
every student trains in turns. A running session without any user action for ``idle_minutes``
is paused and gives its slot back.

    limits = Limits(max_training=2, turn_s=20)      # what ``spikinggamma serve`` sets
    configure(limits)                               # before serving; children of --num-procs inherit
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from engine.config import check_positive


@dataclass(frozen=True)
class Limits:
    """What one session may use on a shared server (per server process).

    Args:
        max_training: training threads running at once; the rest queue for a slot.
        turn_s: seconds a run keeps its slot while others wait, then it queues again.
        idle_minutes: a running session with no user action this long is paused.
        max_hidden: largest hidden layer a session may ask for (neurons).
        torch_threads: torch CPU threads of the server process (1: many small runs share cores).
        max_redraws_per_s: a session redraws its plots at most this often (the status line
            follows every epoch); rendering, not training, is most of a session's CPU.
    """

    max_training: int = 2
    turn_s: float = 20.0
    idle_minutes: float = 20.0
    max_hidden: int = 200
    torch_threads: int = 1
    max_redraws_per_s: float = 2.5

    def __post_init__(self) -> None:
        check_positive("max_training", self.max_training, integer=True, minimum=1, inclusive=True)
        check_positive("turn_s", self.turn_s)
        check_positive("idle_minutes", self.idle_minutes)
        check_positive("max_hidden", self.max_hidden, integer=True, minimum=1, inclusive=True)
        check_positive("torch_threads", self.torch_threads, integer=True, minimum=1, inclusive=True)
        check_positive("max_redraws_per_s", self.max_redraws_per_s)


class Slots:
    """At most ``n`` holders at once; waiting owners are served first come, first served."""

    def __init__(self, n: int):
        self.n = n
        self._cond = threading.Condition()
        self._holders: dict[object, float] = {}  # owner -> time it got the slot
        self._queue: list[object] = []

    def try_acquire(self, owner) -> bool:
        """Take a slot if ``owner`` holds one or is first in line and one is free; else queue."""
        with self._cond:
            if owner in self._holders:
                return True
            if owner not in self._queue:
                self._queue.append(owner)
            if len(self._holders) < self.n and self._queue[0] is owner:
                self._queue.pop(0)
                self._holders[owner] = time.monotonic()
                return True
            return False

    def release(self, owner) -> None:
        """Give the slot back (or leave the queue)."""
        with self._cond:
            self._holders.pop(owner, None)
            if owner in self._queue:
                self._queue.remove(owner)

    def turn_over(self, owner, turn_s: float) -> bool:
        """True (and the slot is given back, owner queued last) when ``owner`` has held its slot
        for ``turn_s`` seconds and someone waits."""
        with self._cond:
            since = self._holders.get(owner)
            if since is None or not self._queue or time.monotonic() - since < turn_s:
                return False
            del self._holders[owner]
            self._queue.append(owner)
            return True

    def position(self, owner) -> tuple[int, int] | None:
        """(1-based place in the queue, queue length), or None when not waiting."""
        with self._cond:
            if owner not in self._queue:
                return None
            return self._queue.index(owner) + 1, len(self._queue)

    def holds(self, owner) -> bool:
        with self._cond:
            return owner in self._holders

    @property
    def busy(self) -> int:
        with self._cond:
            return len(self._holders)


LIMITS = Limits()
SLOTS = Slots(LIMITS.max_training)


def configure(limits: Limits) -> None:
    """Use ``limits`` for sessions created from now on (a fresh slot pool of their size)."""
    global LIMITS, SLOTS
    import torch

    LIMITS, SLOTS = limits, Slots(limits.max_training)
    torch.set_num_threads(limits.torch_threads)
