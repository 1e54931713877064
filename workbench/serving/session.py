"""One browser session's training: its settings (:class:`~workbench.models.trainer.TrainerModel`)
with the run behind them, a session thread, a training slot and the status the page polls.

Play starts a light session thread that trains the run in a worker process of one of the
server's training slots (:mod:`workbench.serving.worker`, :mod:`workbench.serving.classroom`): it
queues for a slot, loads the run there, asks for one epoch at a time and keeps the newest
:mod:`workbench.serving.snapshot` under a lock; the page calls :meth:`TrainerSession.pull` (e.g.
every 100 ms) to copy status into params and get that snapshot. The server's own GIL is left to
its event loop. Valid settings take effect between epochs (the model validates them). Pause and
reset interrupt a running epoch through a step hook (a flag the worker reads every time step), so
they act within a few time steps, not at the end of a long epoch (the interrupted epoch is
discarded). :meth:`~TrainerSession.train_epochs` and a Step without a thread train in the calling
process (tests, lessons, headless use).

    s = TrainerSession()          # the server's slots and limits (classroom.SLOTS, LIMITS)
    s.dt_ms = 0.5                 # settings are the model's params
    s.train_epochs(2)             # here, in this thread; or s.play() … s.pull() … s.pause()
"""
from __future__ import annotations

import atexit
import threading
import time
import weakref

from ..models.trainer import RESTART, URL_KEYS, TrainerModel
from . import classroom
from .run import Run
from .session_loop import SessionLoop

__all__ = ["TrainerSession"]

_TRAINING = weakref.WeakSet()  # sessions whose thread runs


@atexit.register
def _stop_training_threads() -> None:
    """Join the session threads before the interpreter tears down under them."""
    for session in list(_TRAINING):
        session.stop()


class TrainerSession(SessionLoop, TrainerModel):
    """The settings of one run (inherited params) and the run: transport, thread, slot."""

    def __init__(self, slots: classroom.Slots | None = None, limits: classroom.Limits | None = None,
                 **params):
        self._slots = slots or classroom.SLOTS
        self._limits = limits or classroom.LIMITS
        self._last_action = time.monotonic()
        self._queued: tuple[int, int] | None = None
        self._idled = False
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._interrupt = threading.Event()
        self._stop = threading.Event()
        self._pending_steps = 0
        self._restart = True
        self._live: dict = {}
        self._snapshot: dict | None = None
        self._version = 0
        self._pulled_version = -1
        self._thread_error = ""
        self._diverged = False
        self._thread: threading.Thread | None = None
        self._run: Run | None = None  # the run in this process, or:
        self._run_bytes: bytes | None = None  # ... as it came back from a worker, or:
        self._worker = None  # ... the worker that holds it now (session thread only)
        self._run_lock = threading.Lock()  # moving the run between here and a worker
        self._progress = Run().progress()
        self._closed = False
        self._fresh = False  # epoch 0 and empty plots are due (reset, or a restarting setting)
        super().__init__(max_hidden=self._limits.max_hidden, **params)
        self.param.watch(lambda *_: self.touch(), list(URL_KEYS))  # invalid input counts too

    # ------------------------------------------------------------------ settings
    def settings_changed(self, changed: list[str]) -> None:
        """Restarting settings rebuild the network with the next epoch; the others apply to
        the running one (both between epochs)."""
        with self._lock:
            for name in changed:
                if name in RESTART:
                    self._restart = self._fresh = True
                elif name != "speed":
                    self._live[name] = self.value(name)
        if self._restart and self._thread is not None:
            self._interrupt_epoch()

    def _next_epoch_settings(self) -> tuple[dict, bool, dict]:
        """(settings, restart, live changes) for the next epoch; pending changes are taken."""
        with self._lock:
            restart, live, settings = self._restart, self._live, self.valid_settings()
            self._restart, self._live = False, {}
            self._fresh = self._fresh and not restart
        if restart:
            settings["overrides"] = self.config_overrides()
        return settings, restart, live

    # ------------------------------------------------------------------ transport
    def touch(self) -> None:
        """A user action: the session is not idle."""
        self._last_action = time.monotonic()

    def play(self) -> None:
        self.touch()
        self.running = True
        self.error = "" if (self._diverged or self._idled) else self.error
        self._diverged = self._idled = False
        self._interrupt.clear()
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, daemon=True, name="trainer")
            self._thread.start()
            _TRAINING.add(self)
        self._wake.set()

    def pause(self) -> None:
        self.touch()
        self.running = False
        self._interrupt_epoch()
        self._show_status()  # at once, with the click's reply; the worker stops within a step

    def step(self) -> None:
        """Train exactly one epoch (by the session thread; here when none is started)."""
        self.touch()
        if self._thread is None:
            self.train_epochs(1)
            return
        with self._lock:
            self._pending_steps += 1
        self._wake.set()

    def reset(self) -> None:
        """A fresh network with the current settings; history cleared; stays paused."""
        self.touch()
        self.running = False
        with self._lock:
            self._restart = self._fresh = True
        self._interrupt_epoch()
        if self._thread is None:
            self._clear_run()

    def stop(self, wait: bool = True) -> None:
        """End the session thread; the run comes back from its worker (``wait``: before this
        returns)."""
        self._stop.set()
        self._interrupt_epoch()
        thread = self._thread
        if thread is not None and wait:
            thread.join(timeout=10)
        if thread is None:
            self._slots.release(self)

    def close(self) -> None:
        """Session closed: stop training and drop the network and plots' data (memory). Does
        not wait: the server's event loop calls it, and a busy worker may take a while to hand
        the run back (the session thread drops it then)."""
        with self._lock:
            self._closed = True
            thread = self._thread
        self.stop(wait=False)
        if thread is None:
            self._drop()

    # ------------------------------------------------------------------ the run
    @property
    def ex(self):
        """The :class:`engine.experiment.Experiment` as of the last epoch trained in this process
        or the last time the run came back from a worker (None while a worker holds it)."""
        run = self._here()
        return run.ex if run is not None else None

    @property
    def recorder(self):
        """The :class:`engine.Recorder` of ``layers.0.preact.grad`` (as :attr:`ex`)."""
        run = self._here()
        return run.recorder if run is not None else None

    @property
    def worker(self):
        """The :class:`~workbench.serving.worker.Worker` that holds the run now, or None."""
        return self._worker

    @property
    def training(self) -> bool:
        """Whether the session thread is alive (it ends on stop, not on pause)."""
        return self._thread is not None

    def export(self, kind: str) -> bytes:
        """"recording" (NetCDF of the last epoch) or "model" (state dict + config), built where
        the run is (its worker while it trains)."""
        from .worker import WorkerError

        with self._run_lock:
            if self._worker is not None:
                try:
                    return self._worker.call("export", kind, self.cli_command())
                except WorkerError as err:
                    raise ValueError(str(err).split(": ", 1)[-1]) from None
            return self._local_run().export(kind, self.cli_command())

    def train_epochs(self, n: int) -> list[dict]:
        """Train n epochs in the calling thread (headless use and tests); returns the rows."""
        rows = []
        for _ in range(n):
            self._interrupt.clear()
            settings, restart, live = self._next_epoch_settings()
            with self._run_lock:
                if self._worker is not None:
                    raise RuntimeError("the run trains in a worker: pause before train_epochs")
                run = self._local_run()
                error = run.apply(settings, restart or run.ex is None, live)
                out = run.advance(self._interrupt.is_set) if run.ex is not None else {}
            self._receive({**out, "error": error})
            if "row" in out:
                rows.append(out["row"])
        self.pull()
        return rows

    # ------------------------------------------------------------------ page side
    def pull(self) -> dict | None:
        """Copy the thread's status into params; returns the newest snapshot if it is new."""
        with self._lock:
            snap, version = self._snapshot, self._version
            thread_error, self._thread_error = self._thread_error, ""
        if thread_error:
            self.error = thread_error
        if self._diverged and self.running:
            self.running = False
        if self._idled and self.running:
            self.running = False
            self.error = (f"Paused after {self._limits.idle_minutes:g} minutes without input, to "
                          "free the server for others. Press Play to continue.")
        self._show_status()
        if version == self._pulled_version:
            return None
        self._pulled_version = version
        return snap if snap is not None else {}

    def latest(self) -> dict | None:
        with self._lock:
            return self._snapshot

    def _show_status(self) -> None:
        progress = self._progress
        self.epoch = progress["epoch"]
        last, score = progress["last"], progress["score_name"]
        queued = self._queued if self.running else None
        state = ("training" if not queued else
                 f"queued · your run starts when a slot frees (place {queued[0]} of {queued[1]})")
        state = state if self.running else "paused"
        self.status = (f"{state} · epoch {self.epoch}" + (
            f" · loss {last['loss']:.4g} · {score} {last[score]:.3g}"
            f" · {last['spikes_per_neuron_per_s']:.0f} spikes/neuron/s · dt {last['dt_ms']:g} ms"
            if last else ""))
