"""A tiny real harness run, and the harness surviving jobs that crash or hang."""

from __future__ import annotations

import dataclasses
import json

import pytest

from engine import environment
from engine.bench import harness, store, timed_env
from engine.bench.cases import CASES


@pytest.fixture(autouse=True)
def no_waiting_for_a_quiet_machine(monkeypatch):
    # The real harness waits for other work to calm down; a test must not.
    monkeypatch.setattr(harness, "QUIET_WAIT_S", 0.0)


def _tiny(case_name, configs, steps=(2, 3), block=False):
    """The case cut to ``configs``, one tier per process unless ``block`` (tests/test_bench_blocks.py has blocks)."""
    case = CASES[case_name]
    return dataclasses.replace(case, grid={"quick": configs}, steps={"quick": steps}, block=block)


def test_tiny_real_run_of_the_headline_case(tmp_path):
    case = _tiny("headline", [("torch", "eager", 8, 1), ("tf", "function", 8, 1)])
    result = harness.run_case(case, "quick", "cpu", root=tmp_path)
    assert result["status"] == "ok", result.get("failure")
    path = store.result_path("headline", environment.machine_id("cpu"), tmp_path)
    assert store.load(path) == json.loads(json.dumps(result))
    assert [r["framework"] for r in result["runs"]] == ["torch", "tf"]  # interleaved
    for run in result["runs"]:
        child = run["result"]
        assert len(child["samples_ns"]) == 3 and all(s > 0 for s in child["samples_ns"])
        assert child["warmup_steps"] == 2
        assert child["params"] == 34826
        assert child["settings"]["precision"] == "float32"
        assert child["settings"]["intra_op_threads"] == environment.usable_cores()
        assert run["peak_rss_bytes"] > child["rss_baseline_bytes"] > 0
        assert run["foreign_cores"] >= 0 and "busy_cores_before" in run
    manifest = result["manifest"]
    assert manifest["threads"]["OMP_NUM_THREADS"] == environment.usable_cores()
    assert {"torch", "keras", "python"} <= set(manifest["versions"])
    assert manifest["timestamp"] and manifest["cpu_model"]
    assert store.stale_reasons(result, case, environment.machine_id("cpu")) == []


def test_crashing_job_is_recorded_and_others_still_run(tmp_path, monkeypatch):
    case = _tiny("headline", [("torch", "eager", 4, 1), ("tf", "function", 4, 1)])
    real_plan = harness.plan

    def plan_with_a_bad_job(*args, **kwargs):
        jobs = real_plan(*args, **kwargs)
        bad = dataclasses.replace(jobs[0], spec={**jobs[0].spec, "expected_params": 1})
        return [bad] + jobs[1:]

    monkeypatch.setattr(harness, "plan", plan_with_a_bad_job)
    result = harness.run_case(case, "quick", "cpu", root=tmp_path)
    assert result["status"] == "partial"
    bad, good = result["runs"][0], result["runs"][1]
    assert not bad["ok"] and "expected 1" in bad["reason"]
    assert good["ok"]


def test_hanging_job_times_out(tmp_path):
    case = _tiny("headline", [("torch", "eager", 4, 1)])
    job = harness.plan(case, "quick")[0]
    record = harness.run_job(job, "cpu", timeout_s=0.5)
    assert not record["ok"] and record["reason"].startswith("timed out")


def test_failed_rerun_keeps_the_last_good_result(tmp_path, monkeypatch):
    case = _tiny("headline", [("torch", "eager", 4, 1)])
    good = harness.run_case(case, "quick", "cpu", root=tmp_path)
    assert good["status"] == "ok"
    monkeypatch.setattr(harness, "run_job", lambda job, device, timeout_s: {
        "framework": "torch", "mode": "eager", "batch_size": 4, "width": 1, "repeat": 0,
        "ok": False, "reason": "killed by signal 9"})
    failed = harness.run_case(case, "quick", "cpu", root=tmp_path)
    assert failed["status"] == "failed" and "signal 9" in failed["failure"]["reason"]
    assert failed["runs"] == good["runs"]
    assert any("last run failed" in r for r in store.stale_reasons(failed, CASES["headline"], environment.machine_id("cpu")))


def test_cuda_request_without_cuda_is_refused():
    if environment.detect_device() == "cuda":
        pytest.skip("this machine has CUDA")
    with pytest.raises(ValueError):
        harness.resolve_device("cuda")


def test_timed_processes_get_the_allocator_setting_unless_a_variant_removes_it(tmp_path):
    # End to end: what the child process really saw, not what the parent meant to pass.
    configs = [("torch", "eager", 4, 1)]
    tuned = harness.run_case(_tiny("headline", configs), "quick", "cpu", root=tmp_path / "a")
    both = harness.run_case(_tiny("allocator", configs), "quick", "cpu", root=tmp_path / "b")
    assert tuned["runs"][0]["result"]["glibc_tunables"] == timed_env.ALLOCATOR_TUNABLES
    assert tuned["manifest"]["child_env"]["GLIBC_TUNABLES"] == timed_env.ALLOCATOR_TUNABLES
    assert "variant" not in tuned["runs"][0] and "child_env_variants" not in tuned["manifest"]
    seen = {run["variant"]: run["result"]["glibc_tunables"] for run in both["runs"]}
    assert seen == {"glibc-defaults": None, "harness-setting": timed_env.ALLOCATOR_TUNABLES}
    variants = both["manifest"]["child_env_variants"]
    assert "GLIBC_TUNABLES" not in variants["glibc-defaults"]
    assert variants["harness-setting"]["GLIBC_TUNABLES"] == timed_env.ALLOCATOR_TUNABLES


def test_variants_of_a_configuration_run_back_to_back_in_alternating_order():
    jobs = harness.plan(CASES["allocator"], "default")
    assert len(jobs) == CASES["allocator"].processes("default") * len(CASES["allocator"].configs("default")) * 2
    for first, second in zip(jobs[::2], jobs[1::2], strict=True):
        assert first.config == second.config and first.repeat == second.repeat
        assert {first.variant, second.variant} == {"glibc-defaults", "harness-setting"}
    leaders = [jobs[i].variant for i in range(0, len(jobs), 2)]
    per_round = len(CASES["allocator"].configs("default"))
    assert leaders[0] != leaders[per_round]  # the other variant goes first in the next round
    assert "[glibc-defaults]" in jobs[0].label or "[glibc-defaults]" in jobs[1].label


def test_child_env_overrides_set_and_remove(monkeypatch):
    monkeypatch.setenv("SOME_INHERITED", "1")
    env = timed_env.child_env("cpu", 3, {"GLIBC_TUNABLES": None, "EXTRA": "x"})
    assert "GLIBC_TUNABLES" not in env and env["EXTRA"] == "x" and env["SOME_INHERITED"] == "1"
    assert env["OMP_NUM_THREADS"] == "3" and env["CUDA_VISIBLE_DEVICES"] == ""


def test_a_one_tier_plan_runs_each_configuration_once_per_round_spread_over_rounds():
    """docs/method.md#noise: one process per configuration and round (blocks: tests/test_bench_blocks.py)."""
    from collections import Counter

    from engine import environment

    bf16 = environment.capabilities("cpu", flags=frozenset({"amx_bf16"}))
    case = dataclasses.replace(CASES["headline"], block=False, repeats={"default": 9},
                               batch_repeats={"default": {512: 4}})
    jobs = harness.plan(case, "default", capabilities=bf16)
    configs = case.configs("default", bf16)
    per_config = Counter(j.config for j in jobs)
    assert {per_config[c] for c in configs if c[2] == 128} == {9}
    assert {per_config[c] for c in configs if c[2] == 512} == {4}
    for r in range(9):
        round_jobs = [j for j in jobs if j.repeat == r]
        expected = [c for c in configs if r < (9 if c[2] == 128 else 4)]
        assert sorted(j.config for j in round_jobs) == sorted(expected)  # each configuration once per round
        assert not any(j.block for j in round_jobs)
    first, second = ([j.config for j in jobs if j.repeat == r] for r in (0, 1))
    assert second == first[::-1]  # odd rounds run in reverse order
    assert [j.config[0] for j in jobs[:4]] == ["torch", "tf", "torch", "tf"]  # frameworks interleaved
    assert len(harness.plan(case, "default", repeats=2, capabilities=bf16)) == 2 * len(configs)  # --repeats overrides


def test_plan_leaves_out_what_the_device_cannot_run():
    from engine import environment

    no_bf16 = environment.capabilities("cpu", flags=frozenset({"avx2"}))
    jobs = harness.plan(CASES["headline"], "default", capabilities=no_bf16)
    assert jobs and not [j for j in jobs if "bf16" in j.config[1] or "tf32" in j.config[1]]
    absent = CASES["headline"].absent("default", no_bf16)
    assert {mode for (_, mode, _, _), _ in absent} >= {"eager-cl-bf16", "function-bf16", "cudagraphs-cl"}
    assert all("none of the bf16 flags" in why or "NVIDIA GPU" in why for _, why in absent)


# ---------------------------------------------------------------- issue 10: signals, saves, the build step
def test_a_job_killed_by_a_signal_says_which(tmp_path, monkeypatch):
    # sitecustomize runs before the child's module: the timed process dies of SIGSEGV at once.
    (tmp_path / "sitecustomize.py").write_text("import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)\n")
    real_child_env = harness.child_env
    monkeypatch.setattr(harness, "child_env", lambda *a: {**real_child_env(*a), "PYTHONPATH": str(tmp_path)})
    job = harness.plan(_tiny("headline", [("torch", "eager", 4, 1)]), "quick")[0]
    record = harness.run_job(job, "cpu", timeout_s=60)
    assert not record["ok"] and record["reason"] == "killed by SIGSEGV"


def test_the_quiet_wait_is_read_through_envinput(monkeypatch):
    from engine import envinput

    monkeypatch.setattr(harness, "QUIET_WAIT_S", None)
    monkeypatch.setenv("GUIDE_BENCH_QUIET_WAIT", "later")
    job = harness.plan(_tiny("headline", [("torch", "eager", 4, 1)]), "quick")[0]
    with pytest.raises(envinput.EnvError, match="GUIDE_BENCH_QUIET_WAIT='later' is not allowed"):
        harness.run_job(job, "cpu", 5)


def test_a_failed_save_after_the_jobs_keeps_their_runs(tmp_path, monkeypatch):
    monkeypatch.setattr(harness, "run_job", lambda job, device, timeout_s: {
        "framework": "torch", "mode": "eager", "batch_size": 4, "width": 1, "repeat": 0,
        "noise_check": False, "ok": True, "result": {"samples_ns": [5, 6, 7]}})

    def full_disk(data, path):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(store, "save", full_disk)
    with pytest.raises(store.StoreError, match="could not save .*No space left.*kept in .*headline.recovered-"):
        harness.run_case(_tiny("headline", [("torch", "eager", 4, 1)]), "quick", "cpu", root=tmp_path)
    recovered = next(tmp_path.rglob("headline.recovered-*.json"))
    assert json.loads(recovered.read_text())["runs"][0]["result"]["samples_ns"] == [5, 6, 7]


@pytest.fixture
def build_store(tmp_path, monkeypatch):
    """Fixture results for every case in default profile, as committed; the build step reads them."""
    import logging

    from engine.bench import fixtures, render

    results = tmp_path / "results"
    machine = fixtures.write_all(results)
    for path in results.glob("*/*.json"):
        path.write_text(json.dumps({**json.loads(path.read_text()), "profile": "default"}))
    monkeypatch.setenv("GUIDE_RESULTS_DIR", str(results))
    monkeypatch.setattr(render, "out_dir", lambda: tmp_path / "out")
    monkeypatch.delenv("GUIDE_ALLOW_DOWNGRADE", raising=False)
    monkeypatch.delenv("GUIDE_BENCH_PROFILE", raising=False)
    ran = []
    monkeypatch.setattr(harness, "run_case", lambda case, profile, device, on_job=None:
                        ran.append((case.name, profile)) or {"status": "ok"})
    return results, machine, ran, logging.getLogger("test")


def test_guide_run_all_keeps_stronger_results_and_says_which_profile(build_store, caplog):
    import logging

    import engine.bench as bench

    results, machine, ran, log = build_store
    with caplog.at_level(logging.INFO, logger="test"):
        bench.refresh_for_build("all", log)
    assert ran == []
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "guide: benchmark headline: kept, its stored result is default-profile; a quick run would replace it" \
        in text
    assert f"profile quick (GUIDE_BENCH_PROFILE) ran 0 case(s); kept {len(CASES)} stored default-profile" in text
    assert all(store.load(p)["profile"] == "default" for p in results.glob("*/*.json"))


def test_guide_allow_downgrade_lets_the_build_replace_them(build_store, monkeypatch):
    import engine.bench as bench

    results, machine, ran, log = build_store
    monkeypatch.setenv("GUIDE_ALLOW_DOWNGRADE", "1")
    bench.refresh_for_build("all", log)
    assert ran == [(name, "quick") for name in CASES]


def test_a_stale_stronger_result_is_kept_stale_not_downgraded(build_store, caplog):
    import logging

    import engine.bench as bench

    results, machine, ran, log = build_store
    path = store.result_path("inference", machine, results)
    path.write_text(json.dumps({**json.loads(path.read_text()), "code_hash": "0" * 64}))
    with caplog.at_level(logging.INFO, logger="test"):
        bench.refresh_for_build("stale", log)
    assert ran == []
    assert any("inference: kept" in r.getMessage() and "shown as stale: workload code changed" in r.getMessage()
               for r in caplog.records)


def test_the_build_names_an_invalid_file_and_its_field(build_store):
    import engine.bench as bench

    results, machine, ran, log = build_store
    path = store.result_path("inference", machine, results)
    path.write_text(json.dumps({**json.loads(path.read_text()), "manifest": []}))
    with pytest.raises(store.StoreError, match=rf"^{path}: not a valid result file: manifest: expected object"):
        bench.refresh_for_build("stale", log)


def test_the_build_refuses_to_render_an_empty_store(tmp_path, monkeypatch):
    import logging

    import engine.bench as bench

    (tmp_path / "empty").mkdir()
    monkeypatch.setenv("GUIDE_RESULTS_DIR", str(tmp_path / "empty"))
    with pytest.raises(store.StoreError, match="holds no result files"):
        bench.refresh_for_build("none", logging.getLogger("test"))


def test_a_timed_process_that_leaves_one_in_its_own_session_fails_its_run(tmp_path, monkeypatch):
    # The "interpreter" starts a server in its own session and exits: it would run beside the next job.
    import stat
    import sys

    from engine import envinput, procs
    from engine.bench import harness
    from engine.bench.cases import CASES, job_spec

    pids = tmp_path / "pid"
    fake = tmp_path / "python"
    fake.write_text(f"#!/bin/sh\nexec {sys.executable} -c \"import subprocess; "
                    f"p = subprocess.Popen(['sleep', '1238'], start_new_session=True); "
                    f"open('{pids}', 'w').write(str(p.pid))\"\n")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setattr(envinput, "python_for", lambda framework, environ=None: str(fake))
    monkeypatch.setattr(harness, "QUIET_WAIT_S", 0)
    case = CASES["dispatch"]
    config = case.configs("quick")[0]
    record = harness.run_job(harness.Job(case, config, 0, job_spec(case, config, "quick", 1)), "cpu", 60)
    pid = int(pids.read_text())
    assert not record["ok"]
    assert record["reason"] == f"the timed process left 1 process running (pid {pid}: sleep 1238, own session); stopped it"
    state = procs._stat(pid)
    assert state is None or state[0] in ("Z", "X"), f"the escaped sleep {pid} is still running"
