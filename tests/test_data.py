"""Tests of engine.data: loaders on the real data sets, SpikeDataset binning, front ends.

The data lives outside the repository: $SPIKINGGAMMA_DATA_DIR, else ../shared/data next to
the repository root. Tests needing it are skipped when that folder is absent.
"""

from __future__ import annotations

import dataclasses
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from engine.data import (
    CochleaConfig,
    DataNotFoundError,
    SpikeDataset,
    load,
    load_fsdd,
    load_nmnist,
    load_qtdb,
    load_shd,
    load_smnist,
    send_on_delta,
)
from engine.data.fsdd import fsdd_envelope, fsdd_files
from engine.data.smnist import load_mnist_test

REPO = Path(__file__).resolve().parents[1]




@pytest.fixture(scope="module")
def qtdb(data_dir):
    return {s: load_qtdb(data_dir, s) for s in ("train", "test")}


@pytest.fixture(scope="module")
def nmnist(data_dir):
    return {s: load_nmnist(data_dir, s) for s in ("train", "test")}


@pytest.fixture(scope="module")
def smnist(data_dir):
    return {s: load_smnist(data_dir, s) for s in ("train", "test")}


@pytest.fixture(scope="module")
def fsdd_cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="module")
def fsdd_test(data_dir, fsdd_cache):
    return load_fsdd(data_dir, "test", cache_dir=fsdd_cache)


def per_channel_totals(ds: SpikeDataset, indices, dt_ms: float) -> torch.Tensor:
    inputs, _ = ds.to_dense(indices, dt_ms)
    return inputs.sum(0)  # [B, N]


# --- SpikeDataset on synthetic events -------------------------------------------------


def tiny(per_step: bool = False) -> SpikeDataset:
    labels = [np.array([1, 2]), np.array([0])] if per_step else [1, 0]
    return SpikeDataset.from_samples(
        name="tiny",
        n_channels=3,
        n_classes=3,
        times_ms=[np.array([0.0, 0.7, 0.75, 2.0]), np.array([1.05])],
        channels=[np.array([0, 1, 1, 2]), np.array([2])],
        labels=labels,
        label_times_ms=[np.array([0.0, 1.0]), np.array([0.0])] if per_step else None,
        durations_ms=[2.0, 1.5],
    )


def test_binning_rules():
    inputs, labels = tiny().to_dense([0, 1], dt_ms=0.1)
    assert inputs.shape == (20, 2, 3) and inputs.dtype == torch.float32
    assert inputs[7, 0, 1] == 2  # 0.7 and 0.75 share bin 7 (0.7 / 0.1 rounds below 7) and add up
    assert inputs[19, 0, 2] == 1  # an event at exactly duration_ms goes to the last bin
    assert inputs[10, 1, 2] == 1 and inputs.sum() == 5
    assert labels.tolist() == [1, 0]
    coarse, _ = tiny().to_dense([0], dt_ms=0.3)
    assert coarse.shape[0] == math.ceil(2.0 / 0.3) and coarse[2, 0, 1] == 2


def test_per_step_labels_take_the_label_at_the_bin_start():
    _, labels = tiny(per_step=True).to_dense([0, 1], dt_ms=0.4)
    assert labels.shape == (5, 2)  # bins start at 0, 0.4, 0.8, 1.2, 1.6 ms
    assert labels[:, 0].tolist() == [1, 1, 1, 2, 2]
    assert labels[:, 1].tolist() == [0] * 5


@pytest.mark.parametrize("dt_ms", [0, -1.0, float("nan"), float("inf")])
def test_bad_dt_raises(dt_ms):
    with pytest.raises(ValueError, match="dt_ms"):
        tiny().to_dense([0], dt_ms)
    with pytest.raises(ValueError, match="dt_ms"):
        next(tiny().batches(1, dt_ms))


def test_batches_cover_the_split_and_shuffle_reproducibly():
    ds = tiny()
    plain = [y.tolist() for _, y in ds.batches(1, 1.0)]
    assert plain == [[1], [0]]
    first = [y.tolist() for _, y in ds.batches(2, 1.0, shuffle=True, seed=3)]
    assert first == [y.tolist() for _, y in ds.batches(2, 1.0, shuffle=True, seed=3)]
    assert sorted(first[0]) == [0, 1]


def test_invalid_events_are_rejected():
    with pytest.raises(ValueError, match="channels"):
        SpikeDataset.from_samples("bad", 2, 2, [np.array([0.0])], [np.array([5])], [0], [1.0])
    with pytest.raises(ValueError, match="labels"):
        SpikeDataset.from_samples("bad", 2, 2, [np.array([0.0])], [np.array([1])], [7], [1.0])


# --- encoders and front end ----------------------------------------------------------


def test_send_on_delta_tracks_the_signal_within_delta():
    x = np.cumsum(np.random.default_rng(0).normal(0, 0.2, (500, 3)), axis=0)  # [T, C] random walks
    t_ms, col, on = send_on_delta(x, delta=0.25, step_ms=1.0)
    steps = np.zeros_like(x)
    np.add.at(steps, (t_ms.astype(int), col), np.where(on == 1, 0.25, -0.25))
    assert np.abs(np.cumsum(steps, axis=0) - x).max() < 0.25 + 1e-9
    t_i, col_i, on_i = send_on_delta(x, delta=0.25, step_ms=1.0, interpolate=True)
    assert np.array_equal(np.sort(col_i), np.sort(col)) and on_i.sum() == on.sum()
    assert np.all(t_i <= t_ms + 1e-12) and np.all(t_i > t_ms - 1.0 - 1e-12)  # within the preceding step


def test_send_on_delta_golden_trace_and_hysteresis():
    t_ms, col, on = send_on_delta(np.array([[0.0], [0.25], [0.05]]), delta=0.1, step_ms=2.0)
    assert t_ms.tolist() == [2.0, 2.0, 4.0] and on.tolist() == [1, 1, 0]  # ref 0 -> 0.2 -> 0.1
    t_ms, _, on = send_on_delta(np.array([[0.1], [0.19], [0.11], [0.19], [0.0]]), delta=0.1, step_ms=1.0)
    assert t_ms.tolist() == [0.0, 4.0] and on.tolist() == [1, 0]  # no chatter between 0.1 and 0.2


def test_cochlea_filters_match_the_biquad_recursion():
    from scipy import signal

    from engine.data.cochlea import _quality, centre_frequencies_hz, envelopes

    config = CochleaConfig(n_bands=8, envelope_rate_hz=8000.0)  # no decimation: compare every sample
    wave = np.random.default_rng(1).normal(0, 0.1, 4000).astype(np.float32)
    got = envelopes([wave], 8000, config)[0]  # [T, K]
    a = math.exp(-1000.0 / (config.smoothing_tau_ms * 8000))
    for k, fc in enumerate(centre_frequencies_hz(config)):
        w0 = 2 * np.pi * fc / 8000
        alpha = np.sin(w0) / (2 * _quality(config))
        band = signal.lfilter([alpha, 0, -alpha], [1 + alpha, -2 * np.cos(w0), 1 - alpha], wave)
        env = signal.lfilter([1 - a], [1, -a], signal.lfilter([1 - a], [1, -a], np.maximum(band, 0)))
        assert np.abs(got[:, k] - env).max() < 1e-4 * env.max()
    # at 1 kHz the frames are the 8 kHz envelope's every 8th sample, up to the removed ripple
    coarse = envelopes([wave], 8000, dataclasses.replace(config, envelope_rate_hz=1000.0))[0]  # [500, K]
    assert coarse.shape == (500, 8) and np.all(np.abs(coarse - got[::8]).max(0) < 0.03 * got.max(0))


def test_cochlea_config_names_the_bad_field():
    with pytest.raises(ValueError, match="n_bands"):
        CochleaConfig(n_bands=1)
    with pytest.raises(ValueError, match="delta"):
        CochleaConfig(delta=0)


# --- real data sets ------------------------------------------------------------------


def test_qtdb_matches_the_mat_files(qtdb, data_dir):
    import scipy.io

    assert (len(qtdb["train"]), len(qtdb["test"])) == (618, 141)
    ds = qtdb["test"]
    assert (ds.n_channels, ds.n_classes, ds.duration_ms) == (4, 6, 1301 * 4.0)
    mat = scipy.io.loadmat(data_dir / "qtdb_yin" / "QTDB_test.mat")
    inputs, labels = ds.to_dense(range(20), dt_ms=4.0)  # one bin per .mat step
    assert np.array_equal(inputs.numpy().transpose(1, 0, 2), np.clip(mat["x"][:20], 0, None))  # end marker gone
    expected = np.where(mat["y"][:20].any(-1), mat["y"][:20].argmax(-1), 0)
    assert np.array_equal(labels.numpy().T, expected)
    _, fine = ds.to_dense([0], dt_ms=1.0)
    assert np.array_equal(fine[::4, 0].numpy(), expected[0])


def test_nmnist_counts_labels_and_layout(nmnist, data_dir):
    train, test = nmnist["train"], nmnist["test"]
    assert (len(train), len(test), train.n_channels, train.n_classes) == (1000, 100, 2312, 10)
    assert train.labels[:4].tolist() == [5, 0, 4, 1] and test.labels[:4].tolist() == [7, 2, 1, 0]
    raw = np.fromfile(data_dir / "nmnist_small" / "events" / "1.bs2", dtype=np.uint8).reshape(-1, 5)
    first = train[0]
    assert len(first.times_ms) == len(raw) and 250 < float(first.times_ms.max()) < 340
    expected = (raw[:, 2] >> 7).astype(int) * 34 * 34 + raw[:, 1] * 34 + raw[:, 0]
    assert np.array_equal(first.channels.numpy(), expected)
    small = load_nmnist(data_dir, "test", downsample=2)
    assert small.n_channels == 2 * 17 * 17
    assert torch.equal(per_channel_totals(small, range(5), 1.0).sum(1), per_channel_totals(test, range(5), 1.0).sum(1))


def test_smnist_split_and_reconstruction(smnist, data_dir):
    assert (len(smnist["train"]), len(smnist["test"])) == (8000, 2000)
    images, labels = load_mnist_test(data_dir)
    ds = smnist["test"]
    assert ds.labels.tolist() == labels[8000:].tolist() and ds.duration_ms == 784.0
    inputs, _ = ds.to_dense(range(4), dt_ms=1.0)  # [784, 4, 2]
    rebuilt = 0.1 * torch.cumsum(inputs[:, :, 0] - inputs[:, :, 1], 0)  # [784, 4]
    pixels = torch.from_numpy(images[8000:8004].reshape(4, 784).T / 255.0)
    assert (rebuilt - pixels).abs().max() < 0.1 + 1e-6


def test_fsdd_split_classes_and_events(fsdd_test, data_dir):
    assert len(fsdd_files(data_dir, "train")) == 2700 and len(fsdd_test) == 300
    assert (fsdd_test.n_channels, fsdd_test.n_classes) == (64, 10)
    assert np.bincount(fsdd_test.labels.numpy()).tolist() == [30] * 10
    for i in (0, 150, 299):
        sample = fsdd_test[i]
        assert len(sample.times_ms) > 50 and float(sample.times_ms.max()) <= float(fsdd_test.durations_ms[i])
    env = fsdd_envelope("3_jackson_0.wav", data_dir)
    assert env.raw.shape[1] == 32 and env.normalised.max() == pytest.approx(1.0) and env.normalised.min() >= 0


def test_fsdd_cache_returns_the_same_events(fsdd_test, data_dir, fsdd_cache):
    assert len(list((fsdd_cache / "fsdd").glob("test-*.pt"))) == 1
    again = load_fsdd(data_dir, "test", cache_dir=fsdd_cache)
    assert torch.equal(again.times_ms, fsdd_test.times_ms) and torch.equal(again.channels, fsdd_test.channels)


@pytest.mark.parametrize("name", ["qtdb", "nmnist", "smnist", "fsdd"])
def test_event_totals_do_not_depend_on_dt(name, qtdb, nmnist, smnist, fsdd_test):
    ds = {"qtdb": qtdb["test"], "nmnist": nmnist["test"], "smnist": smnist["test"], "fsdd": fsdd_test}[name]
    coarse, fine = per_channel_totals(ds, [0, 1, 2], 1.0), per_channel_totals(ds, [0, 1, 2], 0.1)
    assert torch.equal(coarse, fine)
    a, b = int(ds.offsets[0]), int(ds.offsets[3])
    assert coarse.sum() == b - a  # every event lands in a bin


def test_load_dispatches_and_rejects_unknown_names(data_dir):
    assert len(load("qtdb", data_dir, split="test")) == 141
    with pytest.raises(ValueError, match="name"):
        load("mnist3d", data_dir)
    with pytest.raises(ValueError, match="split"):
        load("nmnist", data_dir, split="valid")


@pytest.mark.parametrize(
    "loader, source",
    [(load_qtdb, "byin-cwi"), (load_fsdd, "Jakobovski"), (load_nmnist, "garrickorchard.com"), (load_smnist, "yann.lecun.com")],
)
def test_missing_data_names_the_source(loader, source, tmp_path, monkeypatch):
    with pytest.raises(DataNotFoundError, match=source) as info:
        loader(tmp_path / "nowhere")
    assert isinstance(info.value, FileNotFoundError) and "nowhere" in str(info.value)
    monkeypatch.delenv("SPIKINGGAMMA_DATA_DIR", raising=False)
    with pytest.raises(DataNotFoundError, match="SPIKINGGAMMA_DATA_DIR"):
        loader()
    monkeypatch.setenv("SPIKINGGAMMA_DATA_DIR", str(tmp_path))
    with pytest.raises(DataNotFoundError, match=source):
        loader()


def test_shd_roundtrip(tmp_path):
    h5py = pytest.importorskip("h5py")
    times = [np.array([0.0, 0.0101, 0.5]), np.array([0.25])]
    units = [np.array([0, 699, 3]), np.array([42])]
    path = tmp_path / "shd_tiny.h5"
    with h5py.File(path, "w") as f:
        spikes = f.create_group("spikes")
        spikes.create_dataset("times", data=np.array(times, dtype=object), dtype=h5py.vlen_dtype(np.float32))
        spikes.create_dataset("units", data=np.array(units, dtype=object), dtype=h5py.vlen_dtype(np.uint16))
        f.create_dataset("labels", data=np.array([3, 19], dtype=np.uint16))
    ds = load_shd(path)
    assert (len(ds), ds.n_channels, ds.n_classes, ds.duration_ms) == (2, 700, 20, 500.0)
    assert ds[0].channels.tolist() == [0, 699, 3] and ds.labels.tolist() == [3, 19]
    assert np.allclose(ds[0].times_ms.numpy(), [0.0, 10.1, 500.0], atol=1e-3)
    inputs, _ = ds.to_dense([0, 1], dt_ms=1.0)
    assert inputs[10, 0, 699] == 1 and inputs[250, 1, 42] == 1 and inputs.sum() == 4
    with pytest.raises(DataNotFoundError, match="zenkelab"):
        load_shd(tmp_path / "missing.h5")


def test_import_pulls_in_no_ui_or_optional_packages():
    code = (
        "import sys, engine.data; "
        "bad = [m for m in ('panel', 'holoviews', 'bokeh', 'param', 'h5py') if m in sys.modules]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
