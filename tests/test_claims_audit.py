"""The audit of the source articles (audit.toml, engine.audit): complete, anchored, and shown on the claims page.

Every statement points at an anchor that exists on its page, carries one of the
three statuses, and an uncovered one says why; the claims page includes the
generated section that lists the counts and each uncovered statement. The
checks were each seen failing once, on a planted bug (a dangling anchor, a
fourth status, an uncovered statement without a reason, a claims page without
the include).
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path

import pytest

from engine import audit
from engine.anchors import page_anchors

ROOT = Path(__file__).resolve().parents[1]
CLAIMS_PAGE = ROOT / "docs" / "claims.md"
SEEDS = Path("/work/shared/seeds")  # the articles themselves, where this machine has them


def test_every_anchor_an_entry_names_exists_on_its_page():
    assert audit.dangling() == []


def test_every_status_is_one_of_three_and_every_uncovered_entry_says_why():
    statements = audit.load()
    assert len(statements) >= 60  # both articles, statement by statement
    assert {s.status for s in statements} <= set(audit.STATUSES)
    assert [s.id for s in statements if s.status == "uncovered" and not s.reason.strip()] == []
    assert [s.id for s in statements if s.status != "uncovered" and not s.where] == []


def test_every_claim_of_the_ledger_is_among_the_audited_statements():
    from engine import claims

    named = {s.claim for s in audit.load() if s.claim}
    assert {c.id for c in claims.load()} - named == set()


def test_a_bad_row_is_refused():
    good = '[[statement]]\nid = "A01"\narticle = "000"\nstatement = "s"\n'
    with pytest.raises(ValueError, match="is not one of"):
        audit._load(good + 'status = "partly"\nwhere = "x.md#y"\n', "t")
    with pytest.raises(ValueError, match="needs a reason"):
        audit._load(good + 'status = "uncovered"\n', "t")
    with pytest.raises(ValueError, match="needs `where`"):
        audit._load(good + 'status = "prose"\n', "t")


def test_the_checker_catches_a_dangling_anchor():
    planted = audit.Statement("A99", "000", "s", "prose", where="speed.md#no-such-anchor")
    assert audit.dangling([planted]) == ["A99: speed.md#no-such-anchor"]


def test_the_claims_page_renders_the_audit_with_every_uncovered_statement():
    text = CLAIMS_PAGE.read_text(encoding="utf-8")
    assert "audit" in page_anchors(text)
    audit_section = text.split("{#audit}", 1)[1].split("\n## ", 1)[0]
    assert '--8<-- "docs/generated/claims/audit.md"' in audit_section
    rendered = audit.audit_md()
    counts = audit.counts()
    for status, n in counts.items():
        assert f"| {status} | {n} |" in rendered
    for s in audit.load():
        assert (f"| {s.id} |" in rendered) == (s.status == "uncovered"), s.id
        if s.status == "uncovered":
            assert s.reason in rendered


def test_the_build_step_writes_the_audit_fragment(tmp_path, monkeypatch):
    import logging

    from engine import claims

    monkeypatch.setattr(claims, "LEDGER_OUTPUT", tmp_path / "ledger.md")
    monkeypatch.setattr(audit, "OUTPUT", tmp_path / "audit.md")
    claims.refresh("none", logging.getLogger("test"))
    assert (tmp_path / "audit.md").read_text(encoding="utf-8") == audit.audit_md()


@pytest.mark.skipif(not SEEDS.is_dir(), reason="the source articles are not on this machine")
def test_statements_are_paraphrased_not_copied():
    sentences = [s.strip().lower() for path in SEEDS.glob("0*.txt")
                 for s in re.split(r"(?<=[.!?])\s+", path.read_text(encoding="utf-8")) if len(s.strip()) > 30]
    too_close = {}
    for s in audit.load():
        best = max(difflib.SequenceMatcher(None, s.statement.lower(), sentence).ratio() for sentence in sentences)
        if best >= 0.8:
            too_close[s.id] = round(best, 2)
    assert too_close == {}


# The dated facts of facts.toml are part of the same audit: each names where it was checked and when.
UNCHECKED = "not checked against a dated source"


def test_every_dated_fact_names_its_source_and_says_as_of_or_unchecked():
    from engine import facts

    for fact in facts.load():
        assert fact.source.strip() and fact.as_of.strip(), f"{fact.id}: no source or as_of"
        if fact.as_of == "every build":  # read from this repository at build time (a pin, a run)
            continue
        shown = fact.render()
        assert "as of" in shown or UNCHECKED in shown, f"{fact.id}: the page would not say when it was checked"
        if fact.as_of == "undated" or UNCHECKED in fact.source:
            assert UNCHECKED in shown, f"{fact.id}: its source is unchecked but the page would not say so"
