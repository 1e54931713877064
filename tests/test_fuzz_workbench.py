"""Property-based tests of what users type: the workbench's settings and URL query strings, and
the command line. A bad value is a message (the page's ``error``, or exit status 2 naming the
field), never an exception out of the session or a traceback; nothing trains on NaN."""
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.cli import main
from workbench.models.neuron import NeuronLabModel
from workbench.models.trainer import URL_KEYS, TrainerModel

# what a hand-edited link may hold
query_value = st.one_of(
    st.text(max_size=12), st.sampled_from(["nan", "inf", "-inf", "-1", "0", "1e308", "1e-308",
                                           "0.5", "3", "true", "pattern", "coincidence", "qtdb",
                                           "../../etc/passwd", "synapse", "traces", "bptt", "4294967296"]),
    st.integers(-10**12, 10**12).map(str), st.floats(allow_nan=True, allow_infinity=True).map(repr))
query = st.dictionaries(st.sampled_from(sorted(URL_KEYS.values()) + ["x", "page", "dt_ms"]),
                        query_value, max_size=6)


@given(query)
def test_trainer_url_query_never_raises_and_stays_valid(q):
    m = TrainerModel()
    m.apply_url_state(q)
    m.check()  # whatever the link said, the settings it kept are valid
    assert math.isfinite(m.dt_ms) and math.isfinite(m.lr) and 1 <= m.n_hidden
    if m.error:
        assert m.error.startswith("Invalid link"), m.error
        return
    for name, key in URL_KEYS.items():  # no message: every value was taken as written
        value = getattr(m, name)
        if key in q and not isinstance(value, bool):
            assert (value == q[key] if isinstance(value, str)
                    else math.isclose(value, float(q[key]), rel_tol=1e-6)), (q, name, value)


@given(st.sampled_from([n for n in URL_KEYS if n != "preset"]),
       st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-10**6, 10**6)))
def test_trainer_setting_rolls_back_with_a_message(name, value):
    m = TrainerModel()
    before = m.url_state()
    try:
        setattr(m, name, value)
    except ValueError as err:  # param's own type check (e.g. a float for an Integer) names it
        assert name in str(err)
        return
    if m.error:
        assert m.url_state() == before and "Invalid setting" in m.error
    else:
        m.check()


@given(st.dictionaries(st.sampled_from(["dt_ms", "tau_ms", "n_buckets", "threshold", "delay_ms",
                                        "spread", "weight"]),
                       st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-5, 50)),
                       min_size=1, max_size=3))
def test_neuron_lab_settings(values):
    m = NeuronLabModel()
    for name, value in values.items():
        try:
            setattr(m, name, value)
        except ValueError as err:
            assert name in str(err)
    out = m.simulate()
    assert all(bool(np_all_finite(out[k])) for k in ("buckets", "signal", "estimate", "kernels"))


def np_all_finite(a):
    import numpy as np
    return np.isfinite(np.asarray(a, dtype=float)).all()


# --------------------------------------------------------------------------- command line
arg_value = st.one_of(st.sampled_from(["nan", "inf", "-1", "0", "1e9", "abc", "", "0.5", "2", "-0"]),
                      st.integers(-5, 5).map(str), st.floats(-1e3, 1e3).map(repr))
TRAIN_FLAGS = ["--dt-ms", "--mode", "--epochs", "--seed", "--lr", "--tau-ms", "--n-buckets",
               "--n-hidden", "--threshold", "--bucket-weights", "--threads", "--task", "--device",
               "--spike-cost", "--spike-cost-ramp"]


@given(flags=st.dictionaries(st.sampled_from(TRAIN_FLAGS), arg_value, max_size=4),
       extra=st.lists(st.sampled_from(["--json", "--adaptive-threshold", "--bogus", "-x"]), max_size=2))
def test_cli_train_arguments(flags, extra, tmp_path_factory, capsys):
    """Small runs only (one or two epochs of at most 16 hidden neurons at dt >= 0.25 ms), so
    that every valid line finishes quickly; every other line exits with status 2 and a message."""
    flags = dict(flags)
    if flags.get("--task") not in (None, "abc", "", "0"):
        flags["--task"] = "coincidence"
    safe = {"--epochs": lambda v: float(v) <= 2, "--n-hidden": lambda v: float(v) <= 16,
            "--dt-ms": lambda v: not 0 < float(v) < 0.25, "--threads": lambda v: float(v) <= 2,
            "--n-buckets": lambda v: float(v) <= 8, "--tau-ms": lambda v: float(v) <= 100}
    for flag, ok in safe.items():
        try:
            if flag in flags and not ok(flags[flag]):
                flags[flag] = "1" if flag != "--dt-ms" else "0.5"
        except ValueError:
            pass
    out = tmp_path_factory.mktemp("cli") / "model.pt"
    argv = ["train", "--epochs", "1", "--n-hidden", "8", "--mode", "spatial", "--save", str(out)]
    for flag, value in flags.items():
        argv += [flag, value] if not value.startswith("-") else [f"{flag}={value}"]
    argv += extra
    try:
        code = main(argv)
    except SystemExit as exc:
        code = exc.code
    err = capsys.readouterr().err
    assert code in (0, 2, 3), (argv, code, err)
    if code == 2:
        assert "error:" in err and "Traceback" not in err, err
    if code == 0:
        import engine
        assert engine.Network.load(out).cfg.sizes[1] in (8, 16, 1, 2)


@given(flags=st.dictionaries(st.sampled_from(["--port", "--num-procs", "--max-training",
                                              "--turn-seconds", "--idle-minutes", "--max-hidden"]),
                             arg_value, max_size=3))
def test_cli_serve_arguments(flags, capsys, monkeypatch):
    import workbench.app
    started = []
    monkeypatch.setattr(workbench.app, "serve", lambda **kw: started.append(kw))
    argv = ["serve"]
    for flag, value in flags.items():
        argv += [f"{flag}={value}"]
    try:
        code = main(argv)
    except SystemExit as exc:
        code = exc.code
    err = capsys.readouterr().err
    if code == 0:
        assert started and started[0]["address"] == "127.0.0.1"
        limits = started[0]["limits"]
        assert limits.max_training >= 1 and limits.turn_s > 0 and limits.idle_minutes > 0
    else:
        assert code == 2 and "error:" in err and not started, err
        named = [f.lstrip("-").replace("-", "_") for f in flags] + list(flags)
        assert any(n in err for n in named) or "invalid" in err, err


def test_cli_serve_defaults_to_loopback(monkeypatch, capsys):
    import workbench.app
    started = []
    monkeypatch.setattr(workbench.app, "serve", lambda **kw: started.append(kw))
    assert main(["serve"]) == 0
    assert started[0]["address"] == "127.0.0.1" and started[0]["allow_origin"] is None
    with pytest.raises(SystemExit):
        main(["serve", "--max-training", "0"])
    assert "max_training" in capsys.readouterr().err
