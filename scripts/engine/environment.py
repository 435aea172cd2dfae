"""What machine and software a result came from, read without importing a framework.

The build process must stay light (and must never hold torch and TensorFlow
at once), so versions come from package metadata and the GPU from
``nvidia-smi``, not from ``import torch``. On a machine where ``nvidia-smi``
lists a GPU, each framework is asked in a process of its own whether it sees
it (``probe``: ``scripts/engine/probes/``, under that framework's interpreter);
one that does not is an error naming the fix, never a silent CPU row.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path

from engine import machine, sides

# Packages whose version changes what a snippet prints or how fast it runs: these, and any other
# side's own (engine.sides), after them.
_PACKAGES = ("torch", "tensorflow", "tensorflow-cpu", "keras", "numpy", "tensorboard")
FRAMEWORK_PACKAGES = tuple(dict.fromkeys(_PACKAGES + tuple(p for side in sides.SIDES for p in side.packages)))

# Environment variables that change which kernels run (and so results).
KERNEL_ENV_VARS = (
    "OMP_NUM_THREADS",
    "OMP_WAIT_POLICY",
    "TORCHINDUCTOR_COMPILE_THREADS",
    "MKL_NUM_THREADS",
    "TF_ENABLE_ONEDNN_OPTS",
    "TF_XLA_FLAGS",
    "XLA_FLAGS",
    "CUDA_VISIBLE_DEVICES",
    "NVIDIA_TF32_OVERRIDE",
    "TORCH_ALLOW_TF32_CUBLAS_OVERRIDE",
    "KERAS_BACKEND",
    "OPENBLAS_CORETYPE",
)


def package_version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def framework_versions() -> dict[str, str]:
    """Installed versions of the packages that matter, e.g. {"torch": "2.13.0+cpu"}."""
    versions = {name: package_version(name) for name in FRAMEWORK_PACKAGES}
    versions["python"] = platform.python_version()
    return {name: version for name, version in versions.items() if version}


def installed_packages_hash() -> str:
    """One hash over every installed distribution and its version.

    Framework versions are recorded by name; this catches the rest (an added
    ONNX exporter, a new NumPy) that can change what an example prints.
    """
    pairs = sorted(
        f"{(dist.metadata['Name'] or '').lower()}=={dist.version}" for dist in metadata.distributions()
    )
    return hashlib.sha256("\n".join(pairs).encode()).hexdigest()[:16]


# The packages each framework's own environment adds; with one environment per framework these
# versions are read from that framework's interpreter (interpreter_packages).
FRAMEWORK_OWN_PACKAGES = {side.id: side.packages for side in sides.SIDES}


@functools.lru_cache(maxsize=4)
def interpreter_packages(python: str) -> dict:
    """``{"versions": framework_versions(), "packages": installed_packages_hash()}`` as ``python`` sees them.

    This interpreter answers directly; another (GUIDE_PYTHON_TORCH / GUIDE_PYTHON_TF) is asked in a
    child that imports only this module (standard library), so no framework is imported.
    """
    import sys

    if python == sys.executable:
        return {"versions": framework_versions(), "packages": installed_packages_hash()}
    code = ("import json, sys; sys.path.insert(0, sys.argv[1]); from engine import environment as e; "
            "print(json.dumps({'versions': e.framework_versions(), 'packages': e.installed_packages_hash()}))")
    try:
        done = subprocess.run([python, "-c", code, str(Path(__file__).resolve().parents[1])], capture_output=True,
                              text=True, timeout=120, check=True)
        return json.loads(done.stdout.strip().splitlines()[-1])
    except (OSError, subprocess.SubprocessError, IndexError, ValueError) as error:
        raise InterpreterError(f"could not read the installed packages of {python} (GUIDE_PYTHON_TORCH / "
                               f"GUIDE_PYTHON_TF): {error}") from None


def versions_for(framework: str | None) -> dict:
    """Installed versions as the processes of ``framework`` see them (None: this interpreter)."""
    from engine import envinput

    return interpreter_packages(envinput.python_for(framework))["versions"]


def gpu_names() -> tuple[str, ...]:
    """Names of the NVIDIA GPUs this process may use; empty without a driver (engine.machine reads them)."""
    return tuple(gpu["name"] for gpu in machine.smi_gpus()[0])


PROBES_DIR = Path(__file__).resolve().parent / "probes"
PROBE_TIMEOUT_S = 300


class DeviceError(ValueError):
    """``nvidia-smi`` lists a GPU that a framework cannot use; the message names the fix."""


class InterpreterError(ValueError):
    """A framework's interpreter (GUIDE_PYTHON_*) could not say what it has installed."""


@functools.lru_cache(maxsize=4)
def probe(framework: str, python: str | None = None) -> dict:
    """What ``framework`` sees, from its probe run under its own interpreter (engine/probes/).

    Never raises for a probe that fails: the report then holds ``error``.
    """
    from engine import envinput, procs

    python = python or envinput.python_for(framework)
    script = PROBES_DIR / f"probe_{framework}.py"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": ""}
    try:  # as every child of the engine: its own group, and nothing it leaves keeps running
        done, timed_out = procs.run([python, str(script)], PROBE_TIMEOUT_S, env=env, cwd=PROBES_DIR)
    except OSError as error:
        return {"framework": framework, "python": python, "error": f"could not run the probe: {error}"}
    if timed_out or done.leftovers:
        return {"framework": framework, "python": python,
                "error": f"the probe failed: {procs.failure(done, timed_out, PROBE_TIMEOUT_S)}"}
    lines = done.stdout.strip().splitlines()
    try:
        report = json.loads(lines[-1])
    except (IndexError, json.JSONDecodeError):
        tail = " | ".join(done.stderr.strip().splitlines()[-3:])
        return {"framework": framework, "python": python,
                "error": f"the probe exited with status {done.returncode} and no report: {tail}"}
    return report


def blind_fix(framework: str, report: dict) -> str:
    """Why ``framework`` does not see the GPU that nvidia-smi lists, and what to do about it."""
    side = sides.by_id(framework)
    name = side.label
    python = report.get("python", "?")
    if report.get("error"):
        return (f"{name}'s probe failed under {python} ({report['error']}); install the GPU stack there "
                f"(make site GPU=1) or point {side.python_var} at an environment that has it")
    if not report.get("cuda_build"):
        wheel = side.gpu_install or f"a CUDA build of {side.module}"
        return (f"{name} {report.get('version', '?')} in {python} is a CPU-only build; install {wheel} in its own "
                f"environment (make site GPU=1), or set CUDA_VISIBLE_DEVICES= to build on the CPU on purpose")
    why = report.get("cuda_error") or "it lists no GPU"
    return (f"{name} {report.get('version', '?')} in {python} is a CUDA {report['cuda_build']} build but cannot use "
            f"the GPU ({why}); check that the driver (nvidia-smi) supports CUDA {report['cuda_build']} and that its "
            "CUDA libraries are its own (regen.py doctor), or set CUDA_VISIBLE_DEVICES= to build on the CPU on purpose")


def detect_device() -> str:
    """``"cuda"`` when nvidia-smi lists a GPU and both frameworks' probes see it, ``"cpu"`` without a GPU.

    Raises DeviceError, naming the fix, when a framework cannot see the GPU
    nvidia-smi lists. Without a GPU no probe runs (nothing is imported).
    """
    if not gpu_names():
        return "cpu"
    blind = {fw: probe(fw) for fw in sides.IDS}
    blind = {fw: report for fw, report in blind.items() if report.get("device") != "cuda"}
    if blind:
        raise DeviceError(f"nvidia-smi lists {gpu_names()[0]}, but " + "; ".join(
            blind_fix(fw, report) for fw, report in blind.items()))
    return "cuda"


def device_label(device: str | None = None) -> str:
    device = device or detect_device()
    if device == "cuda" and gpu_names():
        return f"cuda ({gpu_names()[0]})"
    return f"cpu ({cpu_model()})"


def cpu_model() -> str:
    return machine.cpu_model_from(machine.cpuinfo()) or platform.processor() or platform.machine()


def usable_cores() -> int:
    """Cores this process may really use: affinity mask, capped by a cgroup CPU quota (or what a recorded
    machine description, GUIDE_MACHINE_FILE, says)."""
    recorded = machine.recorded()
    if recorded:
        return recorded["usable_cores"]
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()
        if quota != "max":
            cores = max(1, min(cores, int(int(quota) // int(period))))
    except (OSError, ValueError):
        pass
    return cores


def memory_bytes() -> int | None:
    recorded = machine.recorded()
    if recorded:
        return recorded.get("memory_bytes")
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


# CPU flags that give a CPU native bf16 arithmetic (AVX-512 BF16 dot products, AMX tiles).
BF16_CPU_FLAGS = ("avx512_bf16", "amx_bf16")


def cpu_flags() -> frozenset[str]:
    return machine.cpu_flags_from(machine.cpuinfo())


def gpu_compute_capability() -> tuple[int, int] | None:
    """The first visible NVIDIA GPU's compute capability, from nvidia-smi (None without one)."""
    gpus = machine.smi_gpus()[0]
    try:
        major, minor = str(gpus[0]["compute_capability"]).split(".")
        return int(major), int(minor)
    except (IndexError, KeyError, ValueError):
        return None


def probed_compute_capability() -> tuple[int, int] | None:
    """The compute capability torch's probe reports for the first GPU (None without a GPU)."""
    if not gpu_names():
        return None
    devices = probe("torch").get("devices") or []
    try:
        major, minor = devices[0]["compute_capability"]
        return int(major), int(minor)
    except (IndexError, KeyError, TypeError, ValueError):
        return None


def capabilities(device: str | None = None, flags: frozenset[str] | None = None,
                 compute_capability: tuple[int, int] | None = None) -> dict:
    """Which precisions and execution features the device has, each with the evidence for it.

    A tier that needs a missing feature is left out of the grid, and the page
    prints the evidence as the reason (docs/method.md#precision).

    >>> capabilities("cpu", flags=frozenset({"avx2"}))["bf16"]["available"]
    False
    >>> capabilities("cpu", flags=frozenset({"avx512_bf16"}))["bf16"]["evidence"]
    'CPU flags: avx512_bf16'
    >>> capabilities("cuda", compute_capability=(8, 0))["tf32"]["available"]
    True
    """
    device = device or detect_device()
    if device == "cuda":
        cc = compute_capability or probed_compute_capability() or gpu_compute_capability()
        ampere = bool(cc and cc >= (8, 0))
        where = f"compute capability {cc[0]}.{cc[1]}" if cc else "compute capability unknown"
        return {
            "bf16": {"available": ampere, "evidence": f"GPU {where} (bf16 needs 8.0 or newer)"},
            "tf32": {"available": ampere, "evidence": f"GPU {where} (TF32 needs 8.0 or newer)"},
            "cuda_graphs": {"available": True, "evidence": "CUDA device"},
        }
    flags = cpu_flags() if flags is None else flags
    found = [flag for flag in BF16_CPU_FLAGS if flag in flags]
    return {
        "bf16": {"available": bool(found),
                 "evidence": f"CPU flags: {', '.join(found)}" if found else
                 f"this CPU has none of the bf16 flags {', '.join(BF16_CPU_FLAGS)}"},
        "tf32": {"available": False, "evidence": "TF32 is an NVIDIA GPU format; these runs were on a CPU"},
        "cuda_graphs": {"available": False, "evidence": "CUDA graphs need an NVIDIA GPU; these runs were on a CPU"},
    }


def fingerprint(device: str | None = None) -> dict:
    """What decides which kernels run on this machine (engine.machine, docs/method.md#machine-identity)."""
    return machine.fingerprint(device or detect_device(), usable_cores())


def machine_id(device: str | None = None) -> str:
    """The folder this machine's results are filed under, from its fingerprint (never the hostname),
    so a CI runner of the same kind finds the results committed from a developer's machine, and a
    machine of another kind (the same model string without AMX, say) does not."""
    return machine.machine_id(fingerprint(device))


def manifest(device: str | None = None) -> dict:
    """Everything a result needs to say where it came from (docs/method.md#provenance)."""
    device = device or detect_device()
    return {
        "device": device,
        "device_label": device_label(device),
        "machine_id": machine_id(device),
        "fingerprint": fingerprint(device),
        "cpu_model": cpu_model(),
        "usable_cores": usable_cores(),
        "memory_bytes": memory_bytes(),
        "gpus": list(gpu_names()),
        "platform": platform.platform(),
        "versions": framework_versions(),
        "env": {name: os.environ[name] for name in KERNEL_ENV_VARS if name in os.environ},
    }


def git_commit() -> str | None:
    try:
        return subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10, check=True,
            cwd=Path(__file__).resolve().parent,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
