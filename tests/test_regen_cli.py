"""scripts/regen.py: every verb has --help; bad input exits 2 with one clear line and overwrites nothing."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from click.testing import CliRunner

import tmpfs
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
    # One line per process; a block names its tiers in the order it measures them.
    lines = result.output.splitlines()
    assert any(line.strip().startswith("headline: torch ") and "compile-cl" in line and " b128 " in line
               for line in lines)
    assert any(line.strip().startswith("headline: tf ") and "fit" in line and " b512 " in line for line in lines)
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
    result = invoke(cli, "run", "inference", "--force", "--profile", "quick", "--no-render", "--allow-downgrade",
                    "--results-dir", str(results))
    assert result.exit_code == 1  # a failed case is reported in the exit status
    assert "[1/2] inference: torch eager b1 w1 #1: ok (1.0 s); ETA" in result.output
    assert "[2/2] inference: tf function b1 w1 #1: FAILED: exit status 1: boom" in result.output
    assert "FAILED inference: partial: boom" in result.output


# ---------------------------------------------------------------- issue 10: invalid files, saves, renders, input
def _fake_runs(monkeypatch):
    """Every job succeeds at once with a plausible record: the CLI's handling is under test, not timing."""
    from engine.bench import harness

    def fake_run_job(job, device, timeout_s):
        fw, mode, batch, width = job.config
        return {"framework": fw, "mode": mode, "batch_size": batch, "width": width, "repeat": job.repeat,
                "ok": True, "wall_s": 0.1,
                "result": {"samples_ns": [1000, 1100, 1200]}}

    monkeypatch.setattr(harness, "run_job", fake_run_job)


INVALID = {
    "random bytes": (lambda data: bytes(range(256)) * 8, "not a result file (not UTF-8 text"),
    "manifest is a list": (lambda data: {**data, "manifest": []}, "manifest: expected object, found a list"),
    "result is a string": (lambda data: {**data, "runs": [{**data["runs"][0], "result": "abc"}]},
                           "runs[0].result: expected object, found a string"),
    "status null": (lambda data: {**data, "status": None}, "status: expected one of"),
    "numeric code_hash": (lambda data: {**data, "code_hash": 7}, "code_hash: expected string, found a number 7"),
    "a run listed twice": (lambda data: {**data, "runs": data["runs"] + [data["runs"][0]]},
                           "the same run as runs[0] ("),
}


def _write_invalid(path, kind):
    change, _ = INVALID[kind]
    data = change(json.loads(path.read_text()))
    path.write_bytes(data if isinstance(data, bytes) else json.dumps(data).encode())
    return path.read_bytes()


@pytest.mark.parametrize("kind", list(INVALID))
@pytest.mark.parametrize("verb", [["check"], ["list"], ["render"], ["run", "inference", "--force"],
                                  ["run", "ceiling", "--force"]])
def test_an_invalid_file_is_exit_2_naming_file_and_field_for_every_verb(cli, results, tmp_path, monkeypatch,
                                                                       kind, verb):
    from engine.bench import render

    monkeypatch.setattr(render, "out_dir", lambda: tmp_path / "out")
    _fake_runs(monkeypatch)
    path = store.result_path("inference", environment.machine_id(), results)
    content = _write_invalid(path, kind)
    result = invoke(cli, *verb, "--profile", "quick", "--results-dir", str(results)) if verb[0] in ("run", "list") \
        else invoke(cli, *verb, "--results-dir", str(results))
    assert result.exit_code == 2, result.output
    assert str(path) in result.output and INVALID[kind][1] in result.output, result.output
    assert path.read_bytes() == content  # left alone
    if verb[0] == "run":  # the other case's file stopped the run before anything was measured
        assert "nothing was run" in result.output
        assert not (tmp_path / "out").exists()


def test_run_with_no_render_ignores_another_case_s_invalid_file(cli, results, monkeypatch):
    _fake_runs(monkeypatch)
    _as_profile(results, "ceiling", "quick")
    _write_invalid(store.result_path("inference", environment.machine_id(), results), "manifest is a list")
    result = invoke(cli, "run", "ceiling", "--force", "--profile", "quick", "--no-render",
                    "--results-dir", str(results))
    assert result.exit_code == 0, result.output


def test_a_render_that_fails_after_the_run_is_exit_2_and_keeps_the_new_result(cli, results, monkeypatch, tmp_path):
    from engine.bench import harness, render

    monkeypatch.setattr(render, "out_dir", lambda: tmp_path / "out")
    real_run_case = harness.run_case
    other = store.result_path("inference", environment.machine_id(), results)

    def run_case_then_another_file_breaks(*args, **kwargs):
        result = real_run_case(*args, **kwargs)
        other.write_text("{broken")  # e.g. another process writing a bad file meanwhile
        return result

    monkeypatch.setattr(harness, "run_case", run_case_then_another_file_breaks)
    _fake_runs(monkeypatch)
    _as_profile(results, "ceiling", "quick")
    result = invoke(cli, "run", "ceiling", "--force", "--profile", "quick", "--results-dir", str(results))
    assert result.exit_code == 2, result.output
    assert result.output.count("render failed: ") == 1 and f"{other}: corrupt JSON" in result.output
    saved = store.load(store.result_path("ceiling", environment.machine_id(), results))
    assert saved["runs"][0]["result"]["samples_ns"] == [1000, 1100, 1200]


def test_list_exit_status_is_0_fresh_1_stale_2_invalid(cli, results):
    assert invoke(cli, "list", "--results-dir", str(results)).exit_code == 0
    path = store.result_path("headline", environment.machine_id(), results)
    data = json.loads(path.read_text())
    path.write_text(json.dumps({**data, "code_hash": "f" * 64}))
    assert invoke(cli, "list", "--results-dir", str(results)).exit_code == 1
    path.write_text(json.dumps({**data, "status": None}))
    assert invoke(cli, "list", "--results-dir", str(results)).exit_code == 2


def test_check_of_a_missing_results_folder_is_exit_2(cli, tmp_path):
    result = invoke(cli, "check", "--results-dir", str(tmp_path / "typo"))
    assert result.exit_code == 2 and "does not exist" in result.output


@pytest.mark.parametrize("store_state", ["missing", "empty"])
def test_render_refuses_a_missing_or_empty_store_and_blanks_nothing(cli, tmp_path, monkeypatch, store_state):
    from engine.bench import render

    fixtures.write_all(tmp_path / "results")
    render.render_all(tmp_path / "results", tmp_path / "out")
    monkeypatch.setattr(render, "out_dir", lambda: tmp_path / "out")
    before = {p: p.read_bytes() for p in (tmp_path / "out").iterdir()}
    assert len(before) > 10
    target = tmp_path / "other"
    if store_state == "empty":
        (target / "some-machine").mkdir(parents=True)
    result = invoke(cli, "render", "--results-dir", str(target))
    assert result.exit_code == 2
    assert ("does not exist" if store_state == "missing" else "holds no result files") in result.output
    assert {p: p.read_bytes() for p in (tmp_path / "out").iterdir()} == before


def test_a_read_only_generated_folder_is_exit_2_naming_the_target(cli, results, tmp_path, monkeypatch):
    from engine.bench import render

    with tmpfs.mounted(tmp_path / "out", "ro") as out:
        monkeypatch.setattr(render, "out_dir", lambda: out)
        result = invoke(cli, "render", "--results-dir", str(results))
    assert result.exit_code == 2
    assert f"cannot write {out}/" in result.output and ".tmp" not in result.output


def test_an_empty_selection_is_exit_2(cli, results):
    result = invoke(cli, "run", "ceiling", "--exclude", "ceiling", "--results-dir", str(results))
    assert result.exit_code == 2 and "no case selected" in result.output


def test_repeats_has_an_upper_bound(cli, results):
    result = invoke(cli, "run", "--repeats", "1000000000", "--dry-run", "--results-dir", str(results))
    assert result.exit_code == 2 and "1<=x<=100" in result.output


def test_a_bad_quiet_wait_is_exit_2_naming_the_variable(cli, results, monkeypatch):
    monkeypatch.setenv("GUIDE_BENCH_QUIET_WAIT", "soon")
    result = invoke(cli, "run", "ceiling", "--force", "--dry-run", "--results-dir", str(results))
    assert result.exit_code == 2 and "GUIDE_BENCH_QUIET_WAIT='soon' is not allowed" in result.output


def _as_profile(results, name, profile):
    path = store.result_path(name, environment.machine_id(), results)
    data = json.loads(path.read_text())
    path.write_text(json.dumps({**data, "profile": profile}))
    return path


def test_run_refuses_to_replace_a_stronger_profile_unless_asked(cli, results, monkeypatch):
    _fake_runs(monkeypatch)
    path = _as_profile(results, "ceiling", "default")
    before = path.read_bytes()
    result = invoke(cli, "run", "ceiling", "--force", "--profile", "quick", "--no-render",
                    "--results-dir", str(results))
    assert result.exit_code == 2
    assert "refusing to replace stronger results with quick-profile ones: ceiling" in result.output
    assert "--allow-downgrade" in result.output and path.read_bytes() == before
    dry = invoke(cli, "run", "ceiling", "--force", "--profile", "quick", "--dry-run", "--results-dir", str(results))
    assert dry.exit_code == 0 and "a real run would stop here: refusing to replace" in dry.output
    result = invoke(cli, "run", "ceiling", "--force", "--profile", "quick", "--no-render", "--allow-downgrade",
                    "--results-dir", str(results))
    assert result.exit_code == 0, result.output
    assert store.load(path)["profile"] == "quick"


def test_a_results_folder_under_proc_is_exit_2_before_any_job(cli, monkeypatch):
    _fake_runs(monkeypatch)
    result = invoke(cli, "run", "ceiling", "--force", "--profile", "quick", "--results-dir", "/proc/guide-results")
    assert result.exit_code == 2 and "not writable" in result.output


def test_a_save_on_a_full_disk_is_exit_2_and_names_the_recovery_file(cli, results, tmp_path, monkeypatch):
    import tempfile

    with tmpfs.mounted(tmp_path / "full") as full:
        machine = store.machine_dir(environment.machine_id(), full)
        machine.mkdir()
        tmpfs.fill(full)
        monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
        _fake_runs(monkeypatch)
        result = invoke(cli, "run", "ceiling", "--force", "--profile", "quick", "--no-render",
                        "--results-dir", str(full))
    assert result.exit_code == 2, result.output
    recovery = next(tmp_path.glob("ceiling.recovered-*.json"))
    assert f"could not save {machine / 'ceiling.json'}" in result.output and str(recovery) in result.output
    assert len(json.loads(recovery.read_text())["runs"]) == 2


def test_snippets_checks_its_variables_before_running_anything(cli, monkeypatch):
    monkeypatch.setenv("GUIDE_JOBS", "-1")
    result = invoke(cli, "snippets", "--mode", "none")
    assert result.exit_code == 2 and "GUIDE_JOBS='-1' is not allowed" in result.output


# ---------------------------------------------------------------- issue 25: bounded files, one measuring run
def test_check_refuses_an_oversized_file_unread_in_one_line(cli, results):
    from engine.bench import schema

    path = store.result_path("inference", environment.machine_id(), results)
    data = json.loads(path.read_text())
    path.write_text(json.dumps({**data, "padding": "x" * schema.MAX_RESULT_BYTES}))
    result = invoke(cli, "check", "--results-dir", str(results))
    assert result.exit_code == 2
    invalid = [line for line in result.output.splitlines() if line.startswith("INVALID")]
    assert invalid == [f"INVALID {path}: larger than {schema.MAX_RESULT_BYTES:,} bytes, the limit of a result file "
                       "(schema.MAX_RESULT_BYTES, docs/method.md#result-files); not read"]


def test_check_warns_about_an_unknown_top_level_key_and_still_passes(cli, results):
    path = store.result_path("inference", environment.machine_id(), results)
    path.write_text(json.dumps({**json.loads(path.read_text()), "padding": "x" * 1000}))
    result = invoke(cli, "check", "--results-dir", str(results))
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.output.splitlines() if line.startswith("WARNING")]
    assert warnings == [f"WARNING {path}: unknown top-level key 'padding'; a result file holds only the keys "
                        "engine/bench/schema.py names (docs/method.md#result-files)"]


def test_a_symlink_loop_in_the_store_is_one_line_and_exit_2(cli, results):
    loop = store.machine_dir(environment.machine_id(), results) / "loop.json"
    loop.symlink_to(loop.name)
    result = invoke(cli, "check", "--results-dir", str(results))
    assert result.exit_code == 2
    assert [line for line in result.output.splitlines() if line.startswith("INVALID")] == [
        f"INVALID {loop}: cannot read (Too many levels of symbolic links)"], result.output
    assert "Traceback" not in result.output


def test_readers_and_a_dry_run_take_no_lock(cli, results, tmp_path, monkeypatch):
    from conftest import store_lock_held
    from engine import bench
    from engine.bench import render

    monkeypatch.setenv("GUIDE_IF_BUSY", "refuse")  # any lock taken here would fail at once
    monkeypatch.setattr(render, "out_dir", lambda: tmp_path / "out")
    with store_lock_held(results) as holder:
        for verb in (["check"], ["list", "--profile", "quick"], ["render"],
                     ["run", "inference", "--force", "--dry-run"]):
            result = invoke(cli, *verb, "--results-dir", str(results))
            assert result.exit_code == 0 and "being measured" not in result.output, (verb, result.output)
        bench.refresh_for_build("none", logging.getLogger("test"))  # a GUIDE_RUN=none build's step
        refused = invoke(cli, "run", "inference", "--force", "--results-dir", str(results))
        assert refused.exit_code == 2 and f"by pid {holder.pid}" in refused.output  # and measuring does take it


def test_a_side_with_no_configuration_in_a_case_is_refused_before_anything_runs(cli, results, monkeypatch):
    import dataclasses

    from engine.bench import harness
    from engine.bench.cases import CASES

    torch_only = dataclasses.replace(CASES["inference"], grid={"quick": [("torch", "eager", 1, 1)]})
    monkeypatch.setitem(CASES, "inference", torch_only)
    monkeypatch.setattr(harness, "run_case", lambda *a, **k: pytest.fail("nothing may run"))
    before = {p: p.read_bytes() for p in results.rglob("*.json")}
    result = invoke(cli, "run", "inference", "--force", "--profile", "quick", "--framework", "tf",
                    "--allow-downgrade", "--no-render", "--results-dir", str(results))
    assert result.exit_code != 0 and "no configuration of inference runs for tf" in result.output
    assert {p: p.read_bytes() for p in results.rglob("*.json")} == before
