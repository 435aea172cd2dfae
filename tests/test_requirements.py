"""The CPU and GPU requirement files pin the same stack, apart from the framework builds."""

from __future__ import annotations

from engine import paths


def pins(name: str) -> dict[str, str]:
    lines = (paths.ROOT / name).read_text().splitlines()
    entries = [line.split("#")[0].strip() for line in lines]
    return dict(entry.split("==", 1) for entry in entries if entry)


def test_every_requirement_is_pinned_exactly():
    for name in ("requirements.txt", "requirements-gpu.txt"):
        lines = [line.split("#")[0].strip() for line in (paths.ROOT / name).read_text().splitlines()]
        unpinned = [line for line in lines if line and "==" not in line]
        assert unpinned == [], f"{name} has unpinned lines: {unpinned}"


def test_gpu_file_differs_only_in_the_tensorflow_build():
    cpu, gpu = pins("requirements.txt"), pins("requirements-gpu.txt")
    assert cpu.pop("tensorflow-cpu") == gpu.pop("tensorflow[and-cuda]")
    assert cpu == gpu
    assert cpu["torch"] == "2.13.0"  # a looser pin pulls a multi-GB CUDA wheel on the CPU builders
