"""Rendering: same results give the same bytes; missing results say so; verdicts follow the numbers."""

from __future__ import annotations

import json
import re

import pytest

from engine.bench import fixtures, render, store

CLAIMS = ("c02", "c03", "c07", "c08", "c09", "c16", "c19")


@pytest.fixture
def rendered(tmp_path):
    results = tmp_path / "results"
    fixtures.write_all(results)
    render.render_all(results, tmp_path / "a")
    render.render_all(results, tmp_path / "b")
    return tmp_path


def test_same_results_render_byte_identical(rendered):
    a = {p.name: p.read_bytes() for p in (rendered / "a").iterdir()}
    b = {p.name: p.read_bytes() for p in (rendered / "b").iterdir()}
    assert a == b
    assert {"headline_step_time.svg", "size_sweep_memory.svg", "summary.md"} <= set(a)
    assert b"<dc:date>" not in a["headline_step_time.svg"]  # no build date stamped in


def test_second_render_changes_nothing(rendered):
    assert render.render_all(rendered / "results", rendered / "a") == []


def test_every_claim_gets_a_verdict_naming_the_hardware(rendered):
    for claim in CLAIMS:
        text = (rendered / "a" / f"verdict_{claim}.md").read_text()
        assert "not measured on this build" not in text or claim in ("c07", "c08", "c19")
        assert "AMD" in text or "cpu" in text


def test_gpu_claims_are_not_claimed_from_cpu_results(rendered):
    for claim in ("c07", "c08", "c19"):
        assert "Not measured on a GPU" in (rendered / "a" / f"verdict_{claim}.md").read_text()


def test_compiled_faster_in_both_means_c03_supported(rendered):
    # The fixture's compiled modes are centred below eager in both frameworks.
    assert "**Supported**" in (rendered / "a" / "verdict_c03.md").read_text()


def test_verdict_flips_with_the_numbers(tmp_path):
    results = tmp_path / "results"
    machine = fixtures.write_all(results)
    path = store.result_path("headline", machine, results)
    data = json.loads(path.read_text())
    for run in data["runs"]:  # make every compiled mode 3x slower than eager
        if run["mode"] != "eager":
            run["result"]["samples_ns"] = [s * 3 for s in run["result"]["samples_ns"]]
    store.save(data, path)
    render.render_all(results, tmp_path / "out")
    assert "**Not supported**" in (tmp_path / "out" / "verdict_c03.md").read_text()


def test_missing_results_say_not_measured(tmp_path):
    render.render_all(tmp_path / "empty", tmp_path / "out")
    for claim in CLAIMS:
        assert "not measured on this build" in (tmp_path / "out" / f"verdict_{claim}.md").read_text()
    assert "not measured on this build" in (tmp_path / "out" / "headline.md").read_text()
    assert (tmp_path / "out" / "headline_step_time.svg").exists()  # placeholder keeps links valid


def test_tables_show_ratios_and_noise_check(rendered):
    text = (rendered / "a" / "headline.md").read_text()
    assert "95% CI" in text and "Noise check" in text
    noise_line = next(line for line in text.splitlines() if line.startswith("- Noise check"))
    assert re.search(r"process medians \d+\.\d\d–\d+\.\d\d and \d+\.\d\d–\d+\.\d\d ms\.$", noise_line)
    assert "% of measured peak" in text


def test_failed_runs_are_shown(tmp_path):
    results = tmp_path / "results"
    machine = fixtures.write_all(results)
    path = store.result_path("headline", machine, results)
    data = json.loads(path.read_text())
    data["runs"].append({"framework": "tf", "mode": "xla", "batch_size": 512, "width": 1, "repeat": 0,
                         "noise_check": False, "ok": False, "reason": "timed out after 300 s"})
    data["status"], data["failure"] = "partial", {"reason": "timed out after 300 s", "failed_runs": 1}
    store.save(data, path)
    render.render_all(results, tmp_path / "out")
    text = (tmp_path / "out" / "headline.md").read_text()
    assert "timed out after 300 s" in text and "Failed" in text


def test_other_machines_are_rendered_with_their_own_label(tmp_path):
    results = tmp_path / "results"
    fixtures.write_all(results)
    other = fixtures.synthetic_result("headline", "cuda-some-gpu-8c-12345678")
    other["manifest"]["cpu_model"] = "Other CPU 9000"
    store.save(other, store.result_path("headline", "cuda-some-gpu-8c-12345678", results))
    render.render_all(results, tmp_path / "out")
    assert "Other CPU 9000" in (tmp_path / "out" / "other_machines.md").read_text()
    assert "Other CPU 9000" not in (tmp_path / "out" / "headline.md").read_text()


def test_build_step_with_fresh_results_runs_nothing_and_renders(tmp_path, monkeypatch):
    import logging

    import engine.bench as bench
    from engine.bench import harness

    results = tmp_path / "results"
    fixtures.write_all(results)
    monkeypatch.setenv("GUIDE_RESULTS_DIR", str(results))
    monkeypatch.setattr(render, "out_dir", lambda: tmp_path / "out")

    def must_not_run(*args, **kwargs):
        raise AssertionError("a fresh case was rerun")

    monkeypatch.setattr(harness, "run_case", must_not_run)
    bench.refresh_for_build("stale", logging.getLogger("test"))
    bench.refresh_for_build("none", logging.getLogger("test"))
    assert "Hardware:" in (tmp_path / "out" / "summary.md").read_text()


def _store_with_a_stale_inference_case(tmp_path, monkeypatch) -> None:
    """Fixture results for every case, the inference one marked stale; the build step reads them."""
    results = tmp_path / "results"
    machine = fixtures.write_all(results)
    path = store.result_path("inference", machine, results)
    data = json.loads(path.read_text())
    data["code_hash"] = "0" * 64
    store.save(data, path)
    monkeypatch.setenv("GUIDE_RESULTS_DIR", str(results))
    monkeypatch.setattr(render, "out_dir", lambda: tmp_path / "out")


def test_build_step_reruns_a_stale_case(tmp_path, monkeypatch):
    import logging

    import engine.bench as bench
    from engine.bench import harness

    _store_with_a_stale_inference_case(tmp_path, monkeypatch)
    ran = []
    monkeypatch.setattr(harness, "run_case", lambda case, profile, device, on_job=None:
                        ran.append((case.name, profile)) or {"status": "ok"})
    bench.refresh_for_build("stale", logging.getLogger("test"))
    assert ran == [("inference", "quick")]


def test_build_step_reports_each_job_and_a_failure_without_a_warning(tmp_path, monkeypatch, caplog):
    # A warning would abort the strict build; the failure belongs on the page instead.
    import logging

    import engine.bench as bench
    from engine.bench import harness

    _store_with_a_stale_inference_case(tmp_path, monkeypatch)

    def failing_run_case(case, profile, device, on_job=None):
        for job in harness.plan(case, profile):
            on_job(job, {"ok": False, "wall_s": 2.0, "reason": "killed by signal 9"})
        return {"status": "failed", "failure": {"reason": "killed by signal 9"}}

    monkeypatch.setattr(harness, "run_case", failing_run_case)
    with caplog.at_level(logging.INFO, logger="test"):
        bench.refresh_for_build("stale", logging.getLogger("test"))
    messages = [r.getMessage() for r in caplog.records]
    assert any("[1/2] inference: torch eager b1 w1 #1: FAILED: killed by signal 9" in m for m in messages)
    assert any("inference: failed: killed by signal 9" in m for m in messages)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_allocator_table_compares_with_the_harness_rows(rendered):
    text = (rendered / "a" / "allocator.md").read_text()
    assert "glibc defaults: step ms" in text and "Harness setting: step ms" in text
    assert "glibc malloc defaults" in text  # provenance names the allocator the rows ran with
    # The fixture makes PyTorch eager 1.5x slower under glibc's defaults and leaves TF alone.
    torch_line = next(line for line in text.splitlines() if line.startswith("- PyTorch eager"))
    ratio = float(re.search(r"takes (\d+\.\d+)x", torch_line).group(1))
    assert abs(ratio - 1.5) < 0.05 and "the harness's setting is faster" in torch_line
    tf_line = next(line for line in text.splitlines() if line.startswith("- TF tf.function"))
    assert "no significant difference" in tf_line
    assert "Memory allocator" in (rendered / "a" / "summary.md").read_text()


def test_summary_names_the_configuration_a_noise_check_flagged():
    res = {name: fixtures.synthetic_result(name) for name in ("headline", "ceiling")}
    assert "noise check flagged" not in render.summary_md(res, {})  # the fixture repeats itself
    for run in res["headline"]["runs"]:
        if run["noise_check"] and run["framework"] == "tf":
            run["result"]["samples_ns"] = [int(s * 1.2) for s in run["result"]["samples_ns"]]
    bullet = next(line for line in render.summary_md(res, {}).splitlines() if "noise check flagged" in line)
    assert "(TF tf.function, batch 128)" in bullet and "PyTorch" not in bullet
