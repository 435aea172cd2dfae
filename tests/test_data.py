"""The real MNIST loader, on tiny IDX and npz files the test writes."""

from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest

from common import data


def write_idx(path, array, gz=False):
    header = struct.pack(">I", 0x0800 + array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    payload = header + array.astype(np.uint8).tobytes()
    if gz:
        path = path.with_name(path.name + ".gz")
        path.write_bytes(gzip.compress(payload))
    else:
        path.write_bytes(payload)
    return path


@pytest.fixture
def tiny():
    rng = np.random.default_rng(1)
    return {
        "x_train": rng.integers(0, 256, (5, 28, 28)), "y_train": np.arange(5),
        "x_test": rng.integers(0, 256, (3, 28, 28)), "y_test": np.arange(3),
    }


@pytest.mark.parametrize("gz", [False, True])
def test_idx_folder_round_trip(tmp_path, tiny, gz):
    for key, stem in data._IDX_NAMES.items():
        write_idx(tmp_path / stem, tiny[key], gz=gz)
    ds = data.load_mnist(tmp_path)
    assert ds.name == "mnist" and ds.x_train.shape == (5, 28, 28) and ds.x_test.shape == (3, 28, 28)
    np.testing.assert_allclose(ds.x_train, tiny["x_train"] / 255.0, rtol=1e-6)
    assert ds.y_test.tolist() == [0, 1, 2] and ds.y_test.dtype == np.int64


def test_npz_round_trip_and_env_switch(tmp_path, tiny, monkeypatch):
    path = tmp_path / "mnist.npz"
    np.savez(path, **{k: v.astype(np.uint8) for k, v in tiny.items()})
    monkeypatch.setenv("GUIDE_MNIST", str(path))
    ds = data.load_dataset()
    assert ds.name == "mnist" and ds.description == "MNIST from mnist.npz"
    assert float(ds.x_train.max()) <= 1.0


def test_bad_magic_and_truncation_are_reported_with_the_file(tmp_path, tiny):
    bad = tmp_path / "bad"
    bad.write_bytes(struct.pack(">I", 0x0D03) + b"\0" * 20)
    with pytest.raises(ValueError, match="not an unsigned-byte IDX"):
        data.read_idx(bad)
    short = write_idx(tmp_path / "short", tiny["y_train"])
    short.write_bytes(short.read_bytes()[:-2])
    with pytest.raises(ValueError, match="expected 5 bytes"):
        data.read_idx(short)


def test_missing_files_and_arrays_are_reported(tmp_path, tiny):
    with pytest.raises(FileNotFoundError):
        data.load_mnist(tmp_path / "nope.npz")
    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte"):
        data.load_mnist(tmp_path)
    path = tmp_path / "partial.npz"
    np.savez(path, x_train=tiny["x_train"])
    with pytest.raises(ValueError, match="missing arrays"):
        data.load_mnist(path)


def test_default_dataset_is_the_labelled_digits_set(monkeypatch):
    monkeypatch.delenv("GUIDE_MNIST", raising=False)
    ds = data.load_dataset()
    assert ds.name == "digits" and "scikit-learn" in ds.description
    assert set(np.unique(ds.y_train)) == set(range(10))
