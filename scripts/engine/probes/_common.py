"""Standard-library parts shared by the probes: loaded libraries, installed CUDA wheels, output.

Imported by ``probe_torch.py`` and ``probe_tf.py`` from their own folder, so
it must never import a framework (the probe of one framework would then load
the other).
"""

from __future__ import annotations

import json
import os
import platform
import re
import sys
import traceback
from importlib import metadata

PROBE_SCHEMA = 1

# Shared libraries whose copy (and version) decides whether a GPU build works.
LIBRARY_RE = re.compile(
    r"/(lib(?:cudnn[a-z_]*|nccl|cudart|cublas|cublasLt|cufft|cusparse|cusolver|nvrtc|nvJitLink|cuda)"
    r"\.so[.\d]*)$"
)
NVIDIA_WHEEL_RE = re.compile(r"^nvidia-")


def loaded_libraries(maps: str | None = None) -> list[str]:
    """Paths of the CUDA-family libraries mapped into this process, from /proc/self/maps."""
    if maps is None:
        try:
            with open("/proc/self/maps") as handle:
                maps = handle.read()
        except OSError:
            return []
    found = set()
    for line in maps.splitlines():
        parts = line.split(None, 5)
        if len(parts) == 6 and LIBRARY_RE.search(parts[5].strip()):
            found.add(parts[5].strip())
    return sorted(found)


def cuda_wheels() -> tuple[dict[str, str], dict[str, list[str]]]:
    """The nvidia-* wheels installed here and the library files that more than one of them claims.

    Two wheels claiming ``nvidia/cudnn/lib/libcudnn.so.9`` (cuDNN for CUDA 12
    and for CUDA 13, say) means the one installed last overwrote the other's.
    """
    wheels, owners = {}, {}
    for dist in metadata.distributions():
        name = (dist.metadata["Name"] or "").lower()
        if not NVIDIA_WHEEL_RE.match(name):
            continue
        wheels[name] = dist.version
        for file in dist.files or ():
            text = str(file)
            if ".so" in text:
                owners.setdefault(text, set()).add(name)
    shared = {path: sorted(names) for path, names in owners.items() if len(names) > 1}
    return dict(sorted(wheels.items())), dict(sorted(shared.items()))


def base(framework: str) -> dict:
    wheels, shared = cuda_wheels()
    return {
        "probe_schema": PROBE_SCHEMA,
        "framework": framework,
        "python": sys.executable,
        "python_version": platform.python_version(),
        "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES"),
        "cuda_wheels": wheels,
        "shared_library_files": shared,
    }


def finish(report: dict, other_framework: str) -> None:
    """Add what was loaded and whether the other framework crept in, print the JSON line."""
    report["libraries"] = loaded_libraries()
    report["other_framework_imported"] = other_framework in sys.modules
    print(json.dumps(report, sort_keys=True))


def failed(report: dict, error: BaseException) -> dict:
    report["error"] = f"{type(error).__name__}: {error}"
    report["traceback_tail"] = traceback.format_exc().strip().splitlines()[-5:]
    return report
