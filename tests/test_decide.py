"""Home's "What to choose in 2026": generated from the claims table and the stored results."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine import claims
from engine.bench import fixtures, render, store

ROOT = Path(__file__).resolve().parents[1]


def _lines(out: Path) -> dict[str, str]:
    text = (out / "decide.md").read_text()
    return {line.split(":**")[0].removeprefix("- **"): line for line in text.splitlines() if line.startswith("- **")}


def _scale(results: Path, machine: str, framework: str, factor: float) -> None:
    """Every step of one framework in the stored headline result takes ``factor`` times as long."""
    path = store.result_path("headline", machine, results)
    data = json.loads(path.read_text())
    for run in data["runs"]:
        if run["framework"] == framework:
            run["result"]["samples_ns"] = [s * factor for s in run["result"]["samples_ns"]]
    store.save(data, path)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("decide")
    machine = fixtures.write_all(tmp / "results")
    render.render_all(tmp / "results", tmp / "before")
    return tmp, machine


def test_a_changed_result_changes_the_line_it_decides_and_only_that(rendered):
    tmp_path, machine = rendered
    results = tmp_path / "results"
    before = _lines(tmp_path / "before")
    assert list(before) == [c.situation for c in claims.choices()]
    speed = next(c.situation for c in claims.choices() if c.decide == "speed")
    winner = "PyTorch" if before[speed].split(":** ")[1].startswith("PyTorch") else "TensorFlow"
    loser = {"PyTorch": "tf", "TensorFlow": "torch"}[winner]
    _scale(results, machine, {"tf": "torch", "torch": "tf"}[loser], 4.0)  # the faster side becomes 4x slower
    render.render_all(results, tmp_path / "after")
    after = _lines(tmp_path / "after")
    other = {"PyTorch": "TensorFlow", "TensorFlow": "PyTorch"}[winner]
    assert after[speed].split(":** ")[1].startswith(f"{other}, which was faster"), after[speed]
    assert {k: v for k, v in after.items() if k != speed} == {k: v for k, v in before.items() if k != speed}


def test_each_line_says_what_it_rests_on_and_shows_the_claims_badges(rendered):
    lines = _lines(rendered[0] / "before")
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
