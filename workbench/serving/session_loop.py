"""The session thread of a :class:`~workbench.serving.session.TrainerSession`: it queues for a
training slot, moves the run into the slot's worker and back, and asks for one epoch at a time.

A mixin: its methods use the session's attributes (set in ``TrainerSession.__init__``). The run
is in exactly one place at a time: ``_run`` (this process), ``_run_bytes`` (as it came back from
a worker) or ``_worker`` (a worker process holds it); ``_run_lock`` guards the moves.
"""
from __future__ import annotations

import time

from .run import Run
from .worker import WorkerError


class SessionLoop:
    """Thread side of a training session (see the module docstring)."""

    def _loop(self) -> None:
        try:
            self._train_while_asked()
        finally:
            self._give_back()
            with self._lock:
                self._thread, closed = None, self._closed
            if closed:
                self._drop()

    def _train_while_asked(self) -> None:
        next_time = 0.0
        while not self._stop.is_set():
            with self._lock:
                single = self._pending_steps > 0
            if self._fresh and self._worker is None:
                self._clear_run()
            self._interrupt.clear()
            if self.running and time.monotonic() - self._last_action > 60 * self._limits.idle_minutes:
                self._idled = True  # pull() pauses the session and says why
            if not ((self.running and not self._diverged and not self._idled) or single):
                self._give_back()
                self._queued = None
                self._wait(0.1)
                continue
            worker = self._take_slot()
            if worker is None:
                self._wait(0.1)
                continue
            wait = next_time - time.perf_counter()
            if wait > 0 and not single:
                self._wait(wait)
                continue
            if single:
                with self._lock:
                    self._pending_steps -= 1
            next_time = time.perf_counter() + 1.0 / self.valid_settings()["speed"]
            worker.interrupt.clear()
            if self._interrupt.is_set():  # paused between the checks above and now
                continue
            try:
                out = worker.call("epoch", *self._next_epoch_settings())
            except WorkerError as err:
                out = {"diverged": f"Paused: training failed ({err})"}
            self._receive(out)
            if self._slots.turn_due(self, self._limits.turn_s):
                self._give_back()
                self._slots.turn_over(self, self._limits.turn_s)

    def _wait(self, seconds: float) -> None:
        self._wake.wait(seconds)
        self._wake.clear()

    def _interrupt_epoch(self) -> None:
        self._interrupt.set()
        worker = self._worker
        if worker is not None:
            worker.interrupt.set()
        self._wake.set()

    # ------------------------------------------------------------------ slot and worker
    def _take_slot(self):
        """The slot's worker with this run loaded; None while queued."""
        if not self._slots.try_acquire(self):
            self._queued = self._slots.position(self)
            return None
        self._queued = None
        if self._worker is None:
            worker = self._slots.worker(self)
            with self._run_lock:
                blob = self._run.to_bytes() if self._run is not None else self._run_bytes
                worker.load(self, blob)
                self._run, self._run_bytes, self._worker = None, None, worker
        return self._worker

    def _give_back(self) -> None:
        """Take the run back from its worker, then free the slot (in that order: the next
        holder loads its own run there)."""
        with self._run_lock:
            worker, self._worker = self._worker, None
            if worker is not None:
                try:
                    self._run_bytes = worker.unload(self)
                except WorkerError as err:  # the worker died with the run: a fresh one
                    self._run_bytes = None
                    with self._lock:
                        self._restart = True
                    self._receive({"diverged": f"Paused: the run was lost ({err}); "
                                               "Play starts a new one"})
        self._slots.release(self)

    # ------------------------------------------------------------------ the run here
    def _here(self) -> Run | None:
        with self._run_lock:
            return None if self._worker is not None else self._local_run()

    def _local_run(self) -> Run:
        """The run in this process (taken back from bytes if it came from a worker); call with
        ``_run_lock`` held."""
        if self._run is None:
            self._run = Run.from_bytes(self._run_bytes) if self._run_bytes else Run()
            self._run_bytes = None
        return self._run

    def _clear_run(self) -> None:
        """Reset, or a setting that needs a new network, while no worker holds the run: epoch 0
        and empty plots at once; the network is built with the next epoch (where it trains: in
        a worker, this process never imports the optimiser's machinery)."""
        with self._run_lock:
            self._run, self._run_bytes = Run(), None
        with self._lock:
            self._fresh = False
        self._receive({"progress": Run().progress()}, empty=True)

    def _drop(self) -> None:
        with self._run_lock, self._lock:
            self._run, self._run_bytes, self._snapshot = None, None, None

    def _receive(self, out: dict, empty: bool = False) -> None:
        """Keep what an epoch (or a restart) gave for ``pull``."""
        with self._lock:
            if out.get("error"):
                self._thread_error = out["error"]
            if "diverged" in out:
                self._diverged = True
                self._thread_error = out["diverged"]
            if "progress" in out:
                self._progress = out["progress"]
            if "snap" in out or empty:
                self._snapshot = out.get("snap")
                self._version += 1
