"""Property-based tests of the engine's entry points: every bad value is a ValueError naming the
field; a valid one never yields NaN silently; a damaged model file fails with a clear message.

Profiles (tests/conftest.py): "ci" by default, ``SPIKINGGAMMA_FUZZ=full`` for the full run.
"""
import dataclasses
import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import engine
from engine.config import NetworkConfig
from engine.errors import DivergenceError

FIELDS = [f.name for f in dataclasses.fields(NetworkConfig) if f.init]

# anything a caller, a config file or a URL could hand over
wild = st.one_of(
    st.none(), st.booleans(), st.integers(-10, 10), st.integers(-2**70, 2**70),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=8),
    st.lists(st.one_of(st.integers(-3, 60), st.floats(-1, 50)), max_size=4).map(tuple),
    st.sampled_from(["neuron", "synapse", "spiking", "linear", "exact", "paper", "float64",
                     "cpu", "cuda:0", "rate", "analog", "first", (4, 4), (1.0, (2.0, 3.0))]),
)


def _names_field(message: str, given_fields) -> bool:
    return any(name in message for name in given_fields)


@given(st.dictionaries(st.sampled_from(FIELDS), wild, min_size=1, max_size=4))
def test_network_config_rejects_bad_values_by_name(kwargs):
    try:
        cfg = NetworkConfig(**kwargs)
    except ValueError as err:
        assert _names_field(str(err), kwargs), (kwargs, str(err))
        return
    # accepted: every numeric field it resolved is finite and in range
    for spec in cfg.layers:
        assert spec.n_buckets >= 1 and all(math.isfinite(t) and t > 0 for t in spec.tau_ms)
        assert math.isfinite(spec.threshold) and spec.threshold > 0
    assert cfg.dt_ms > 0 and math.isfinite(cfg.dt_ms)
    for name in ("adaptive_threshold", "learn_tau", "bias"):
        assert isinstance(getattr(cfg, name), bool)


valid_config = st.fixed_dictionaries({
    "sizes": st.tuples(st.integers(1, 6), st.integers(1, 6), st.integers(1, 3)),
    "dt_ms": st.floats(0.05, 5.0), "tau_ms": st.floats(0.2, 50.0), "n_buckets": st.integers(1, 6),
    "threshold": st.floats(1e-3, 5.0), "weight_gain": st.floats(0.01, 20.0),
    "bucket_weights": st.sampled_from(["neuron", "synapse"]),
    "adaptive_threshold": st.booleans(), "readout": st.sampled_from(["spiking", "linear"]),
    "coding": st.sampled_from(["spikes", "rate"]),
    "discretisation": st.sampled_from(["exact", "paper"]),
    "dtype": st.sampled_from(["float32", "float64"]),
})


@given(valid_config, st.integers(0, 2**32 - 1), st.floats(0.0, 1.0))
def test_valid_configs_simulate_finite(kwargs, seed, rate):
    net = engine.Network(NetworkConfig(**kwargs), seed=seed)
    g = torch.Generator().manual_seed(seed)
    inputs = (torch.rand(12, 2, kwargs["sizes"][0], generator=g) < rate).float()  # [T, B, n_in]
    res = engine.simulate(net, inputs)
    assert all(torch.isfinite(s).all() for s in res.signals)


@given(lr=st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-5, 5),
                    st.text(max_size=3)),
       mode=st.sampled_from(["spatial", "traces", "bptt", "", "Spatial", "online"]),
       optimizer=st.sampled_from(["adam", "sgd", "rmsprop", ""]),
       update_every=st.one_of(st.none(), st.integers(-2, 30), st.floats(0, 3), st.text(max_size=2)),
       warmup_ms=st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=2)))
def test_trainer_arguments(lr, mode, optimizer, update_every, warmup_ms):
    net = engine.Network(NetworkConfig(sizes=(3, 4, 1)), seed=0)
    args = dict(lr=lr, mode=mode, optimizer=optimizer, update_every=update_every, warmup_ms=warmup_ms)
    try:
        trainer = engine.Trainer(net, **args)
    except ValueError as err:
        assert _names_field(str(err), args), (args, str(err))
        return
    assert trainer.mode == mode and 0 < lr < math.inf


@given(seed=st.integers(0, 2**16), log_lr=st.floats(-4, 12), log_gain=st.floats(-1, 4),
       mode=st.sampled_from(["spatial", "traces", "bptt"]), loss=st.sampled_from(["mse", "mse_hinge"]),
       update_every=st.one_of(st.none(), st.integers(1, 8)), scale=st.floats(-1e6, 1e6))
def test_training_never_goes_on_with_nan(seed, log_lr, log_gain, mode, loss, update_every, scale):
    """Huge learning rates, weights and targets: either every parameter stays finite, or
    DivergenceError says so and the parameters are finite (the last good ones)."""
    cfg = NetworkConfig(sizes=(4, 5, 2), weight_gain=10.0 ** log_gain)
    net = engine.Network(cfg, seed=seed)
    g = torch.Generator().manual_seed(seed)
    inputs = (torch.rand(20, 2, 4, generator=g) < 0.3).float()  # [T, B, n_in]
    targets = scale * torch.rand(20, 2, 2, generator=g)          # [T, B, n_out]
    trainer = engine.Trainer(net, mode=mode, loss=loss, lr=10.0 ** log_lr,
                             update_every=None if mode == "bptt" else update_every)
    before = {n: p.detach().clone() for n, p in net.named_parameters()}
    for _ in range(3):
        try:
            trainer.train_sequence(inputs, targets)
        except DivergenceError as err:
            assert "diverged" in str(err)
            if update_every is None:  # one update per sequence: nothing was applied this call
                for n, p in net.named_parameters():
                    assert torch.equal(p.detach(), before[n]), n
            break
        before = {n: p.detach().clone() for n, p in net.named_parameters()}
    assert all(torch.isfinite(p).all() for p in net.parameters())


@given(st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=1, max_size=8),
       st.sampled_from([(2, 1, 3), (2, 1, 4), (1, 3), (0, 1, 3), (2, 0, 3)]))
def test_bad_inputs_are_refused(values, shape):
    net = engine.Network(NetworkConfig(sizes=(3, 2, 1)), seed=0)
    n = math.prod(shape)
    x = torch.tensor((values * (n // len(values) + 1))[:n], dtype=torch.float32).reshape(shape)
    finite = bool(torch.isfinite(x).all())
    if finite and len(shape) == 3 and shape[0] > 0 and shape[1] > 0 and shape[2] == 3:
        engine.simulate(net, x)
        return
    with pytest.raises(ValueError, match="inputs"):
        engine.simulate(net, x)


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "model.pt"
    engine.Network(NetworkConfig(sizes=(3, 4, 2)), seed=1).save(path)
    return path.read_bytes()


@given(data=st.data())
def test_damaged_or_foreign_model_files_fail_clearly(model_file, tmp_path_factory, data):
    path = tmp_path_factory.mktemp("bad") / "model.pt"
    how = data.draw(st.sampled_from(["truncate", "flip", "foreign", "random"]))
    if how == "truncate":
        path.write_bytes(model_file[:data.draw(st.integers(0, len(model_file) - 1))])
    elif how == "flip":
        raw = bytearray(model_file)
        for i in data.draw(st.lists(st.integers(0, len(raw) - 1), min_size=1, max_size=8)):
            raw[i] ^= 0xFF
        path.write_bytes(bytes(raw))
    elif how == "foreign":
        blob = data.draw(st.sampled_from([
            {"state_dict": {}}, {"config": {"sizes": [3, 4, 2]}, "state_dict": {"w": torch.ones(2)}},
            {"config": {"sizes": [3, 4, 2], "colour": 1}, "state_dict": {}}, [1, 2, 3],
            torch.zeros(3), {"format": "someone-else", "config": {}, "state_dict": {}},
            {"config": {"sizes": [3, -4, 2]}, "state_dict": {}}]))
        torch.save(blob, path)
    else:
        path.write_bytes(data.draw(st.binary(max_size=300)))
    try:
        net = engine.Network.load(path)
    except ValueError as err:
        assert str(path) in str(err)
        return
    # a flip that torch's checks cannot see (e.g. inside a float): the model must still be ours
    assert net.cfg.sizes == (3, 4, 2)


def test_save_is_atomic(tmp_path, monkeypatch):
    """A save that fails half-way leaves the previous file whole and no temporary file."""
    path = tmp_path / "model.pt"
    net = engine.Network(NetworkConfig(sizes=(3, 4, 2)), seed=1)
    net.save(path)
    good = path.read_bytes()

    def broken(obj, f, *args, **kwargs):
        with open(f, "wb") as fh:
            fh.write(b"half a model")
        raise OSError("disk full")
    monkeypatch.setattr(torch, "save", broken)
    with pytest.raises(OSError, match="disk full"):
        net.save(path)
    assert path.read_bytes() == good and [p.name for p in tmp_path.iterdir()] == ["model.pt"]
