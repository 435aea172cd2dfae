"""Rendering: same results give the same bytes; missing results say so; verdicts follow the numbers."""

from __future__ import annotations

import json
import re

import pytest

from common import tiers
from engine import environment
from engine.bench import fixtures, render, store, summarize

CLAIMS = ("c02", "c03", "c07", "c08", "c09", "c16", "c19")


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    # Module scope: a render takes seconds (charts in two themes), and these tests only read it.
    root = tmp_path_factory.mktemp("rendered")
    results = root / "results"
    fixtures.write_all(results)
    render.render_all(results, root / "a")
    render.render_all(results, root / "b")
    return root


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
        assert environment.cpu_model() in text  # the fixture's manifest is this machine's


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
        if tiers.parse(run["mode"]).execution != "eager":
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


def test_tables_show_noise_bands_and_the_repeat_check(rendered):
    text = (rendered / "a" / "headline.md").read_text()
    assert "Noise band" in text and "% of own ceiling" in text and "% of machine ceiling" in text
    repeat = next(line for line in text.splitlines() if line.startswith("- Repeat check"))
    assert re.search(r"(\d+) of \1 configurations agreed with themselves\.$", repeat)  # the fixture is steady
    assert "95% CI" in (rendered / "a" / "best.md").read_text()


def test_failed_runs_are_shown(tmp_path):
    results = tmp_path / "results"
    machine = fixtures.write_all(results)
    path = store.result_path("headline", machine, results)
    data = json.loads(path.read_text())
    repeat = 1 + max(run["repeat"] for run in data["runs"])  # a process of its own: each run is listed once
    data["runs"].append({"framework": "tf", "mode": "xla", "batch_size": 512, "width": 1, "repeat": repeat,
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
    data["profile"] = "quick"  # what the build reruns it with: not a downgrade
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


def _headline_rows():
    res = {name: fixtures.synthetic_result(name) for name in ("headline", "ceiling")}
    return res, summarize.train_rows(res["headline"], res["ceiling"])


def test_each_at_its_best_is_the_fastest_measured_row_per_framework_batch_and_precision():
    res, rows = _headline_rows()
    pairs = render.best_pairs(rows)
    assert {(b, p) for b, p, _, _ in pairs} == {(128, "fp32"), (128, "bf16"), (512, "fp32"), (512, "bf16")}
    for batch, precision, torch_row, tf_row in pairs:
        for row in (torch_row, tf_row):
            same = [r for r in rows if (r.framework, r.batch_size, r.precision) == (row.framework, batch, precision)]
            assert len(same) >= 2 and row.median_ms == min(r.median_ms for r in same)
    # Make TF's slowest fp32 row at batch 128 the fastest: the selection must follow the numbers.
    slowest = max((r for r in rows if (r.framework, r.batch_size, r.precision) == ("tf", 128, "fp32")),
                  key=lambda r: r.median_ms)
    for run in res["headline"]["runs"]:
        if (run["framework"], run["mode"], run["batch_size"]) == ("tf", slowest.mode, 128):
            run["result"]["samples_ns"] = [s // 10 for s in run["result"]["samples_ns"]]
    rows = summarize.train_rows(res["headline"], res["ceiling"])
    tf_best = next(t for b, p, _, t in render.best_pairs(rows) if (b, p) == (128, "fp32"))
    assert tf_best.mode == slowest.mode
    assert slowest.label in render.best_md(res["headline"], res["ceiling"])


def test_bf16_rows_are_absent_with_the_reason_on_a_cpu_without_bf16():
    from engine import environment

    no_bf16 = environment.capabilities("cpu", flags=frozenset({"avx2", "avx512f"}))
    head = fixtures.synthetic_result("headline", capabilities=no_bf16)
    assert not [r for r in head["runs"] if "bf16" in r["mode"]]
    text = render.best_md(head, fixtures.synthetic_result("ceiling"))
    assert "bf16 (mixed)" not in text.split("\n\n")[1]  # no bf16 row in the table
    assert "this CPU has none of the bf16 flags avx512_bf16, amx_bf16" in text
    assert "PyTorch eager, channels_last, bf16 autocast" in text  # names what was left out


def test_unstable_rows_and_self_disagreement_are_reported():
    res = {name: fixtures.synthetic_result(name, repeats=9) for name in ("headline", "ceiling")}
    assert "unstable" not in render.summary_md(res, {})
    for run in res["headline"]["runs"]:
        if (run["framework"], run["mode"], run["batch_size"]) == ("tf", "function", 128):
            factor = 1.4 if run["repeat"] % 2 else 1.0  # odd rounds much slower: spread and disagreement
            run["result"]["samples_ns"] = [int(s * factor) for s in run["result"]["samples_ns"]]
    summary = render.summary_md(res, {})
    assert "headline rows were unstable" in summary
    assert "TF tf.function, batch 128" in summary
    assert "**unstable**" in render.headline_md(res["headline"], res["ceiling"])


def test_a_table_whose_rows_ran_on_another_device_is_refused(tmp_path):
    results = tmp_path / "results"
    machine = fixtures.write_all(results)
    path = store.result_path("headline", machine, results)
    data = json.loads(path.read_text())
    for run in data["runs"]:
        run["result"]["settings"] = {"device": "cpu"}
    data["runs"][3]["result"]["settings"] = {"device": "cuda:0"}
    store.save(data, path)
    render.render_all(results, tmp_path / "out")
    text = (tmp_path / "out" / "headline.md").read_text()
    assert "not shown" in text and "ran on cuda" in text and "| Mode |" not in text
    data["runs"][3]["result"]["settings"] = {"device": "cpu"}
    store.save(data, path)
    render.render_all(results, tmp_path / "out")
    assert "| Mode |" in (tmp_path / "out" / "headline.md").read_text()


def test_the_workloads_table_has_one_row_per_model_from_its_description(rendered):
    from engine.bench import workload

    text = (rendered / "a" / "workloads.md").read_text()
    rows = [line for line in text.splitlines() if line.startswith("| ") and not line.startswith("| Model")]
    assert len(rows) == 3  # the CNN (timed by several cases), the Transformer, the ResNet
    for name, batch in (("cnn_workload", 128), ("transformer_workload", 8), ("resnet_workload", 32)):
        described = workload.describe(name, "speed")
        size = described.DEFAULT_SIZE
        [row] = [r for r in rows if described.TITLE in r]
        assert f"| {described.trainable_params(size):,} | {batch} |" in row
        assert f"{described.train_step_flops(batch, size) / 1e9:.2f}" in row


def test_each_measured_verdict_is_a_word_one_sentence_and_its_figures(rendered):
    """A bold verdict word, one sentence on the same line, then the table of figures it rests on."""
    for claim in CLAIMS:
        lines = (rendered / "a" / f"verdict_{claim}.md").read_text().splitlines()
        lead = lines[1]
        word = re.match(r"\*\*([^*]+)\*\*", lead)
        assert word, (claim, lead)
        rest = lead[word.end():].strip()  # "**Supported** here. Sentence." or "**Not tested at scale.** Sentence."
        sentence = rest if word.group(1).endswith(".") else rest.partition(". ")[2]
        assert sentence and not re.search(r"[.;:]\s+[A-Z]", sentence.rstrip(".")), (claim, sentence)
        assert len(lead) < 400, (claim, len(lead))  # a sentence, not a log line
        assert lines[2] == "" and lines[3].startswith("| ") and lines[4].startswith("|---"), claim
        rows = [line for line in lines[5:] if line.startswith("| ")]
        assert rows and re.search(r"\d", " ".join(rows)), claim  # the figures are in the table
        assert lines[-1].startswith("*") and lines[-1].endswith("*"), claim  # what was measured, where


def test_a_writer_rewords_a_verdict_in_its_template_and_the_figures_stay(tmp_path, monkeypatch):
    import shutil

    import jinja2

    from engine.bench.render import format as fmt

    templates = tmp_path / "templates"
    shutil.copytree(fmt.TEMPLATES_DIR, templates)
    path = templates / "verdicts.md.j2"
    text = path.read_text()
    assert "Compiling made the fp32 training step at batch {{ batch }} significantly faster" in text
    path.write_text(text.replace("Compiling made the fp32 training step", "Reworded: the compiled fp32 step"))
    monkeypatch.setattr(fmt, "_ENV", fmt._ENV.overlay(loader=jinja2.FileSystemLoader(templates)))
    results = tmp_path / "results"
    fixtures.write_all(results)
    render.render_all(results, tmp_path / "out")
    verdict = (tmp_path / "out" / "verdict_c03.md").read_text()
    assert "Reworded: the compiled fp32 step at batch 128" in verdict
    assert re.search(r"\| \d+\.\d\d× \(\d\.\d\d–\d\.\d\d\) \|", verdict)  # figures still from the results


def test_a_template_naming_a_figure_the_code_does_not_pass_fails_the_render(tmp_path, monkeypatch):
    import shutil

    import jinja2

    from engine.bench.render import format as fmt

    templates = tmp_path / "templates"
    shutil.copytree(fmt.TEMPLATES_DIR, templates)
    path = templates / "verdicts.md.j2"
    path.write_text(path.read_text().replace("{{ tested }}", "{{ tsted }}"))
    monkeypatch.setattr(fmt, "_ENV", fmt._ENV.overlay(loader=jinja2.FileSystemLoader(templates)))
    results = tmp_path / "results"
    fixtures.write_all(results)
    with pytest.raises(jinja2.UndefinedError, match="tsted"):
        render.render_all(results, tmp_path / "out")


def test_the_render_key_covers_the_render_package_and_its_templates():
    from engine import bench
    from engine.bench.render import format as fmt

    sources = set(bench.render_sources())
    templates = set(fmt.TEMPLATES_DIR.glob("*.j2"))
    assert len(templates) >= 6 and templates <= sources
    package = set((fmt.TEMPLATES_DIR.parent / "render").glob("*.py"))
    assert len(package) >= 6 and package <= sources


def test_verdict_sentences_quote_the_threshold_the_code_applies():
    from engine.bench.render import format as fmt
    from engine.bench.render import verdicts

    assert fmt._ENV.globals["within"] == f"{100 * verdicts.SAME_WITHIN:.0f} %"
    saved = fmt._ENV.globals["within"]
    fmt._ENV.globals["within"] = "7 %"  # a changed rule reaches every sentence quoting it
    fmt._ENV.cache.clear()  # a loaded template keeps the globals it was loaded with
    try:
        for macro, values in (("c02_note", {"hw": "hw"}), ("c09_note", {"hw": "hw", "gpu": False}),
                              ("c16_note", {"hw": "hw"})):
            text = fmt.say("verdicts.md.j2", macro, **values)
            assert "7 %" in text and "5 %" not in text, (macro, text)
    finally:
        fmt._ENV.globals["within"] = saved
        fmt._ENV.cache.clear()
