"""The Trainer's settings: each one's bounds, label, step and help, its URL key, and validation.

No Panel and no threads here (the run behind the settings is
:class:`workbench.serving.session.TrainerSession`). The page derives every widget from these
params (``Widget.from_param``: range from ``softbounds``, ``step``, ``label``), and shows ``doc``
as the help under it, so a setting's range and help are written once, here. Validation reads the
same bounds: a bad value sets ``error`` to a message naming the field and its range (or the
engine's own message) and is rolled back.

    m = TrainerModel()
    m.apply_url_state({"preset": "coincidence", "dt": "0.5"})   # the preset's defaults, then the link
    m.url_state()       # {"preset": "coincidence", "dt": 0.5, ...}
    m.cli_command()     # the equivalent ``spikinggamma train`` line
"""
from __future__ import annotations

import contextlib

import param

from engine.config import NetworkConfig
from engine.tasks import TASKS, make_task

__all__ = ["DT_RANGE_MS", "RESTART", "URL_KEYS", "TrainerModel", "presets"]

DT_RANGE_MS = (0.05, 5.0)
#: settings that need a new network (the rest apply to the running one)
RESTART = ("preset", "n_buckets", "bucket_weights", "mode", "n_hidden", "seed")
#: URL query keys of the settings (pn.state.location.sync and the param-level round trip)
URL_KEYS = {"preset": "preset", "dt_ms": "dt", "tau_ms": "tau", "n_buckets": "K",
            "threshold_hidden": "theta", "threshold_out": "theta_out",
            "adaptive_threshold": "adaptive", "input_synapse_ms": "synapse",
            "bucket_weights": "v", "mode": "mode", "lr": "lr", "spike_cost": "cost",
            "spike_cost_ramp": "ramp", "n_hidden": "hidden", "seed": "seed", "speed": "speed"}
#: settings whose value must lie within the param's softbounds (the widget's range)
IN_RANGE = ("dt_ms", "lr", "seed", "spike_cost", "spike_cost_ramp")


def presets() -> list[str]:
    """The engine's tasks, then the real data sets found under $SPIKINGGAMMA_DATA_DIR."""
    from engine.tasks.datasets import available
    return list(TASKS) + available()


class TrainerModel(param.Parameterized):
    """Settings of one training run (one per browser session) and what its page shows."""

    preset = param.Selector(
        objects=list(TASKS), default="pattern", label="preset (task)",
        doc="Task: `pattern` learns 3 precise output spikes; `coincidence` learns delays "
            "(interaural time difference). Restarts.")
    dt_ms = param.Number(
        1.0, softbounds=DT_RANGE_MS, step=0.05, label="dt (ms)",
        doc="Simulation time step in ms (0.05–5). Applies live: training continues at the new "
            "resolution; all parameters are in ms.")
    tau_ms = param.Number(
        5.0, softbounds=(0.5, 20.0), step=0.5, label="τ (ms)",
        doc="Time constant τ of each gamma bucket (ms). Applies live (τ is carried over).")
    n_buckets = param.Integer(
        4, softbounds=(1, 8), label="buckets K",
        doc="Number K of gamma buckets per input; mean delay of bucket k ≈ (k+1)·τ. "
            "**Changing K restarts the network.**")
    threshold_hidden = param.Number(
        0.3, softbounds=(0.01, 1.0), step=0.01, label="hidden ϑ (signal units)",
        doc="Sigma-delta threshold ϑ of the hidden layer (signal units); a spike carries 2ϑ. "
            "Applies live.")
    threshold_out = param.Number(
        0.5, softbounds=(0.05, 2.0), step=0.05, label="output ϑ (signal units)",
        doc="Output threshold ϑ (signal units). Applies live.")
    adaptive_threshold = param.Boolean(
        False, label="adaptive threshold",
        doc="ϑ rises by 0.5·ϑ per spike and decays with 15 ms: fewer spikes.")
    input_synapse_ms = param.Number(
        1.0, softbounds=(0.0, 5.0), step=0.25, label="input synapse τ_s (ms)",
        doc="Time constant τ_s (ms) of the synapse input events pass before the buckets; 0: "
            "each event is a jump. With τ_s ≈ 1 ms a network trained at one dt keeps its spikes "
            "at finer dt (Resolution explorer). Applies live.")
    bucket_weights = param.Selector(
        objects=["neuron", "synapse"], default="synapse", label="bucket weights v",
        doc="Bucket weights v per neuron (one delay kernel per neuron) or per synapse (one per "
            "synapse). Restarts.")
    mode = param.Selector(
        objects=["spatial", "traces"], default="spatial", label="learning mode",
        doc="`spatial`: gradient through the current step only; `traces`: eligibility traces "
            "(exact for one hidden layer, slower). Restarts.")
    lr = param.Number(
        3e-2, softbounds=(1e-5, 0.5), step=1e-3, label="learning rate",
        doc="Adam learning rate (one update per sequence), 1e-5 to 0.5. Applies live.")
    spike_cost = param.Number(
        1e-4, softbounds=(0.0, 1e-2), step=1e-5, label="spike cost λ",
        doc="Weight of the hidden spike cost, 0 to 0.01: the loss adds λ × the hidden rate (Hz) "
            "estimated from the hidden signals, so training keeps them small and the network "
            "sparse (0: no cost). Applies live.")
    spike_cost_ramp = param.Integer(
        0, softbounds=(0, 2000), label="spike cost ramp (epochs)",
        doc="The spike cost's weight grows from 0 to λ over the run's first this many epochs, 0 to "
            "2000 (0: λ from the start). At full weight from the start a cost can silence the "
            "hidden layer before it has learned anything, and a silent layer does not come back. "
            "Applies live.")
    n_hidden = param.Integer(
        50, softbounds=(4, 200), label="hidden neurons", doc="Hidden neurons. Restarts.")
    seed = param.Integer(
        0, softbounds=(0, 2**32 - 1), label="seed",
        doc="Seed of weights and task data (0 to 2³² − 1). Restarts.")
    speed = param.Number(
        20.0, softbounds=(0.2, 20.0), step=0.2, label="speed (epochs/s, max)",
        doc="At most this many epochs per second (20 = as fast as the CPU allows).")
    max_hidden = param.Integer(
        200, bounds=(1, None), constant=True, precedence=-1,
        doc="largest hidden layer this server allows (neurons; its classroom limit)")

    running = param.Boolean(False, doc="play (True) or pause (False)")
    epoch = param.Integer(0, doc="epochs trained")
    error = param.String("", doc="last invalid setting or divergence message; '' when fine")
    status = param.String("paused", doc="one line of status")

    def __init__(self, **params):
        self._ready = False
        self._applying_url = False
        super().__init__(**params)
        self.param.preset.objects = presets()
        self._valid = {k: getattr(self, k) for k in URL_KEYS}  # the last valid settings
        self._ready = True

    # ------------------------------------------------------------------ derived
    def task(self):
        """The task behind the preset (a synthetic task or a real data set)."""
        return make_task(self.preset, n_hidden=self.n_hidden, seed=self.seed)

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
        cmd += f" --input-synapse-ms {self.input_synapse_ms:g} --spike-cost {self.spike_cost:g}"
        cmd += f" --spike-cost-ramp {self.spike_cost_ramp}"
        cmd += f" --n-hidden {self.n_hidden} --threshold {self.threshold_hidden:g} {self.threshold_out:g}"
        return cmd

    def preset_defaults(self) -> dict:
        """The preset task's own settings (τ, K, ϑ, bucket weights, learning rate, spike cost and
        its ramp: a real data set's recipe gives the ramp as a fraction of its epochs)."""
        from engine.experiment import task_spike_cost_ramp
        task = self.task()
        cfg = task.network_config(self.dt_ms)
        spec = cfg.layers
        return dict(tau_ms=spec[0].tau_ms[0], n_buckets=spec[0].n_buckets,
                    threshold_hidden=spec[0].threshold, threshold_out=spec[-1].threshold,
                    adaptive_threshold=cfg.adaptive_threshold, bucket_weights=cfg.bucket_weights,
                    input_synapse_ms=cfg.input_synapse_ms, lr=task.lr,
                    spike_cost=getattr(task, "spike_cost", 0.0),
                    spike_cost_ramp=task_spike_cost_ramp(task))

    @param.depends("preset", watch=True)
    def _load_preset(self):
        if self._ready and not self._applying_url:
            self.param.update(self.preset_defaults())

    # ------------------------------------------------------------------ URL round trip
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

    # ------------------------------------------------------------------ validation
    @param.depends(*URL_KEYS, watch=True)
    def _validate(self, *events):
        if not self._ready:
            return
        changed = [n for n in URL_KEYS if self.value(n) != self._valid[n]]
        try:
            self.check()
        except ValueError as err:
            self.error = f"Invalid setting: {err}. Kept the previous value."
            self._ready = False
            try:
                self.param.update({n: self._valid[n] for n in changed})
            finally:
                self._ready = True
            return
        self.error = ""
        self._valid.update({n: self.value(n) for n in changed})
        self.settings_changed(changed)

    def settings_changed(self, changed: list[str]) -> None:
        """Called with the names of settings that changed to new valid values (a session that
        trains them overrides it)."""

    def valid_settings(self) -> dict:
        """The last valid settings {name: value}, as the run uses them."""
        return dict(self._valid)

    def value(self, name: str):
        """A setting as the run uses it. dt is rounded to 1e-6 ms here rather than written back:
        slider steps leave float noise (0.5000000000000001), and writing the rounded value back
        to the slider while the user is still pressing keys undid their next steps."""
        value = getattr(self, name)
        return round(value, 6) if name == "dt_ms" and isinstance(value, float) else value

    def check(self) -> None:
        """Raise a ValueError naming the first setting out of its range (the param's softbounds
        for :data:`IN_RANGE`, the server's ``max_hidden``, the engine's NetworkConfig checks)."""
        for name in IN_RANGE:
            lo, hi = self.param[name].softbounds
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and lo <= value <= hi):
                raise ValueError(f"{name} must be between {lo:g} and {hi:g} in the workbench "
                                 f"(got {value!r})")
        if not self.speed > 0:
            raise ValueError(f"speed must be > 0 epochs per second (got {self.speed!r})")
        if not 1 <= self.n_hidden <= self.max_hidden:
            raise ValueError(f"n_hidden must be between 1 and {self.max_hidden} neurons "
                             f"on this server (got {self.n_hidden!r})")
        NetworkConfig(**{**self.task().network_config(self.dt_ms).to_dict(),
                         **self.config_overrides()})
