"""regen.py doctor and the device probes: real on this CPU builder, recorded facts for the GPU cases.

The GPU fixtures (tests/fixtures/doctor/gpu_*.json) are hand-written in the
shape ``regen.py doctor --save`` writes; no GPU was available to record them.
"""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import load_module
from engine import doctor, environment

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "doctor"


def facts(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def problems(facts_: dict) -> list[doctor.Finding]:
    return [f for f in doctor.diagnose(facts_) if not f.ok]


@pytest.fixture(scope="module")
def cli():
    return load_module(ROOT / "scripts" / "regen.py", "regen_doctor").cli


@pytest.fixture(scope="module")
def real_facts():
    """This machine's facts, gathered once (runs both probes for real: about 10 s)."""
    return doctor.gather()


# ------------------------------------------------------------ this CPU builder, for real

def test_the_probes_run_for_real_and_import_only_their_framework(real_facts):
    for fw, report in real_facts["probes"].items():
        assert "error" not in report, report
        assert report["framework"] == fw and report["device"] == "cpu"
        assert report["other_framework_imported"] is False
        assert report["python"] == sys.executable  # no GUIDE_PYTHON_* set: the shared venv
    assert real_facts["probes"]["torch"]["version"] == environment.package_version("torch")


def test_the_cpu_builder_is_sane_except_for_load_it_does_not_control(real_facts):
    found = {f.check: f for f in doctor.diagnose(real_facts) if not f.ok}
    # Other work on a shared 2-core machine is real and reported as such; everything else must pass.
    assert set(found) <= {"quiet"}, [f.lines() for f in found.values()]


def test_doctor_verb_exit_status_follows_its_findings(cli, real_facts, tmp_path, monkeypatch):
    monkeypatch.setattr(doctor, "gather", lambda: real_facts)
    saved = tmp_path / "facts.json"
    result = CliRunner().invoke(cli, ["doctor", "--save", str(saved)], catch_exceptions=False)
    has_problem = any(not f.ok for f in doctor.diagnose(real_facts))
    assert result.exit_code == (2 if has_problem else 0), result.output
    assert "torch probe: PyTorch" in result.output and "tf probe: TensorFlow" in result.output
    assert json.loads(saved.read_text())["probes"]["torch"]["device"] == "cpu"


def test_no_gpu_means_cpu_without_running_a_probe(monkeypatch):
    monkeypatch.setattr(environment, "gpu_names", lambda: ())
    monkeypatch.setattr(environment, "probe", lambda *a, **k: pytest.fail("probe ran on a machine without a GPU"))
    assert environment.detect_device() == "cpu"


def test_the_machine_id_of_a_cpu_builder_is_its_fingerprints_and_runs_no_probe(monkeypatch):
    # The results are keyed by it (engine.machine): a CPU builder's id must not depend on the probes.
    from engine import machine

    monkeypatch.setattr(environment, "gpu_names", lambda: ())
    monkeypatch.setattr(environment, "probe", lambda *args, **kwargs: pytest.fail("a CPU builder ran a probe"))
    expected = machine.machine_id(machine.cpu_fingerprint(machine.cpuinfo(), environment.usable_cores()))
    assert environment.machine_id() == expected and expected.startswith("cpu-")
    assert environment.device_label() == f"cpu ({environment.cpu_model()})"


# ------------------------------------------------------------ recorded facts

def test_a_recorded_cpu_builder_is_sane(cli):
    result = CliRunner().invoke(cli, ["doctor", "--facts", str(FIXTURES / "cpu_sane.json")])
    assert result.exit_code == 0, result.output
    assert result.output.strip().endswith("this builder is sane")


def test_a_gpu_builder_with_one_environment_per_framework_is_sane(cli):
    result = CliRunner().invoke(cli, ["doctor", "--facts", str(FIXTURES / "gpu_sane.json")])
    assert result.exit_code == 0, result.output
    assert "both frameworks see NVIDIA H100" in result.output and "compute capability 9.0" in result.output
    assert "one environment per framework" in result.output


def test_two_cudnn_and_nccl_majors_in_one_environment_are_a_clash_with_its_fix(cli):
    result = CliRunner().invoke(cli, ["doctor", "--facts", str(FIXTURES / "gpu_clash.json")])
    assert result.exit_code == 2
    out = result.output
    assert "nvidia/cudnn/lib/libcudnn.so.9 is written by nvidia-cudnn-cu12 and nvidia-cudnn-cu13" in out
    assert "nvidia/nccl/lib/libnccl.so.2 is written by nvidia-nccl-cu12 and nvidia-nccl-cu13" in out
    assert "loaded 2 copies of libcudnn" in out
    assert "torch (CUDA 13.0) and TensorFlow (CUDA 12.5.1) share" in out
    assert "fix: give each framework its own environment: make site GPU=1" in out
    assert out.count("libcudnn.so.9 is written by") == 1  # both probes see one environment: said once


def test_a_cpu_torch_on_a_gpu_builder_names_the_fix(cli):
    result = CliRunner().invoke(cli, ["doctor", "--facts", str(FIXTURES / "gpu_torch_cpu_wheel.json")])
    assert result.exit_code == 2
    assert "nvidia-smi lists NVIDIA H100 80GB HBM3 but torch sees no GPU" in result.output
    assert "2.13.0+cpu" in result.output and "requirements-gpu-torch.txt" in result.output


def test_detect_device_refuses_a_framework_blind_to_the_gpu(monkeypatch):
    recorded = facts("gpu_torch_cpu_wheel")["probes"]
    monkeypatch.setattr(environment, "gpu_names", lambda: ("NVIDIA H100 80GB HBM3",))
    monkeypatch.setattr(environment, "probe", lambda fw, python=None: recorded[fw])
    with pytest.raises(environment.DeviceError, match="CPU-only build; install torch's CUDA wheel"):
        environment.detect_device()


def test_detect_device_and_capabilities_use_the_probes_on_a_gpu(monkeypatch):
    recorded = facts("gpu_sane")["probes"]
    monkeypatch.setattr(environment, "gpu_names", lambda: ("NVIDIA H100 80GB HBM3",))
    monkeypatch.setattr(environment, "probe", lambda fw, python=None: recorded[fw])
    monkeypatch.setattr(environment, "gpu_compute_capability", lambda: pytest.fail("nvidia-smi asked, not the probe"))
    assert environment.detect_device() == "cuda"
    caps = environment.capabilities("cuda")
    assert caps["bf16"]["available"] and "compute capability 9.0" in caps["tf32"]["evidence"]


def test_the_loaded_library_reader_keeps_only_cuda_family_libraries():
    from importlib import util

    spec = util.spec_from_file_location("_probe_common", environment.PROBES_DIR / "_common.py")
    common = util.module_from_spec(spec)
    spec.loader.exec_module(common)
    maps = "\n".join([
        "7f00-7f01 r-xp 00000000 08:01 1 /env/nvidia/cudnn/lib/libcudnn.so.9",
        "7f01-7f02 r--p 00001000 08:01 1 /env/nvidia/cudnn/lib/libcudnn.so.9",
        "7f02-7f03 r-xp 00000000 08:01 2 /env/nvidia/nccl/lib/libnccl.so.2",
        "7f03-7f04 r-xp 00000000 08:01 3 /usr/lib/x86_64-linux-gnu/libc.so.6",
        "7f04-7f05 rw-p 00000000 00:00 0 ",
        "7f05-7f06 r-xp 00000000 08:01 4 /usr/lib/x86_64-linux-gnu/libcuda.so.580.95.05",
    ])
    assert common.loaded_libraries(maps) == ["/env/nvidia/cudnn/lib/libcudnn.so.9", "/env/nvidia/nccl/lib/libnccl.so.2",
                                             "/usr/lib/x86_64-linux-gnu/libcuda.so.580.95.05"]


# ------------------------------------------------------------ each check can fail

def _planted(change) -> dict:
    planted = copy.deepcopy(facts("cpu_sane"))
    change(planted)
    return planted


@pytest.mark.parametrize("check, change, says", [
    ("interpreters", lambda f: f["interpreter_errors"].append("GUIDE_PYTHON_TF='/nope' is not an existing file"),
     "GUIDE_PYTHON_TF"),
    ("torch probe", lambda f: f["probes"]["torch"].update(version=None, error="ModuleNotFoundError: torch"),
     "cannot be imported"),
    ("tf probe", lambda f: f["probes"]["tf"].update(other_framework_imported=True), "also imported the other"),
    ("threads", lambda f: f["env"].update(OMP_NUM_THREADS="8"), "OMP_NUM_THREADS='8' while 2 core(s)"),
    ("threads", lambda f: f["env"].update(MKL_NUM_THREADS="lots"), "MKL_NUM_THREADS='lots'"),
    ("allocator", lambda f: f["env"].update(LD_PRELOAD="/usr/lib/libjemalloc.so.2"), "swaps the allocator"),
    ("allocator", lambda f: f.update(libc=["", ""]), "not glibc"),
    ("memory", lambda f: f.update(memory_available_bytes=2**30), "1.0 GiB available"),
    ("memory", lambda f: f["gpus"].append({"name": "GPU", "driver": "1", "memory_total_bytes": 8 * 2**30,
                                           "memory_free_bytes": 2**30}), "something else holds the card"),
    ("quiet", lambda f: f.update(busy_cores=1.5), "kept 1.50 core(s) busy"),
    ("quiet", lambda f: f["gpu_processes"].append({"pid": 7, "name": "python", "used_bytes": 4 * 2**30}),
     "other processes hold the GPU"),
    ("device", lambda f: f["gpus"].append({"name": "NVIDIA A100", "driver": "580", "memory_total_bytes": None,
                                           "memory_free_bytes": None}), "but torch sees no GPU"),
    ("libraries", lambda f: f["probes"]["tf"]["cuda_wheels"].update({"nvidia-cudnn-cu12": "9.2", "nvidia-cudnn-cu13": "9.2"}),
     "for 2 CUDA majors"),
])
def test_each_check_fails_on_its_planted_problem(check, change, says):
    found = [f for f in problems(_planted(change)) if f.check == check]
    assert any(says in f.summary and f.fix for f in found), [f.lines() for f in problems(_planted(change))]
    text, status = doctor.report(doctor.diagnose(_planted(change)))
    assert status == 2 and "fix:" in text


def test_unknown_facts_schema_is_a_problem():
    assert problems({"facts_schema": 99})[0].check == "facts"
