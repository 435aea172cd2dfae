"""The sentences pages include about the builder come from the build's manifest, not from typing."""

from __future__ import annotations

from engine import build_info

CPU = {"device": "cpu", "device_label": "cpu (Some CPU)", "cpu_model": "Some CPU", "usable_cores": 2, "gpus": []}


def test_a_cpu_builder_says_it_measured_the_cpu_and_that_no_gpu_path_has_run():
    fragments = build_info.builder_fragments(CPU)
    assert all(text.startswith(build_info.BANNER) for text in fragments.values())
    assert "its CPU (Some CPU) with 2 usable cores; it has no GPU" in fragments["scalability_machine.md"]
    assert "no GPU path of this project has run yet" in fragments["method_gpu.md"]


def test_a_gpu_hidden_on_purpose_is_named_and_a_gpu_build_says_gpu():
    hidden = build_info.builder_fragments({**CPU, "gpus": ["NVIDIA H100"]})
    assert "nvidia-smi lists NVIDIA H100, but this build measured the CPU" in hidden["method_gpu.md"]
    gpu = build_info.builder_fragments({**CPU, "device": "cuda", "device_label": "cuda (NVIDIA H100)",
                                        "gpus": ["NVIDIA H100"], "usable_cores": 16})
    assert gpu["method_gpu.md"].splitlines()[1].startswith("- **GPU.** This build measured on cuda (NVIDIA H100)")
    assert "no GPU" not in gpu["scalability_machine.md"]
