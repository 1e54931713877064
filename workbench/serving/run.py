"""One Trainer run: the Experiment, its gradient tap, and how settings apply to it. No Panel.

The same object trains in the session's own process (``TrainerSession.train_epochs``, tests and
lessons) and in a worker process (:mod:`workbench.serving.worker`, the server's training slots);
between them it travels as bytes (:meth:`Run.to_bytes`), without its task (rebuilt from the
settings, so a real data set is not copied on every turn).

    run = Run()
    run.apply(settings, restart=True)     # settings: TrainerModel.valid_settings() + overrides
    out = run.advance(lambda: False)      # one epoch: {"row", "snap", "progress"} or {"error"}
"""
from __future__ import annotations

import pickle

from engine import DivergenceError
from engine.tasks import make_task

GRAD_TAP = "layers.0.preact.grad"
GRAD_EVERY_MS = 0.5  # one gradient-tap sample per 0.5 ms of simulated time


class Interrupted(Exception):
    """Raised by the step hook to abandon the current epoch (pause, reset, close)."""


class Run:
    """The experiment of one session; ``settings`` are the validated values of the model's
    URL keys plus ``overrides`` (the NetworkConfig overrides they imply)."""

    def __init__(self):
        self.ex = None
        self.recorder = None
        self.settings: dict = {}

    # ------------------------------------------------------------------ settings
    def apply(self, settings: dict, restart: bool = False, live: dict | None = None) -> str:
        """Between epochs: build a new experiment (``restart`` or none yet), or apply the
        ``live`` changes ({name: value}) to the running one. Returns an error message or ''."""
        from engine.experiment import Experiment
        from engine import Recorder

        self.settings = s = dict(settings)
        live = live or {}
        try:
            if restart or self.ex is None:
                if self.recorder is not None:
                    self.recorder.remove()
                task = make_task(s["preset"], n_hidden=s["n_hidden"], seed=s["seed"])
                self.ex = Experiment(task, dt_ms=s["dt_ms"], mode=s["mode"], lr=s["lr"],
                                     seed=s["seed"], spike_cost=s["spike_cost"],
                                     spike_cost_ramp=s["spike_cost_ramp"], **s["overrides"])
                self.recorder = Recorder(self.ex.net, [GRAD_TAP], every=_every(s["dt_ms"]))
                return ""
            net = self.ex.net
            if "dt_ms" in live:
                self.ex.set_dt(live["dt_ms"])
                self.recorder.every = _every(live["dt_ms"])
            if "tau_ms" in live:  # τ carries over: every layer's input buckets
                net.reconfigure(tau_ms=live["tau_ms"])
            if "threshold_hidden" in live or "threshold_out" in live:
                net.reconfigure(threshold=(s["threshold_hidden"], s["threshold_out"]))
            if "adaptive_threshold" in live:
                net.reconfigure(adaptive_threshold=s["adaptive_threshold"])
            if "input_synapse_ms" in live:
                net.reconfigure(input_synapse_ms=s["input_synapse_ms"])
            if "lr" in live:
                self.ex.trainer.set_lr(s["lr"])
            if "spike_cost" in live:
                self.ex.trainer.set_spike_cost(s["spike_cost"])
            if "spike_cost_ramp" in live:
                self.ex.trainer.set_spike_cost_ramp(s["spike_cost_ramp"])
        except ValueError as err:  # validated already; a last line of defence
            return f"Invalid setting: {err}"
        return ""

    # ------------------------------------------------------------------ training
    def advance(self, interrupted) -> dict:
        """One epoch. ``interrupted()`` is asked after every time step; when it says True the
        epoch is abandoned. Returns {"row", "snap", "progress"} after an epoch, {"interrupted":
        True}, or {"diverged": message} (the last good parameters are kept)."""
        from .snapshot import take

        def check(t, out):
            if interrupted():
                raise Interrupted()

        self.recorder.clear()
        try:
            with self.ex.net.register_step_hook(check):
                row = self.ex.run_epoch()
        except Interrupted:
            return {"interrupted": True}
        except DivergenceError as err:
            return {"diverged": f"Paused: {err}"}
        return {"row": row, "snap": take(self.ex, self.recorder), "progress": self.progress()}

    def progress(self) -> dict:
        """What the status line needs: epochs trained, the last row, the task's metric name."""
        ex = self.ex
        if ex is None:
            return {"epoch": 0, "last": None, "score_name": ""}
        return {"epoch": ex.epoch_index, "last": ex.history[-1] if ex.history else None,
                "score_name": ex.task.score_name}

    # ------------------------------------------------------------------ exports
    def export(self, kind: str, command: str) -> bytes:
        """``kind``: "recording" (NetCDF of the last epoch) or "model" (state dict + config)."""
        from .. import exports

        if kind == "recording":
            if self.ex is None or self.ex.last_result is None:
                raise ValueError("train at least one epoch before exporting a recording")
            return exports.netcdf_bytes(exports.recording_dataset(self.ex, self.recorder, command))
        if kind == "model":
            if self.ex is None:
                raise ValueError("no network yet: press Step or Play")
            return exports.model_bytes(self.ex.net)
        raise ValueError(f"kind must be 'recording' or 'model' (got {kind!r})")

    # ------------------------------------------------------------------ travel
    def to_bytes(self) -> bytes:
        """The run without its task (rebuilt by :meth:`from_bytes` from the settings)."""
        task = self.ex.task if self.ex is not None else None
        if self.ex is not None:
            self.ex.task = None
        try:
            return pickle.dumps((self.ex, self.recorder, self.settings), pickle.HIGHEST_PROTOCOL)
        finally:
            if self.ex is not None:
                self.ex.task = task

    @classmethod
    def from_bytes(cls, blob: bytes) -> "Run":
        run = cls()
        run.ex, run.recorder, run.settings = pickle.loads(blob)
        if run.ex is not None:
            s = run.settings
            run.ex.task = make_task(s["preset"], n_hidden=s["n_hidden"], seed=s["seed"])
        return run


def _every(dt_ms: float) -> int:
    return max(1, int(round(GRAD_EVERY_MS / dt_ms)))
