"""Datasets for the guide, each labelled as what it is.

MNIST cannot be downloaded on the machines that build this guide, so three
sources exist, and every page says which one produced its numbers:

* ``digits``: scikit-learn's bundled handwritten digits (1,797 real 8x8 scans
  by 43 writers), upsampled to MNIST's 28x28. The default for anything that
  trains to an accuracy.
* ``mnist``: the real MNIST, read from a path you give (a Keras-style
  ``mnist.npz`` or a folder of the four IDX files, gzipped or not). Set
  ``GUIDE_MNIST=/path/to/mnist.npz`` to make every snippet use it.
* ``synthetic``: random MNIST-shaped tensors, for pure-throughput timing where
  the values do not matter.

All loaders return float32 images in [0, 1] shaped ``(N, 28, 28)`` and int64
labels; each framework adds its own channel axis.

>>> ds = load_digits_28()
>>> ds.x_train.shape[1:], ds.x_train.dtype.name, ds.y_train.dtype.name
((28, 28), 'float32', 'int64')
>>> len(ds.x_train) + len(ds.x_test)
1797
>>> float(ds.x_train.min()) >= 0.0 and float(ds.x_train.max()) <= 1.0
True
>>> x, y = synthetic_batch(4)
>>> x.shape, y.shape
((4, 28, 28), (4,))
"""

from __future__ import annotations

import gzip
import os
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

IMAGE_SIDE = 28
NUM_CLASSES = 10

# IDX magic numbers: two zero bytes, a type code (0x08 = unsigned byte) and the
# number of dimensions (1 for labels, 3 for images).
_IDX_LABELS = 0x00000801
_IDX_IMAGES = 0x00000803


@dataclass(frozen=True)
class Dataset:
    """Train and test splits plus a human-readable description of the source."""

    name: str
    description: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray

    def summary(self) -> str:
        return (
            f"Dataset: {self.description}; "
            f"{len(self.x_train):,} training and {len(self.x_test):,} test images"
        )


def load_digits_28(test_fraction: float = 0.2, seed: int = 0) -> Dataset:
    """scikit-learn's real handwritten digits, bilinearly upsampled to 28x28."""
    from scipy.ndimage import zoom
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    images = digits.images.astype(np.float32) / 16.0  # pixel values are 0..16
    scale = IMAGE_SIDE / images.shape[1]
    resized = zoom(images, (1, scale, scale), order=1).clip(0.0, 1.0).astype(np.float32)
    labels = digits.target.astype(np.int64)
    x_train, x_test, y_train, y_test = train_test_split(
        resized, labels, test_size=test_fraction, random_state=seed, stratify=labels
    )
    return Dataset(
        name="digits",
        description="scikit-learn handwritten digits (real 8x8 scans upsampled to 28x28)",
        x_train=x_train,
        y_train=y_train,
        x_test=x_test,
        y_test=y_test,
    )


def digits_32() -> tuple[np.ndarray, ...]:
    """The real digits, padded to 32x32 and repeated over three channels (NHWC): CIFAR-shaped, for the ResNet.

    >>> x_train, y_train, x_test, y_test = digits_32()
    >>> x_train.shape[1:], x_train.dtype.name, len(x_train) == len(y_train), len(x_test) == len(y_test)
    ((32, 32, 3), 'float32', True, True)
    """
    data = load_digits_28()
    pad = lambda x: np.repeat(np.pad(x, ((0, 0), (2, 2), (2, 2)))[..., None], 3, axis=-1)  # noqa: E731
    return pad(data.x_train), data.y_train, pad(data.x_test), data.y_test


def _open_maybe_gzip(path: Path):
    return gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read one IDX file (MNIST's own format) into a uint8 array.

    Raises ``ValueError`` with the file name when the header is not an
    unsigned-byte IDX header or the payload is truncated.
    """
    path = Path(path)
    with _open_maybe_gzip(path) as handle:
        header = handle.read(4)
        if len(header) != 4:
            raise ValueError(f"{path}: too short to be an IDX file")
        (magic,) = struct.unpack(">I", header)
        if magic not in (_IDX_LABELS, _IDX_IMAGES):
            raise ValueError(f"{path}: not an unsigned-byte IDX file (magic {magic:#010x})")
        ndim = magic & 0xFF
        dims = struct.unpack(f">{ndim}I", handle.read(4 * ndim))
        payload = handle.read()
    expected = int(np.prod(dims))
    if len(payload) != expected:
        raise ValueError(f"{path}: expected {expected} bytes of data, found {len(payload)}")
    return np.frombuffer(payload, dtype=np.uint8).reshape(dims)


_IDX_NAMES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}


def _find_idx(folder: Path, stem: str) -> Path:
    for candidate in (folder / stem, folder / f"{stem}.gz"):
        if candidate.exists():
            return candidate
    raise FileNotFoundError(f"{folder}: missing {stem} (or {stem}.gz)")


def load_mnist(path: str | os.PathLike) -> Dataset:
    """Load real MNIST from ``mnist.npz`` or a folder holding the IDX files."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"MNIST path {path} does not exist")
    if path.is_dir():
        arrays = {key: read_idx(_find_idx(path, stem)) for key, stem in _IDX_NAMES.items()}
    else:
        with np.load(path) as npz:
            missing = set(_IDX_NAMES) - set(npz.files)
            if missing:
                raise ValueError(f"{path}: missing arrays {sorted(missing)}")
            arrays = {key: npz[key] for key in _IDX_NAMES}
    for split in ("train", "test"):
        images, labels = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if images.shape[1:] != (IMAGE_SIDE, IMAGE_SIDE) or len(images) != len(labels):
            raise ValueError(f"{path}: {split} split has images {images.shape}, labels {labels.shape}")
    return Dataset(
        name="mnist",
        description=f"MNIST from {path.name}",
        x_train=(arrays["x_train"].astype(np.float32) / 255.0),
        y_train=arrays["y_train"].astype(np.int64),
        x_test=(arrays["x_test"].astype(np.float32) / 255.0),
        y_test=arrays["y_test"].astype(np.int64),
    )


def load_dataset() -> Dataset:
    """The dataset snippets train on: MNIST if ``GUIDE_MNIST`` names it, else digits."""
    mnist_path = os.environ.get("GUIDE_MNIST")
    return load_mnist(mnist_path) if mnist_path else load_digits_28()


def synthetic_batch(batch_size: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Random MNIST-shaped images and labels: for throughput only, never accuracy."""
    rng = np.random.default_rng(seed)
    x = rng.random((batch_size, IMAGE_SIDE, IMAGE_SIDE), dtype=np.float32)
    y = rng.integers(0, NUM_CLASSES, size=batch_size, dtype=np.int64)
    return x, y
