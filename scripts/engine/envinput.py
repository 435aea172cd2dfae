"""Every environment variable a reader may set, parsed and checked in one place.

The build calls ``read()`` before it runs anything (``hook.on_pre_build``), and
the CLI verbs that run something do the same, so a bad value stops at once
with one line per variable naming it, its value and what is allowed, instead
of a traceback minutes in. The other modules read their variable through the
functions here, so there is one parser per variable.
"""

from __future__ import annotations

import gzip
import os
import struct
import sys
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from pathlib import Path

from engine import environment, sides

RUN_MODES = ("stale", "none", "all")
DEFAULT_BENCH_PROFILE = "quick"
DEFAULT_QUIET_WAIT_S = 20.0
MAX_QUIET_WAIT_S = 3600.0
TRUE, FALSE = ("1", "true", "yes"), ("", "0", "false", "no")

MNIST_ARRAYS = ("x_train", "y_train", "x_test", "y_test")
MNIST_IDX = {"x_train": "train-images-idx3-ubyte", "y_train": "train-labels-idx1-ubyte",
             "x_test": "t10k-images-idx3-ubyte", "y_test": "t10k-labels-idx1-ubyte"}
MNIST_EXPECTED = "an mnist.npz (x_train, y_train, x_test, y_test) or a folder of MNIST's four IDX files"


# The interpreter each framework's processes (snippets, notebooks, benchmark children, probes) run
# under. Unset: this interpreter. A GPU builder sets both (``make site GPU=1``), because torch's CUDA
# wheels and TensorFlow's write the same nvidia/*/lib files for different CUDA majors.
PYTHON_VARS = {side.id: side.python_var for side in sides.SIDES}


class EnvError(ValueError):
    """One or more variables hold a value the engine cannot use; one line each."""


def _problem(name: str, value: str, allowed: str) -> EnvError:
    return EnvError(f"{name}={value!r} is {allowed}")


def _get(environ: Mapping[str, str] | None, name: str) -> str | None:
    return (os.environ if environ is None else environ).get(name)


def run_mode(environ: Mapping[str, str] | None = None) -> str:
    raw = _get(environ, "GUIDE_RUN")
    mode = (raw or "").strip().lower() or "stale"
    if mode not in RUN_MODES:
        raise _problem("GUIDE_RUN", raw, f"not one of {', '.join(RUN_MODES)}")
    return mode


BENCH_RUN_MODES = ("stale", "none", "all")


def bench_run(environ: Mapping[str, str] | None = None, default: str | None = None) -> str:
    """What the build does with benchmark cases: GUIDE_BENCH_RUN, else ``default``, else GUIDE_RUN's mode.

    ``none`` builds the benchmark tables from stored results only. The tests use it: on a machine
    with no stored results the first build measures the quick profile (minutes), and the tests
    check the pages' shape, not this machine's speed.
    """
    return bench_run_set(environ) or default or run_mode(environ)


def bench_run_set(environ: Mapping[str, str] | None = None) -> str | None:
    """GUIDE_BENCH_RUN's mode where it is set, else None."""
    raw = _get(environ, "GUIDE_BENCH_RUN")
    mode = (raw or "").strip().lower()
    if mode and mode not in BENCH_RUN_MODES:
        raise _problem("GUIDE_BENCH_RUN", raw, f"not one of {', '.join(BENCH_RUN_MODES)}")
    return mode or None


def bench_cases(environ: Mapping[str, str] | None = None) -> tuple[str, ...] | None:
    """GUIDE_BENCH_CASES: the benchmark cases a measuring build may run (comma-separated; unset: all).
    The others are shown from what is stored."""
    from engine.bench.cases import CASES

    raw = _get(environ, "GUIDE_BENCH_CASES")
    if raw is None or not raw.strip():
        return None
    names = tuple(name.strip() for name in raw.split(",") if name.strip())
    unknown = [name for name in names if name not in CASES]
    if unknown or not names:
        raise _problem("GUIDE_BENCH_CASES", raw, f"not a comma-separated list of cases ({', '.join(CASES)})")
    return names


def machine_file(environ: Mapping[str, str] | None = None) -> Path | None:
    """GUIDE_MACHINE_FILE: a recorded machine description the engine takes as this machine's
    (engine.machine); checked here so a bad one is one line before anything runs."""
    from engine import machine

    raw = _get(environ, "GUIDE_MACHINE_FILE")
    if raw is None or not raw.strip():
        return None
    try:
        machine.load_description(Path(raw.strip()))
    except machine.MachineFileError as error:
        raise EnvError(str(error)) from None
    return Path(raw.strip())


def jobs(environ: Mapping[str, str] | None = None) -> int:
    """Snippets run at once: GUIDE_JOBS, capped at the usable cores (default: up to 2)."""
    cores = environment.usable_cores()
    raw = _get(environ, "GUIDE_JOBS")
    if raw is None or not raw.strip():
        return max(1, min(2, cores))  # two keep a 2-core builder busy while TF imports
    try:
        value = int(raw.strip())
    except ValueError:
        value = 0
    if value < 1:
        raise _problem("GUIDE_JOBS", raw, f"not allowed: a whole number from 1 up (more than {cores}, "
                                          f"this machine's usable cores, counts as {cores})")
    return min(value, cores)


def bench_profile(environ: Mapping[str, str] | None = None) -> str:
    from engine.bench.cases import PROFILES

    raw = _get(environ, "GUIDE_BENCH_PROFILE")
    profile = (raw or "").strip() or DEFAULT_BENCH_PROFILE
    if profile not in PROFILES:
        raise _problem("GUIDE_BENCH_PROFILE", raw, f"not one of {', '.join(PROFILES)}")
    return profile


def quiet_wait_s(environ: Mapping[str, str] | None = None) -> float:
    raw = _get(environ, "GUIDE_BENCH_QUIET_WAIT")
    if raw is None or not raw.strip():
        return DEFAULT_QUIET_WAIT_S
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0.0 <= value <= MAX_QUIET_WAIT_S:  # also rejects nan
        raise _problem("GUIDE_BENCH_QUIET_WAIT", raw, f"not allowed: seconds from 0 to {MAX_QUIET_WAIT_S:.0f}")
    return value


def allow_downgrade(environ: Mapping[str, str] | None = None) -> bool:
    raw = _get(environ, "GUIDE_ALLOW_DOWNGRADE")
    value = (raw or "").strip().lower()
    if value not in TRUE + FALSE:
        raise _problem("GUIDE_ALLOW_DOWNGRADE", raw, "not one of 1, 0 (or true, false)")
    return value in TRUE


IF_BUSY = ("wait", "refuse")


def if_busy(environ: Mapping[str, str] | None = None) -> str:
    """What a build that measures does while another run measures into the same store (store.measuring)."""
    raw = _get(environ, "GUIDE_IF_BUSY")
    value = (raw or "").strip().lower() or IF_BUSY[0]
    if value not in IF_BUSY:
        raise _problem("GUIDE_IF_BUSY", raw, f"not one of {', '.join(IF_BUSY)}")
    return value


def results_dir(environ: Mapping[str, str] | None = None) -> Path | None:
    raw = _get(environ, "GUIDE_RESULTS_DIR")
    if raw is None or not raw.strip():
        return None
    path = Path(raw)
    if path.exists() and not path.is_dir():
        raise _problem("GUIDE_RESULTS_DIR", raw, "not a folder")
    return path


def python_for(framework: str | None, environ: Mapping[str, str] | None = None) -> str:
    """The interpreter for ``framework`` ("torch", "tf"; None: framework-free, the docs interpreter).

    The path is kept as given (made absolute, symlinks not followed: a venv's
    ``bin/python`` is a symlink whose target knows nothing of the venv).
    """
    if framework is None:
        return sys.executable
    if framework not in PYTHON_VARS:
        raise ValueError(f"unknown framework {framework!r}; expected one of {', '.join(PYTHON_VARS)}")
    name = PYTHON_VARS[framework]
    raw = _get(environ, name)
    if raw is None or not raw.strip():
        return sys.executable
    path = Path(raw.strip()).expanduser().absolute()
    if not path.is_file():
        raise _problem(name, raw, "not an existing file; expected a Python interpreter such as "
                                  f".venv-{framework}/bin/python (make site GPU=1 creates it)")
    if not os.access(path, os.X_OK):
        raise _problem(name, raw, "not executable; expected a Python interpreter")
    return str(path)


def interpreters(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """Each framework's interpreter, checked together (one line per bad variable)."""
    chosen, problems = {}, []
    for framework in PYTHON_VARS:
        try:
            chosen[framework] = python_for(framework, environ)
        except EnvError as error:
            problems.append(str(error))
    if problems:
        raise EnvError("\n".join(problems))
    return chosen


def mnist_path(environ: Mapping[str, str] | None = None) -> Path | None:
    """The MNIST the snippets should train on, or None for the bundled digits (not checked here)."""
    raw = _get(environ, "GUIDE_MNIST")
    return Path(raw) if raw and raw.strip() else None


def check_mnist(environ: Mapping[str, str] | None = None) -> Path | None:
    """``mnist_path()``, after checking it holds MNIST (headers only: cheap even for the real thing)."""
    path = mnist_path(environ)
    if path is None:
        return None
    raw = str(path)
    if not path.exists():
        raise _problem("GUIDE_MNIST", raw, f"not an existing file or folder; expected {MNIST_EXPECTED}")
    try:
        shapes = _idx_shapes(path) if path.is_dir() else _npz_shapes(path)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, struct.error) as error:
        raise _problem("GUIDE_MNIST", raw, f"not {MNIST_EXPECTED}: {error}") from None
    for split in ("train", "test"):
        images, labels = shapes[f"x_{split}"], shapes[f"y_{split}"]
        if len(images) != 3 or images[1:] != (28, 28) or labels != (images[0],):
            raise _problem("GUIDE_MNIST", raw, f"not MNIST-shaped: {split} images {images}, labels {labels}; "
                                               "expected (N, 28, 28) and (N,)")
    return path


def _npz_shapes(path: Path) -> dict[str, tuple[int, ...]]:
    import numpy as np

    if not zipfile.is_zipfile(path):
        raise ValueError("it is not a zip archive, so not an .npz")
    shapes = {}
    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
        missing = [name for name in MNIST_ARRAYS if f"{name}.npy" not in names]
        if missing:
            raise ValueError(f"the archive has no {', '.join(missing)} array(s)")
        for name in MNIST_ARRAYS:
            with archive.open(f"{name}.npy") as handle:
                version = np.lib.format.read_magic(handle)
                read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                               else np.lib.format.read_array_header_2_0)
                shape, _, _ = read_header(handle)
            shapes[name] = tuple(shape)
    return shapes


def _idx_shapes(folder: Path) -> dict[str, tuple[int, ...]]:
    shapes = {}
    for name, stem in MNIST_IDX.items():
        path = next((p for p in (folder / stem, folder / f"{stem}.gz") if p.is_file()), None)
        if path is None:
            raise ValueError(f"the folder has no {stem} (or {stem}.gz)")
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rb") as handle:
            (magic,) = struct.unpack(">I", handle.read(4))
            if magic not in (0x801, 0x803):
                raise ValueError(f"{path.name} is not an unsigned-byte IDX file")
            ndim = magic & 0xFF
            dims = struct.unpack(f">{ndim}I", handle.read(4 * ndim))
        if path.suffix != ".gz" and path.stat().st_size != 4 + 4 * ndim + _product(dims):
            raise ValueError(f"{path.name} is truncated or padded (its header says {dims})")
        shapes[name] = dims
    return shapes


def _product(dims: tuple[int, ...]) -> int:
    total = 1
    for dim in dims:
        total *= dim
    return total


@dataclass(frozen=True)
class Settings:
    run: str
    jobs: int
    bench_profile: str
    quiet_wait_s: float
    allow_downgrade: bool
    results_dir: Path | None
    mnist: Path | None
    pythons: dict[str, str] = dataclass_field(default_factory=dict)
    bench_run: str | None = None
    bench_cases: tuple[str, ...] | None = None
    machine_file: Path | None = None
    if_busy: str = IF_BUSY[0]

    def line(self) -> str:
        data = f"MNIST from {self.mnist}" if self.mnist else "scikit-learn digits (GUIDE_MNIST unset)"
        own = {fw: python for fw, python in self.pythons.items() if python != sys.executable}
        envs = "".join(f"; {fw} runs in {python}" for fw, python in own.items())
        bench = f"GUIDE_BENCH_RUN={self.bench_run}; " if self.bench_run else ""
        bench += f"benchmark cases {', '.join(self.bench_cases)} only; " if self.bench_cases else ""
        recorded = f"; machine description from {self.machine_file}" if self.machine_file else ""
        return (f"guide: GUIDE_RUN={self.run}; {bench}{self.jobs} snippet(s) at a time; benchmark profile "
                f"{self.bench_profile}{' (downgrades allowed)' if self.allow_downgrade else ''}; data: {data}{envs}"
                f"{recorded}")


def read(environ: Mapping[str, str] | None = None) -> Settings:
    """Every variable, checked together; raises EnvError listing each bad one on its own line."""
    parsers = {"run": run_mode, "jobs": jobs, "bench_profile": bench_profile, "quiet_wait_s": quiet_wait_s,
               "allow_downgrade": allow_downgrade, "results_dir": results_dir, "mnist": check_mnist,
               "pythons": interpreters, "bench_run": bench_run_set, "bench_cases": bench_cases,
               "machine_file": machine_file, "if_busy": if_busy}
    values, problems = {}, []
    for field, parse in parsers.items():
        try:
            values[field] = parse(environ)
        except EnvError as error:
            problems.append(str(error))
    if problems:
        raise EnvError("\n".join(problems))
    return Settings(**values)
