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


def test_each_gpu_framework_environment_holds_one_framework_at_the_shared_versions():
    # torch's CUDA 13 wheels and tensorflow[and-cuda]'s CUDA 12 ones write the same nvidia/*/lib
    # files, so neither per-framework file may name the other framework (make site GPU=1).
    cpu = pins("requirements.txt")
    shared = {"numpy", "scikit-learn", "matplotlib", "tensorboard", "ipykernel"}
    for name, own, foreign in (("requirements-gpu-torch.txt", "torch", ("tensorflow", "keras")),
                               ("requirements-gpu-tf.txt", "tensorflow[and-cuda]", ("torch",))):
        lines = [line.split("#")[0].strip() for line in (paths.ROOT / name).read_text().splitlines()]
        entries = [line for line in lines if line and not line.startswith("--")]
        assert all("==" in line for line in entries), f"{name} has unpinned lines"
        gpu = dict(entry.split("==", 1) for entry in entries)
        assert own in gpu and not any(p.startswith(foreign) for p in gpu), name
        assert {p: gpu[p] for p in shared} == {p: cpu[p] for p in shared}, name
        assert all(cpu.get(p, v) == v for p, v in gpu.items() if p != own), name
