"""scripts/regen.py: every verb has --help; bad input exits 2 with one clear line and overwrites nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import load_module
from engine import environment
from engine.bench import fixtures, store

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def isolated_results_env(monkeypatch):
    # regen.py exports GUIDE_RESULTS_DIR for the store and renderers; without
    # this, a --results-dir from one test would leak into every later build.
    # (setenv first so monkeypatch remembers the variable was unset and removes
    # it again afterwards; delenv alone records nothing when it is absent.)
    monkeypatch.setenv("GUIDE_RESULTS_DIR", "unused")
    monkeypatch.delenv("GUIDE_RESULTS_DIR")


@pytest.fixture(scope="module")
def cli():
    return load_module(ROOT / "scripts" / "regen.py", "regen").cli


@pytest.fixture
def results(tmp_path, monkeypatch):
    monkeypatch.setenv("GUIDE_RESULTS_DIR", str(tmp_path / "results"))
    fixtures.write_all(tmp_path / "results")
    return tmp_path / "results"


def invoke(cli, *args):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.mark.parametrize("verb", ["run", "render", "list", "check", "snippets", "crosscheck"])
def test_every_verb_has_help(cli, verb):
    result = invoke(cli, verb, "--help")
    assert result.exit_code == 0
    assert "Usage:" in result.output


def test_unknown_case_exits_2(cli, results):
    result = invoke(cli, "run", "no_such_case", "--results-dir", str(results))
    assert result.exit_code == 2
    assert "unknown case 'no_such_case'" in result.output


def test_run_outside_the_venv_exits_2_before_any_job(cli, results, monkeypatch):
    # Every timed process would fail on `import torch`; say so once instead of 240 times.
    real_find_spec = __import__("importlib.util").util.find_spec
    monkeypatch.setattr("importlib.util.find_spec",
                        lambda name, *a: None if name == "torch" else real_find_spec(name, *a))
    before = {p: p.read_bytes() for p in results.rglob("*.json")}
    result = invoke(cli, "run", "inference", "--force", "--results-dir", str(results))
    assert result.exit_code == 2
    assert "torch not importable by" in result.output and "nothing was run" in result.output
    assert {p: p.read_bytes() for p in results.rglob("*.json")} == before


def test_unknown_excluded_case_exits_2(cli, results):
    assert invoke(cli, "run", "--exclude", "nope", "--results-dir", str(results)).exit_code == 2


@pytest.mark.skipif(environment.detect_device() == "cuda", reason="this machine has CUDA")
def test_cuda_without_cuda_exits_2(cli, results):
    result = invoke(cli, "run", "--device", "cuda", "--results-dir", str(results))
    assert result.exit_code == 2
    assert "no CUDA" in result.output


@pytest.mark.parametrize("repeats", ["0", "-3"])
def test_non_positive_repeats_exit_2(cli, results, repeats):
    assert invoke(cli, "run", "--repeats", repeats, "--results-dir", str(results)).exit_code == 2


def test_unwritable_results_folder_exits_2(cli, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    result = invoke(cli, "run", "--results-dir", str(blocker / "results"), "--force")
    assert result.exit_code == 2
    assert "not writable" in result.output
    assert blocker.read_text() == "not a folder"


@pytest.mark.parametrize("content", ["{broken", None])
def test_corrupt_or_newer_result_exits_2_and_is_left_alone(cli, results, content):
    path = store.result_path("inference", environment.machine_id(), results)
    if content is None:  # newer schema
        data = json.loads(path.read_text())
        data["schema_version"] = store.SCHEMA_VERSION + 1
        content = json.dumps(data)
    path.write_text(content)
    for verb in (["run", "inference", "--force"], ["check"], ["render"]):
        result = invoke(cli, *verb, "--results-dir", str(results))
        assert result.exit_code == 2, verb
    assert path.read_text() == content


def test_dry_run_lists_jobs_and_writes_nothing(cli, results):
    before = {p: p.read_bytes() for p in results.rglob("*.json")}
    result = invoke(cli, "run", "headline", "--force", "--profile", "quick", "--dry-run",
                    "--results-dir", str(results))
    assert result.exit_code == 0
    assert "headline: torch eager b128" in result.output and "(noise check)" in result.output
    assert {p: p.read_bytes() for p in results.rglob("*.json")} == before


def test_fresh_results_are_skipped_without_force(cli, results):
    result = invoke(cli, "run", "--results-dir", str(results), "--no-render")
    assert result.exit_code == 0
    assert "0 case(s), 0 process(es)" in result.output


def test_check_reports_fresh_then_stale(cli, results):
    assert invoke(cli, "check", "--results-dir", str(results)).exit_code == 0
    path = store.result_path("headline", environment.machine_id(), results)
    data = json.loads(path.read_text())
    data["code_hash"] = "f" * 64
    path.write_text(json.dumps(data))
    result = invoke(cli, "check", "--results-dir", str(results))
    assert result.exit_code == 1
    assert "STALE" in result.output and "workload code changed" in result.output


def test_list_shows_every_case(cli, results):
    result = invoke(cli, "list", "--results-dir", str(results))
    assert result.exit_code == 0
    for name in ("ceiling", "headline", "size_sweep", "inference", "time_to_accuracy"):
        assert name in result.output


def test_progress_is_one_line_per_job_when_not_on_a_terminal(cli, results, monkeypatch):
    from engine.bench import harness

    def fake_run_case(case, profile, device, repeats, frameworks, on_job, root):
        for job in harness.plan(case, profile, repeats, frameworks):
            ok = job.config[0] == "torch"
            on_job(job, {"ok": ok, "wall_s": 1.0, "reason": None if ok else "exit status 1: boom"})
        return {"status": "partial", "failure": {"reason": "boom"}}

    monkeypatch.setattr(harness, "run_case", fake_run_case)
    result = invoke(cli, "run", "inference", "--force", "--profile", "quick", "--no-render",
                    "--results-dir", str(results))
    assert result.exit_code == 1  # a failed case is reported in the exit status
    assert "[1/2] inference: torch eager b1 w1 #1: ok (1.0 s); ETA" in result.output
    assert "[2/2] inference: tf function b1 w1 #1: FAILED: exit status 1: boom" in result.output
    assert "FAILED inference: partial: boom" in result.output
