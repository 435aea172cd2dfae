"""Home's "What to choose in 2026": generated from the claims table and the stored results."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from engine import claims
from engine.bench import decide, fixtures, render, store
from engine.bench.render.verdicts import verdicts_md

ROOT = Path(__file__).resolve().parents[1]


def _lines(text: str) -> dict[str, str]:
    return {line.split(":**")[0].removeprefix("- **"): line for line in text.splitlines() if line.startswith("- **")}


def _scale(results: Path, machine: str, framework: str, factor: float) -> None:
    """Every step of one framework in the stored headline result takes ``factor`` times as long."""
    path = store.result_path("headline", machine, results)
    data = json.loads(path.read_text())
    for run in data["runs"]:
        if run["framework"] == framework:
            run["result"]["samples_ns"] = [s * factor for s in run["result"]["samples_ns"]]
    store.save(data, path)


def _block(results: Path, machine: str) -> str:
    """The block as render_all writes it, from the stored results (without drawing every chart)."""
    all_results = store.load_all(results)
    res = all_results[machine]
    return decide.decide_md(res, claims.verdict_table(verdicts_md(res, all_results)))


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("decide")
    machine = fixtures.write_all(tmp / "results")
    return tmp, machine


def test_render_all_writes_the_block(rendered, tmp_path):
    tmp, machine = rendered
    render.render_all(tmp / "results", tmp_path / "out")
    assert (tmp_path / "out" / "decide.md").read_text().endswith(_block(tmp / "results", machine))


def test_a_changed_result_changes_the_line_it_decides_and_only_that(rendered, tmp_path):
    machine = rendered[1]
    results = tmp_path / "results"
    shutil.copytree(rendered[0] / "results", results)  # the shared results stay as the fixture wrote them
    before = _lines(_block(results, machine))
    assert list(before) == [c.situation for c in claims.choices()]
    speed = next(c.situation for c in claims.choices() if c.decide == "speed")
    winner = "PyTorch" if before[speed].split(":** ")[1].startswith("PyTorch") else "TensorFlow"
    loser = {"PyTorch": "tf", "TensorFlow": "torch"}[winner]
    _scale(results, machine, {"tf": "torch", "torch": "tf"}[loser], 4.0)  # the faster side becomes 4x slower
    after = _lines(_block(results, machine))
    other = {"PyTorch": "TensorFlow", "TensorFlow": "PyTorch"}[winner]
    assert after[speed].split(":** ")[1].startswith(f"{other}, which was faster"), after[speed]
    assert {k: v for k, v in after.items() if k != speed} == {k: v for k, v in before.items() if k != speed}


def test_each_line_says_what_it_rests_on_and_shows_the_claims_badges(rendered):
    lines = _lines(_block(rendered[0] / "results", rendered[1]))
    for choice in claims.choices():
        line = lines[choice.situation]
        for cid in choice.claims:
            assert f'data-claim="{cid}"' in line
        assert "*Evidence: [" in line and f"]({choice.link})*" in line
        if choice.decide:  # the fixture machine is a 2-core CPU: the block must say so
            assert "measured here on a CPU only" in line and "2 cores" in line
        if not choice.claims:
            assert "[judgement]" in line


def test_home_opens_with_the_block():
    text = (ROOT / "docs" / "index.md").read_text()
    assert text.index('--8<-- "docs/generated/bench/decide.md"') < text.index('--8<-- "docs/generated/bench/glance.md"')


def test_a_quick_profile_speed_line_says_not_decided_not_no_difference():
    # One process per configuration (the quick profile a first build measures): the rule cannot decide.
    line = decide.decide_speed({"headline": fixtures.synthetic_result("headline", profile="quick", repeats=1)})
    assert line.startswith("Not decided here: 1 process(es) on one side"), line
    assert "no significant difference" not in line
