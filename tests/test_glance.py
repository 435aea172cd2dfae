"""The home page's claims table: one row per ledger claim, verdicts and deciding figures from the results."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from common import tiers
from engine.bench import fixtures, glance, render, store
from engine.bench import summarize as S
from engine.bench.render import verdicts

ROOT = Path(__file__).resolve().parents[1]


def _render(tmp_path, slow_compiled=False):
    results = tmp_path / "results"
    machine = fixtures.write_all(results)
    if slow_compiled:  # every compiled mode 3x slower than eager: C03 must flip
        path = store.result_path("headline", machine, results)
        data = json.loads(path.read_text())
        for run in data["runs"]:
            if tiers.parse(run["mode"]).execution != "eager":
                run["result"]["samples_ns"] = [s * 3 for s in run["result"]["samples_ns"]]
        store.save(data, path)
    render.render_all(results, tmp_path / "out")
    return results, machine, tmp_path / "out"


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    return _render(tmp_path_factory.mktemp("glance"))


def _rows(text):
    return {m.group(1): [c.strip() for c in m.group(2).split("|")]
            for m in re.finditer(r"^\| \[(C\d\d)\]\(claims\.md#c\d\d\) \|(.*)\|$", text, re.M)}


def test_one_row_per_ledger_claim_with_its_wording_and_links(rendered):
    _, _, out = rendered
    rows = _rows((out / "glance.md").read_text())
    ledger = glance.ledger()
    assert len(ledger) == 20 and list(rows) == [r["id"] for r in ledger]
    for entry in ledger:
        claim, badge, _figure, where = rows[entry["id"]]
        assert claim == entry["claim"] and where == entry["where"]
        assert re.fullmatch(r'<span class="verdict verdict--[a-z]+" data-claim="C\d\d">[^<]+</span>'
                            r'(<br><span class="glance-machines( glance-machines--differs)?">[^<]+</span>)?', badge)


def test_measured_verdicts_are_the_generated_ones(rendered):
    _, _, out = rendered
    rows = _rows((out / "glance.md").read_text())
    for claim in render.MEASURED_CLAIMS:
        word = glance.verdict_word((out / f"verdict_{claim}.md").read_text())
        assert word and f">{word}</span>" in rows[claim.upper()][1], claim


def test_deciding_figure_is_computed_from_the_results(rendered):
    results, machine, out = rendered
    rows = _rows((out / "glance.md").read_text())
    head = S.train_rows(store.load(store.result_path("headline", machine, results)))
    a = S.best(head, "torch", batch_size=128, precision="fp32")
    b = S.best(head, "tf", batch_size=128, precision="fp32")
    r = S.compare(a, b)
    assert f"{r.ratio:.2f}× TensorFlow’s time ({r.low:.2f}–{r.high:.2f})" in rows["C07"][2]
    said = "no significant difference" if not r.significant else "PyTorch faster" if r.ratio < 1 else "PyTorch slower"
    assert f"batch 128, {said}: PyTorch" in rows["C07"][2]  # which side is faster, in words
    assert rows["C07"][2].startswith("CPU only:")  # a GPU claim shown from CPU results says so
    for claim in render.MEASURED_CLAIMS:
        assert glance.NONE not in rows[claim.upper()][2], claim
    # An opinion has no figure; the mark lets a phone drop the empty line.
    assert rows["C20"][2] == f'<span class="glance-none">{glance.NONE}</span>'


@pytest.fixture(scope="module")
def slow_rendered(tmp_path_factory):
    """The fixture results with every compiled mode 3x slower than eager."""
    return _render(tmp_path_factory.mktemp("slow_compiled"), slow_compiled=True)


def test_badge_follows_the_numbers(slow_rendered, rendered):
    before = _rows((rendered[2] / "glance.md").read_text())["C03"][1]
    after = _rows((slow_rendered[2] / "glance.md").read_text())["C03"][1]
    assert "verdict--supported" in before
    assert "verdict--refuted" in after and ">Not supported<" in after


def test_home_opens_with_the_decision_and_the_table_and_links_the_chart_where_it_stands():
    """The headline chart stands once, at the top of Speed beside its findings; Home links to it."""
    text = (ROOT / "docs" / "index.md").read_text()
    decide_at = text.index('--8<-- "docs/generated/bench/decide.md"')
    glance_at = text.index('--8<-- "docs/generated/bench/glance.md"')
    assert decide_at < glance_at < text.index("](speed.md#findings)") < text.index("## What makes this guide different")
    speed = (ROOT / "docs" / "speed.md").read_text()
    assert (speed.index("## Verdicts {#verdicts}") < speed.index('--8<-- "docs/generated/bench/summary.md"')
            < speed.index('--8<-- "docs/generated/bench/headline_step_time.md"') < speed.index("## The workload"))


def test_measured_summary_opens_with_at_most_five_findings_and_folds_the_rest(rendered):
    text = (rendered[2] / "summary.md").read_text()
    before_fold = text.split("??? ")[0]
    findings = [line for line in before_fold.splitlines() if line.startswith("- ")]
    assert findings[0].startswith("- Hardware:")
    assert 3 <= len(findings) - 1 <= 5
    if "??? " in text:  # whatever is folded is still there, indented inside the collapsible block
        folded = text.split("??? ")[1]
        assert all(line.startswith("    - ") for line in folded.splitlines()[2:] if line.strip())


def test_gpu_claims_take_their_figure_from_the_gpu_results_their_verdict_is_decided_on(tmp_path):
    # A CPU builder that also holds a GPU machine's results: the GPU claims' verdicts are
    # decided on the GPU results, so the figure beside each verdict must come from them too.
    results = tmp_path / "results"
    fixtures.write_all(results)
    gpu_machine = "cuda-some-gpu-8c-12345678"
    for case in ("headline", "ceiling"):
        data = fixtures.synthetic_result(case, gpu_machine, seed=7)
        data["manifest"]["device"] = "cuda"
        for run in data["runs"]:
            if run.get("ok", True) and "result" in run:
                run["result"]["device_used"] = "cuda:0"
                for sample in ("samples_ns",):  # unlike the CPU fixture's figures
                    if sample in run["result"]:
                        run["result"][sample] = [s // 3 for s in run["result"][sample]]
        store.save(data, store.result_path(case, gpu_machine, results))
    render.render_all(results, tmp_path / "out")
    rows = _rows((tmp_path / "out" / "glance.md").read_text())
    gpu_res = {case: store.load(store.result_path(case, gpu_machine, results)) for case in ("headline", "ceiling")}
    for claim in ("C07", "C08", "C19"):
        figure = rows[claim][2]
        assert not figure.startswith("CPU only:"), (claim, figure)
        assert figure == glance.FIGURES[claim.lower()](gpu_res), (claim, figure)


def test_compiled_slower_than_eager_says_so_and_where_it_is_explained(slow_rendered, rendered):
    """The slow-compiled fixture: Home's C03 figure says "compiled slower" in words, and both it and the
    verdict's note link the op profile (where it measured both tiers) or say it is not explained yet."""
    before = _rows((rendered[2] / "glance.md").read_text())["C03"][2]
    assert "compiled slower" not in before and "not explained yet" not in before
    results, machine, out = slow_rendered
    figure = _rows((out / "glance.md").read_text())["C03"][2]
    assert "compiled slower: compiled" in figure
    res = store.load_all(results)[machine]
    slower = verdicts.slower_compiled(res)
    assert slower, "the fixture's compiled tiers are 3x slower: some must be found"
    note = (out / "verdict_c03.md").read_text()
    for s in slower:
        expected = "[op profile](speed.md#why)" if s["profiled"] else "not explained yet"
        assert f"{s['compiled']} was slower than {s['eager']}" in note and expected in note
        assert ("[why: op profile](speed.md#why)" if s["profiled"] else "(not explained yet)") in figure


def test_a_held_back_difference_names_the_test_that_held_it_back():
    from engine.bench import stats
    from engine.bench.render.tables import outcome, outcome_cell

    held = stats.Ratio(0.9, 0.85, 0.95, p_value=0.2, band=0.01)  # interval excludes 1.0, rank test does not agree
    assert outcome(held) == "no significant difference"
    assert outcome_cell(held) == "no significant difference (the interval excludes 1.0; held back: rank test p = 0.20)"
    unclear = stats.Ratio(0.98, 0.9, 1.05, p_value=0.5)  # the interval includes 1.0: nothing to explain
    assert outcome_cell(unclear) == "no significant difference"
    assert outcome_cell(stats.Ratio(0.5, 0.45, 0.55, p_value=0.001)) == "PyTorch faster"
