"""One interpreter per framework: snippets, notebooks, benchmark children and probes pick theirs.

Stand-in interpreters (shell scripts that log how they were called, then run
the real interpreter or fail) show which process ran under which interpreter,
without a second environment.
"""

from __future__ import annotations

import logging
import stat
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import load_module
from engine import envinput, environment, notebooks, paths
from engine.bench import fixtures, harness
from engine.bench.cases import CASES
from engine.snippet_runner import refresh
from engine.snippets import discover

ROOT = Path(__file__).resolve().parents[1]


def stand_in(folder: Path, name: str, then: str = "run") -> Path:
    """An executable that appends its name and arguments to <folder>/calls.log, then runs Python or fails."""
    path = folder / name
    tail = f'exec "{sys.executable}" "$@"' if then == "run" else "exit 3"
    path.write_text(f'#!/bin/sh\necho "{name} $*" >> "{folder}/calls.log"\n{tail}\n')
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def calls(folder: Path) -> list[str]:
    log = folder / "calls.log"
    return log.read_text().splitlines() if log.exists() else []


@pytest.fixture
def pythons(tmp_path, monkeypatch):
    torch_py, tf_py = stand_in(tmp_path, "torch-python"), stand_in(tmp_path, "tf-python")
    monkeypatch.setenv("GUIDE_PYTHON_TORCH", str(torch_py))
    monkeypatch.setenv("GUIDE_PYTHON_TF", str(tf_py))
    return tmp_path


def test_unset_means_this_interpreter():
    assert envinput.python_for("torch", {}) == envinput.python_for("tf", {}) == sys.executable
    assert envinput.python_for(None, {"GUIDE_PYTHON_TORCH": "/x"}) == sys.executable


def test_a_bad_interpreter_is_one_line_naming_the_variable(tmp_path):
    not_exec = tmp_path / "python"
    not_exec.write_text("")
    with pytest.raises(envinput.EnvError) as error:
        envinput.read({"GUIDE_PYTHON_TORCH": str(tmp_path / "missing"), "GUIDE_PYTHON_TF": str(not_exec)})
    lines = str(error.value).splitlines()
    assert lines[0].startswith("GUIDE_PYTHON_TORCH=") and "not an existing file" in lines[0]
    assert lines[1].startswith("GUIDE_PYTHON_TF=") and "not executable" in lines[1]


def test_a_venv_python_symlink_is_kept_not_resolved(tmp_path):
    link = tmp_path / "venv-python"
    link.symlink_to(sys.executable)
    assert envinput.python_for("tf", {"GUIDE_PYTHON_TF": str(link)}) == str(link)


def test_the_build_line_names_each_framework_environment(pythons):
    line = envinput.read().line()
    assert f"torch runs in {pythons / 'torch-python'}" in line and f"tf runs in {pythons / 'tf-python'}" in line


def test_each_snippet_runs_under_its_framework_interpreter(pythons, tmp_path, monkeypatch):
    root = tmp_path / "snippets"
    (root / "demo").mkdir(parents=True)
    monkeypatch.setattr(paths, "SNIPPETS_DIR", root)
    monkeypatch.setattr(paths, "SNIPPET_CACHE_DIR", tmp_path / "cache")
    monkeypatch.setattr(paths, "SNIPPET_OUTPUT_DIR", tmp_path / "generated")
    (root / "demo" / "pick_torch.py").write_text('print("torch side")\n')
    (root / "demo" / "pick_tf.py").write_text('print("tf side")\n')
    summary = refresh("all", logging.getLogger("test"), snippets=discover(root), jobs=1)
    assert len(summary.ran) == 2
    ran = sorted(call for call in calls(pythons) if " -c " not in call)  # -c: the key reading its packages
    assert ran == [f"tf-python {root}/demo/pick_tf.py", f"torch-python {root}/demo/pick_torch.py"]
    assert (paths.SNIPPET_OUTPUT_DIR / "demo" / "pick_tf.txt").read_text() == "tf side\n"


@pytest.mark.parametrize("framework", ["torch", "tf"])
def test_each_benchmark_child_runs_under_its_framework_interpreter(pythons, framework, monkeypatch):
    stand_in(pythons, f"{framework}-python", then="fail")  # log the call, run nothing
    monkeypatch.setattr(harness, "QUIET_WAIT_S", 0)
    job = harness.plan(CASES["headline"], "quick", 1, (framework,))[0]
    record = harness.run_job(job, "cpu", timeout_s=60)
    assert not record["ok"] and record["reason"].startswith("exit status 3")
    (call,) = calls(pythons)
    assert call.startswith(f"{framework}-python -m engine.bench.child ")


def test_each_notebook_kernel_starts_its_framework_interpreter(pythons, tmp_path):
    import json

    assert notebooks.framework_of("digits_end_to_end_tf") == "tf"
    for framework in ("torch", "tf"):
        notebooks.ensure_kernelspec(tmp_path / "kernels", framework)
        spec = json.loads((tmp_path / "kernels" / notebooks.kernel_name(framework) / "kernel.json").read_text())
        assert spec["argv"][:3] == [str(pythons / f"{framework}-python"), "-m", "ipykernel_launcher"]


def test_each_probe_runs_under_the_interpreter_it_is_given(pythons):
    report = environment.probe("torch", str(pythons / "torch-python"))
    assert report["framework"] == "torch" and report["device"] == "cpu", report
    assert calls(pythons) == [f"torch-python {environment.PROBES_DIR / 'probe_torch.py'}"]


def test_regen_refuses_an_interpreter_that_cannot_import_its_framework(pythons, tmp_path, monkeypatch):
    monkeypatch.setenv("GUIDE_RESULTS_DIR", str(tmp_path / "results"))
    fixtures.write_all(tmp_path / "results")
    stand_in(pythons, "tf-python", then="fail")
    environment.interpreter_packages.cache_clear()
    cli = load_module(ROOT / "scripts" / "regen.py", "regen_interpreters").cli
    result = CliRunner().invoke(cli, ["run", "inference", "--force", "--framework", "tf", "--no-render",
                                      "--results-dir", str(tmp_path / "results")], catch_exceptions=False)
    assert result.exit_code == 2, result.output
    assert f"tensorflow not importable by {pythons / 'tf-python'}" in result.output
    assert "nothing was run" in result.output


def test_a_framework_environment_of_its_own_keys_that_framework_by_its_own_packages(tmp_path, monkeypatch):
    from engine import keys
    from engine.bench import store

    other = tmp_path / "other-torch-python"  # answers like a venv with another torch
    other.write_text("#!/bin/sh\necho '{\"versions\": {\"torch\": \"9.9.0+cu130\", \"numpy\": \"2.4.6\"}, "
                     "\"packages\": \"0123456789abcdef\"}'\n")
    other.chmod(0o755)
    snippet_torch, snippet_tf = ROOT / "snippets/ease_of_use/mnist_cnn_torch.py", ROOT / "snippets/ease_of_use/mnist_cnn_tf.py"
    before = keys.cache_key(snippet_torch, "cpu"), keys.cache_key(snippet_tf, "cpu")
    assert store.current_versions()["torch"] == environment.package_version("torch")
    monkeypatch.setenv("GUIDE_PYTHON_TORCH", str(other))
    assert keys.cache_key(snippet_torch, "cpu") != before[0]  # a torch upgrade in its own venv reruns it
    assert keys.cache_key(snippet_tf, "cpu") == before[1]
    assert store.current_versions()["torch"] == "9.9.0+cu130"
    assert store.current_versions()["keras"] == environment.package_version("keras")
