"""Data loaders given truncated or corrupt copies of real files (written into tmp_path, never into
the shared data folder): they load, or raise a ValueError naming the file. Never another error."""
import gzip
import shutil

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.data.fsdd import read_wav
from engine.data.nmnist import read_events, read_label_table
from engine.data.qtdb import load_qtdb
from engine.data.smnist import read_idx


def damage(raw: bytes, data) -> bytes:
    """Truncate, overwrite some bytes, or both (drawn by Hypothesis)."""
    how = data.draw(st.sampled_from(["truncate", "flip", "both", "append"]))
    if how in ("flip", "both"):
        buf = bytearray(raw)
        for i in data.draw(st.lists(st.integers(0, max(len(buf) - 1, 0)), min_size=1, max_size=16)):
            buf[i] = data.draw(st.integers(0, 255))
        raw = bytes(buf)
    if how in ("truncate", "both"):
        raw = raw[:data.draw(st.integers(0, len(raw)))]
    if how == "append":
        raw += data.draw(st.binary(min_size=1, max_size=64))
    return raw


def _loads_or_names_file(load, path):
    try:
        load(path)
    except ValueError as err:
        assert str(path) in str(err), str(err)


@pytest.fixture(scope="module")
def originals(data_dir):
    wav = sorted((data_dir / "fsdd" / "recordings").glob("*.wav"))[0]
    return {"wav": wav.read_bytes(),
            "bs2": (data_dir / "nmnist_small" / "events" / "1.bs2").read_bytes(),
            "idx": gzip.decompress((data_dir / "mnist_test" / "t10k-labels-idx1-ubyte.gz").read_bytes()),
            "table": (data_dir / "nmnist_small" / "test100.txt").read_bytes(),
            "mat": data_dir / "qtdb_yin" / "QTDB_test.mat"}


@given(data=st.data())
def test_corrupt_wav(originals, tmp_path_factory, data):
    path = tmp_path_factory.mktemp("wav") / "0_x_0.wav"
    path.write_bytes(damage(originals["wav"], data))
    _loads_or_names_file(read_wav, path)


@given(data=st.data())
def test_corrupt_nmnist_events_and_table(originals, tmp_path_factory, data):
    folder = tmp_path_factory.mktemp("nmnist")
    (folder / "1.bs2").write_bytes(damage(originals["bs2"], data))
    _loads_or_names_file(read_events, folder / "1.bs2")
    (folder / "test100.txt").write_bytes(damage(originals["table"], data))
    _loads_or_names_file(read_label_table, folder / "test100.txt")


@given(data=st.data(), compressed_damage=st.booleans())
def test_corrupt_idx(originals, tmp_path_factory, data, compressed_damage):
    path = tmp_path_factory.mktemp("idx") / "labels-idx1-ubyte.gz"
    if compressed_damage:  # a damaged gzip stream
        path.write_bytes(damage(gzip.compress(originals["idx"]), data))
    else:  # a whole gzip stream of damaged content
        path.write_bytes(gzip.compress(damage(originals["idx"], data)))
    _loads_or_names_file(read_idx, path)


@given(data=st.data())
def test_corrupt_qtdb_mat(originals, tmp_path_factory, data):
    folder = tmp_path_factory.mktemp("qtdb_yin")
    shutil.copyfile(originals["mat"], folder / "QTDB_test.mat")
    path = folder / "QTDB_test.mat"
    path.write_bytes(damage(path.read_bytes(), data))
    _loads_or_names_file(lambda p: load_qtdb(p.parent, split="test"), path)
