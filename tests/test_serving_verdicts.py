"""No page gives a verdict on a server that never ran here; the 2026 serving table says what ran and what did not.

A model server of either side is not started by the build (TF Serving is a
separate binary, TorchServe is archived), so a sentence ranking the two sides'
servers ("the gap has widened") has nothing under it. The guard below fails if
such a phrase comes back on any page; it was seen failing once on the planted
sentence that used to close Deployment's serving section.

The table at ``deployment.md#serving-2026`` lists each stack with its side; a
row run here links to the measurement, a row not run states a dated fact from
``facts.toml`` (its mark), never a figure.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from engine import facts
from engine.anchors import page_anchors

DOCS = Path(__file__).resolve().parents[1] / "docs"
PAGES = sorted(DOCS.glob("*.md"))

# Phrases that rank servers nobody ran here; lower case, matched anywhere in a page's prose.
OVERREACH = [
    r"\bgap (?:has |is )?widen",
    r"\bmore strongly than the articles",
    r"\bthe articles' picture still holds",
    r"\b(?:tf serving|tensorflow serving|torchserve|triton|kserve|vllm) (?:is|was) (?:faster|slower|better)\b",
    r"\bserves (?:faster|better) than\b",
]


def overreach(text: str) -> list[str]:
    """Each overreaching phrase in a page's text, with a little context."""
    flat = " ".join(text.lower().split())
    return [flat[max(m.start() - 40, 0):m.end() + 20] for pattern in OVERREACH for m in re.finditer(pattern, flat)]


def test_the_guard_catches_the_old_sentence():
    assert overreach("So on serving, the articles' picture still holds, and the gap has widened:\nTF has a server.")
    assert overreach("TorchServe is slower than TF Serving.")
    assert overreach("TF Serving is a C++ server for SavedModels; it is not run here.") == []  # a fact, not a ranking


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_no_page_ranks_servers_that_never_ran(page):
    assert overreach(page.read_text(encoding="utf-8")) == []


def serving_rows() -> dict[str, list[str]]:
    text = (DOCS / "deployment.md").read_text(encoding="utf-8")
    section = text.split("{#serving-2026}", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and len(cells) == 5 and cells[0] not in ("Stack", "---"):
            rows[cells[0]] = cells
    return rows


def test_the_2026_table_names_both_sides_stacks():
    rows = serving_rows()
    for stack in ("TorchServe", "vLLM", "Triton Inference Server", "KServe", "ONNX Runtime", "ExecuTorch",
                  "TensorFlow Serving", "LiteRT", "TensorFlow.js"):
        assert stack in rows, f"the serving table has no {stack} row"


def test_each_row_links_its_measurement_or_states_a_dated_fact():
    anchors = page_anchors((DOCS / "deployment.md").read_text(encoding="utf-8"))
    known = facts.by_id()
    for stack, (_, _side, _use, run, state) in serving_rows().items():
        assert run.startswith(("[yes](#", "no")), f"{stack}: 'Run here?' says {run!r}"
        if run.startswith("[yes]"):
            assert re.match(r"\[yes\]\(#([\w-]+)\)", run).group(1) in anchors, f"{stack}: its link is dangling"
        marks = facts.MARK_RE.findall(state)
        assert marks and set(marks) <= set(known), f"{stack}: its state names no recorded fact"
        assert not re.search(r"\d+(?:\.\d+)?\s*(?:ms|s|MB|KB|%)\b", state), f"{stack}: a figure typed in the table"
