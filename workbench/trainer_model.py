"""The Trainer page's state: settings, transport (play/pause/step/reset) and a training thread.

No Panel here. Play starts a light session thread that trains the run in a worker process of
one of the server's training slots (:mod:`workbench.trainer_worker`, :mod:`workbench.classroom`):
it queues for a slot, loads the run there, asks for one epoch at a time and keeps the newest
:mod:`workbench.snapshot` under a lock; the session calls :meth:`pull` (e.g. every 100 ms) to copy
status into params and get that snapshot. The server's own GIL is left to its event loop. Settings
are validated when set (a bad value sets ``error`` to the engine's message and is rolled back);
they take effect between epochs. Pause and reset interrupt a running epoch through a step hook
(an event the worker reads every time step), so they act within a few time steps, not at the end
of a long epoch (the interrupted epoch is discarded). :meth:`train_epochs` and a Step without a
thread train in the calling process (tests, lessons, headless use).
"""
from __future__ import annotations

import atexit
import contextlib
import threading
import time
import weakref

import param

from engine.config import NetworkConfig
from engine.tasks import TASKS

from . import classroom
from .trainer_run import Run, make_task
from .trainer_worker import WorkerError

__all__ = ["DT_RANGE_MS", "RESTART", "URL_KEYS", "TrainerModel", "make_task", "presets"]

DT_RANGE_MS = (0.05, 5.0)
#: settings that need a new network (the rest apply to the running one)
RESTART = ("preset", "n_buckets", "bucket_weights", "mode", "n_hidden", "seed")
#: URL query keys of the settings (pn.state.location.sync and the param-level round trip)
URL_KEYS = {"preset": "preset", "dt_ms": "dt", "tau_ms": "tau", "n_buckets": "K",
            "threshold_hidden": "theta", "threshold_out": "theta_out",
            "adaptive_threshold": "adaptive", "input_synapse_ms": "synapse",
            "bucket_weights": "v", "mode": "mode", "lr": "lr",
            "n_hidden": "hidden", "seed": "seed", "speed": "speed"}


_TRAINING = weakref.WeakSet()  # models whose session thread runs


@atexit.register
def _stop_training_threads() -> None:
    """Join the session threads before the interpreter tears down under them."""
    for model in list(_TRAINING):
        model.stop()


def presets() -> list[str]:
    """The engine's tasks, then the real data sets found under $SPIKINGGAMMA_DATA_DIR."""
    from engine.bench.live_task import available
    return list(TASKS) + available()


class TrainerModel(param.Parameterized):
    """Settings and live state of one training run (one per browser session)."""

    preset = param.Selector(objects=list(TASKS), default="pattern", doc="engine task to learn")
    dt_ms = param.Number(1.0, softbounds=DT_RANGE_MS, doc="time step (ms); applies live")
    tau_ms = param.Number(5.0, softbounds=(0.5, 20.0), doc="bucket time constant τ (ms); applies live")
    n_buckets = param.Integer(4, softbounds=(1, 8), doc="gamma buckets K; restarts the network")
    threshold_hidden = param.Number(0.3, softbounds=(0.01, 1.0), doc="hidden ϑ (signal units)")
    threshold_out = param.Number(0.5, softbounds=(0.05, 2.0), doc="output ϑ (signal units)")
    adaptive_threshold = param.Boolean(False, doc="ϑ rises by m_f·ϑ per spike, decays in 15 ms")
    input_synapse_ms = param.Number(1.0, softbounds=(0.0, 5.0),
                                    doc="input synapse τ_s (ms), 0: impulse inputs; applies live")
    bucket_weights = param.Selector(objects=["neuron", "synapse"], default="synapse",
                                    doc="v per neuron or per synapse; restarts")
    mode = param.Selector(objects=["spatial", "traces"], default="spatial",
                          doc="online learning rule; restarts")
    lr = param.Number(3e-2, softbounds=(1e-4, 0.1), doc="Adam learning rate; applies live")
    n_hidden = param.Integer(50, softbounds=(4, 200), doc="hidden neurons; restarts")
    seed = param.Integer(0, softbounds=(0, 1000), doc="network and task seed; restarts")
    speed = param.Number(20.0, softbounds=(0.2, 20.0), doc="at most this many epochs per second")

    running = param.Boolean(False, doc="play (True) or pause (False)")
    epoch = param.Integer(0, doc="epochs trained")
    error = param.String("", doc="last invalid setting or divergence message; '' when fine")
    status = param.String("paused", doc="one line of status")

    def __init__(self, slots: classroom.Slots | None = None, limits: classroom.Limits | None = None,
                 **params):
        self._ready = False
        self._applying_url = False
        self._slots = slots or classroom.SLOTS
        self._limits = limits or classroom.LIMITS
        self._last_action = time.monotonic()
        self._queued: tuple[int, int] | None = None
        self._idled = False
        super().__init__(**params)
        self.param.preset.objects = presets()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._interrupt = threading.Event()
        self._stop = threading.Event()
        self._pending_steps = 0
        self._restart = True
        self._live: dict = {}
        self._good = {k: getattr(self, k) for k in URL_KEYS}
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
        self._ready = True

    # ------------------------------------------------------------------ derived
    def config_overrides(self) -> dict:
        """NetworkConfig overrides for the task's defaults, from the current settings. τ and K
        override the preset's only once moved from its values (then one τ and K for every layer):
        a preset's own memory may differ per layer and per bucket (the real data sets' readouts)."""
        over = dict(threshold=(self.threshold_hidden, self.threshold_out),
                    adaptive_threshold=self.adaptive_threshold, bucket_weights=self.bucket_weights,
                    input_synapse_ms=self.input_synapse_ms)
        if not self._preset_memory():
            over.update(tau_ms=self.tau_ms, n_buckets=self.n_buckets)
        return over

    def _preset_memory(self) -> bool:
        """Whether τ and K are still the preset's (its first layer's) values."""
        spec = self.task().network_config(self.dt_ms).layers[0]
        return (self.tau_ms, self.n_buckets) == (spec.tau_ms[0], spec.n_buckets)

    def task(self):
        return make_task(self.preset, self.n_hidden, self.seed)

    def cli_command(self, epochs: int | None = None) -> str:
        """The equivalent ``spikinggamma train`` command line."""
        epochs = max(self.epoch, 1) if epochs is None else epochs
        cmd = (f"spikinggamma train --task {self.preset} --dt-ms {self.dt_ms:g} --mode {self.mode} "
               f"--epochs {epochs} --seed {self.seed} --lr {self.lr:g} ")
        if not self._preset_memory():
            cmd += f"--tau-ms {self.tau_ms:g} --n-buckets {self.n_buckets} "
        cmd += f"--bucket-weights {self.bucket_weights}"
        if self.adaptive_threshold:
            cmd += " --adaptive-threshold"
        cmd += f" --input-synapse-ms {self.input_synapse_ms:g}"
        cmd += f" --n-hidden {self.n_hidden} --threshold {self.threshold_hidden:g} {self.threshold_out:g}"
        return cmd

    def url_state(self) -> dict:
        """Settings as URL query values {key: value}."""
        return {key: getattr(self, name) for name, key in URL_KEYS.items()}

    def apply_url_state(self, query: dict) -> None:
        """Set settings from URL query values (unknown keys ignored; strings converted). A value
        that is not valid keeps the setting as it was and puts the reason in ``error``."""
        by_key = {key: name for name, key in URL_KEYS.items()}
        bad = []
        if "preset" in query:  # the preset's own defaults first, then the link's settings over them
            bad += self._apply_query({"preset": query["preset"]}, by_key)
        with self.applying_url():
            bad += self._apply_query({k: v for k, v in query.items() if k != "preset"}, by_key)
        if bad:
            self.error = "Invalid link: " + "; ".join(bad) + ". Kept the previous values."

    @contextlib.contextmanager
    def applying_url(self):
        """While a link's settings are applied, they win over the preset's defaults."""
        self._applying_url = True
        try:
            yield
        finally:
            self._applying_url = False

    def _apply_query(self, query: dict, by_key: dict) -> list[str]:
        """Set what is valid; returns one message per rejected value."""
        bad = []
        for key, raw in query.items():
            name = by_key.get(key)
            if name is None:
                continue
            p = self.param[name]
            try:
                if isinstance(p, param.Boolean):
                    value = raw if isinstance(raw, bool) else str(raw).lower() in ("1", "true", "yes")
                elif isinstance(p, param.Integer):
                    value = int(raw)
                elif isinstance(p, param.Number):
                    value = float(raw)
                else:
                    value = raw
                self.error = ""
                setattr(self, name, value)
            except (ValueError, TypeError, OverflowError):
                bad.append(f"{key} = {str(raw)[:40]!r} is not a valid {name}")
                continue
            if self.error.startswith("Invalid setting"):  # _validate rolled it back
                bad.append(f"{key}: {self.error[len('Invalid setting: '):].split('. Kept')[0]}")
        return bad

    def preset_defaults(self) -> dict:
        """The preset task's own settings (τ, K, ϑ, bucket weights, learning rate)."""
        task = self.task()
        cfg = task.network_config(self.dt_ms)
        spec = cfg.layers
        return dict(tau_ms=spec[0].tau_ms[0], n_buckets=spec[0].n_buckets,
                    threshold_hidden=spec[0].threshold, threshold_out=spec[-1].threshold,
                    adaptive_threshold=cfg.adaptive_threshold, bucket_weights=cfg.bucket_weights,
                    input_synapse_ms=cfg.input_synapse_ms,
                    lr=task.lr)

    @param.depends("preset", watch=True)
    def _load_preset(self):
        if self._ready and not self._applying_url:
            self.param.update(self.preset_defaults())

    # ------------------------------------------------------------------ validation
    @param.depends(*URL_KEYS, watch=True)
    def _validate(self, *events):
        if not self._ready:
            return
        self.touch()
        changed = [n for n in URL_KEYS if self._value(n) != self._good[n]]
        try:
            self._check()
        except ValueError as err:
            self.error = f"Invalid setting: {err}. Kept the previous value."
            self._ready = False
            try:
                self.param.update({n: self._good[n] for n in changed})
            finally:
                self._ready = True
            return
        self.error = ""
        with self._lock:
            for name in changed:
                self._good[name] = self._value(name)
                if name in RESTART:
                    self._restart = self._fresh = True
                elif name != "speed":
                    self._live[name] = self._good[name]
        self._interrupt_if_restarting()

    def _value(self, name: str):
        """A setting as the run uses it. dt is rounded to 1e-6 ms here rather than written back:
        slider steps leave float noise (0.5000000000000001), and writing the rounded value back
        to the slider while the user is still pressing keys undid their next steps."""
        value = getattr(self, name)
        return round(value, 6) if name == "dt_ms" and isinstance(value, float) else value

    def _check(self) -> None:
        lo, hi = DT_RANGE_MS
        if not (isinstance(self.dt_ms, (int, float)) and lo <= self.dt_ms <= hi):
            raise ValueError(f"dt_ms must be between {lo} and {hi} ms in the workbench (got {self.dt_ms!r})")
        if not self.speed > 0:
            raise ValueError(f"speed must be > 0 epochs per second (got {self.speed!r})")
        if not (isinstance(self.lr, (int, float)) and 0 < self.lr < 1):
            raise ValueError(f"lr must be a number between 0 and 1 (got {self.lr!r})")
        if not 0 <= self.seed < 2**32:
            raise ValueError(f"seed must be an integer from 0 to 2**32 - 1 (got {self.seed!r})")
        if not 1 <= self.n_hidden <= self._limits.max_hidden:
            raise ValueError(f"n_hidden must be between 1 and {self._limits.max_hidden} neurons "
                             f"on this server (got {self.n_hidden!r})")
        NetworkConfig(**{**self.task().network_config(self.dt_ms).to_dict(),
                         **self.config_overrides()})

    def _interrupt_if_restarting(self) -> None:
        if self._restart and self._thread is not None:
            self._interrupt_epoch()

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
        self._ensure_thread()
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

    def _drop(self) -> None:
        with self._run_lock, self._lock:
            self._run, self._run_bytes, self._snapshot = None, None, None

    def _interrupt_epoch(self) -> None:
        self._interrupt.set()
        worker = self._worker
        if worker is not None:
            worker.interrupt.set()
        self._wake.set()

    # ------------------------------------------------------------------ the run
    @property
    def ex(self):
        """The :class:`engine.experiment.Experiment` as of the last epoch trained in this process
        or the last time the run came back from a worker (None while a worker holds it)."""
        run = self._here()
        return run.ex if run is not None else None

    @property
    def recorder(self):
        """The :class:`engine.taps.Recorder` of ``layers.0.preact.grad`` (as :attr:`ex`)."""
        run = self._here()
        return run.recorder if run is not None else None

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

    def export(self, kind: str) -> bytes:
        """"recording" (NetCDF of the last epoch) or "model" (state dict + config), built where
        the run is (its worker while it trains)."""
        with self._run_lock:
            if self._worker is not None:
                try:
                    return self._worker.call("export", kind, self.cli_command())
                except WorkerError as err:
                    raise ValueError(str(err).split(": ", 1)[-1]) from None
            return self._local_run().export(kind, self.cli_command())

    def _next_epoch_settings(self) -> tuple[dict, bool, dict]:
        """(settings, restart, live changes) for the next epoch; pending changes are taken."""
        with self._lock:
            restart, live, settings = self._restart, self._live, dict(self._good)
            self._restart, self._live = False, {}
            self._fresh = self._fresh and not restart
        if restart:
            settings["overrides"] = self.config_overrides()
        return settings, restart, live

    def _clear_run(self) -> None:
        """Reset, or a setting that needs a new network, while no worker holds the run: epoch 0
        and empty plots at once; the network is built with the next epoch (where it trains: in
        a worker, this process never imports the optimiser's machinery)."""
        with self._run_lock:
            self._run, self._run_bytes = Run(), None
        with self._lock:
            self._fresh = False
        self._receive({"progress": Run().progress()}, empty=True)

    def _receive(self, out: dict, empty: bool = False) -> None:
        """Keep what an epoch (or a restart) gave for :meth:`pull`."""
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

    # ------------------------------------------------------------------ training
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

    def _ensure_thread(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, daemon=True, name="trainer")
            self._thread.start()
            _TRAINING.add(self)

    def _loop(self) -> None:
        try:
            self._train_while_asked()
        finally:
            self._give_back()
            with self._lock:
                self._thread, closed = None, self._closed
            if closed:
                self._drop()

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

    def _wait(self, seconds: float) -> None:
        self._wake.wait(seconds)
        self._wake.clear()

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
            next_time = time.perf_counter() + 1.0 / self._good["speed"]
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

    # ------------------------------------------------------------------ session side
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

    def latest(self) -> dict | None:
        with self._lock:
            return self._snapshot
