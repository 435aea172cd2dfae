"""Every GUIDE_* variable is checked in one place before a build runs anything (engine.envinput)."""

from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest

from engine import envinput, environment, hook

CORES = environment.usable_cores()


@pytest.mark.parametrize("value", ["0", "-1", "abc", "1.5", " "])
def test_bad_guide_jobs_names_the_variable_and_what_is_allowed(value):
    if not value.strip():
        assert envinput.jobs({"GUIDE_JOBS": value}) == min(2, CORES)  # blank: the default
        return
    with pytest.raises(envinput.EnvError) as error:
        envinput.jobs({"GUIDE_JOBS": value})
    assert str(error.value) == (f"GUIDE_JOBS={value!r} is not allowed: a whole number from 1 up (more than "
                                f"{CORES}, this machine's usable cores, counts as {CORES})")


def test_guide_jobs_is_capped_at_the_usable_cores():
    assert envinput.jobs({"GUIDE_JOBS": "1000"}) == CORES
    assert envinput.jobs({"GUIDE_JOBS": "1"}) == 1


@pytest.mark.parametrize(("name", "value", "allowed"), [
    ("GUIDE_RUN", "sometimes", "not one of stale, none, all"),
    ("GUIDE_BENCH_PROFILE", "fast", "not one of quick, default, full"),
    ("GUIDE_BENCH_QUIET_WAIT", "soon", "not allowed: seconds from 0 to 3600"),
    ("GUIDE_BENCH_QUIET_WAIT", "-5", "not allowed: seconds from 0 to 3600"),
    ("GUIDE_BENCH_QUIET_WAIT", "nan", "not allowed: seconds from 0 to 3600"),
    ("GUIDE_ALLOW_DOWNGRADE", "maybe", "not one of 1, 0 (or true, false)"),
])
def test_each_variable_is_one_line_with_name_value_and_what_is_allowed(name, value, allowed):
    with pytest.raises(envinput.EnvError) as error:
        envinput.read({name: value})
    assert str(error.value) == f"{name}={value!r} is {allowed}"


def test_every_bad_variable_is_reported_at_once(tmp_path):
    with pytest.raises(envinput.EnvError) as error:
        envinput.read({"GUIDE_RUN": "x", "GUIDE_JOBS": "0", "GUIDE_MNIST": str(tmp_path / "none.npz")})
    lines = str(error.value).splitlines()
    assert [line.split("=")[0] for line in lines] == ["GUIDE_RUN", "GUIDE_JOBS", "GUIDE_MNIST"]


def test_defaults_when_nothing_is_set():
    settings = envinput.read({})
    assert (settings.run, settings.bench_profile, settings.quiet_wait_s, settings.allow_downgrade) == \
        ("stale", "quick", envinput.DEFAULT_QUIET_WAIT_S, False)
    assert settings.mnist is None and "scikit-learn digits" in settings.line()


def _npz(path, images=(3, 28, 28), labels=None, drop=()):
    arrays = {"x_train": np.zeros(images, np.uint8), "y_train": np.zeros(labels or images[0], np.uint8),
              "x_test": np.zeros(images, np.uint8), "y_test": np.zeros(labels or images[0], np.uint8)}
    np.savez(path, **{k: v for k, v in arrays.items() if k not in drop})
    return path


def _idx(folder, count=3, truncate=False):
    folder.mkdir()
    for stem, dims in (("train-images-idx3-ubyte", (count, 28, 28)), ("train-labels-idx1-ubyte", (count,)),
                       ("t10k-images-idx3-ubyte", (count, 28, 28)), ("t10k-labels-idx1-ubyte", (count,))):
        magic = 0x800 + len(dims)
        payload = struct.pack(">I", magic) + struct.pack(f">{len(dims)}I", *dims) + bytes(int(np.prod(dims)))
        if stem.startswith("t10k-labels"):
            (folder / f"{stem}.gz").write_bytes(gzip.compress(payload))
        else:
            (folder / stem).write_bytes(payload[:-1] if truncate and stem.startswith("train-images") else payload)
    return folder


def test_real_mnist_shapes_pass(tmp_path):
    assert envinput.check_mnist({"GUIDE_MNIST": str(_npz(tmp_path / "m.npz"))}) == tmp_path / "m.npz"
    assert envinput.check_mnist({"GUIDE_MNIST": str(_idx(tmp_path / "idx"))}) == tmp_path / "idx"


@pytest.mark.parametrize(("make", "says"), [
    (lambda p: p / "missing.npz", "not an existing file or folder"),
    (lambda p: (p / "r.npz").write_bytes(np.random.default_rng(0).bytes(4096)) and p / "r.npz",
     "it is not a zip archive, so not an .npz"),
    (lambda p: _npz(p / "d.npz", drop=("y_test",)), "the archive has no y_test array(s)"),
    (lambda p: _npz(p / "s.npz", images=(3, 8, 8)), "not MNIST-shaped: train images (3, 8, 8)"),
    (lambda p: _npz(p / "l.npz", labels=4), "labels (4,)"),
    (lambda p: _idx(p / "t", truncate=True), "train-images-idx3-ubyte is truncated or padded"),
    (lambda p: (p / "e").mkdir() or p / "e", "the folder has no train-images-idx3-ubyte"),
])
def test_a_bad_guide_mnist_is_one_line_saying_what_it_is_not(tmp_path, make, says):
    path = make(tmp_path)
    with pytest.raises(envinput.EnvError) as error:
        envinput.check_mnist({"GUIDE_MNIST": str(path)})
    message = str(error.value)
    assert message.startswith(f"GUIDE_MNIST={str(path)!r} is not ") and says in message, message
    assert "\n" not in message and "pickle" not in message


def test_the_build_checks_the_environment_before_any_step(monkeypatch):
    from mkdocs.exceptions import PluginError

    ran = []
    monkeypatch.setattr(hook, "run_steps", lambda mode, logger=None: ran.append(mode))
    monkeypatch.setenv("GUIDE_JOBS", "0")  # read even though nothing is stale
    with pytest.raises(PluginError, match=r"^GUIDE_JOBS='0' is not allowed"):
        hook.on_pre_build(config=None)
    assert ran == []
    monkeypatch.setenv("GUIDE_JOBS", "1000")
    hook.on_pre_build(config=None)
    assert ran == ["stale"]

