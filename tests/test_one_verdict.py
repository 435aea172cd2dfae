"""One verdict per claim, everywhere; one statement of each recorded fact.

Every page is read as the build shows it: the generated fragments it includes
(rendered here from fixture results), the ledger table, and the verdict and fact
marks the hook expands. Two kinds of statement name a claim's verdict: a badge
(``data-claim="C05"``) and a bold verdict lead inside the claim's own section
(a heading with ``{#c05}``). Every one must say what the claims table or the
generated verdict says; a sentence that restates a fact of facts.toml must agree
with it.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from engine import claims, facts
from engine.bench import fixtures, render

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PAGES = sorted(p.name for p in DOCS.glob("*.md"))
INCLUDE_RE = re.compile(r'^\s*--8<--\s+"docs/generated/([^"]+)"\s*$', re.MULTILINE)
BADGE_RE = re.compile(r'data-claim="(C\d\d)">([^<]+)<')
HEADING_RE = re.compile(r"^(#{1,6}) .*?\{#(c\d\d)\}|^(#{1,6}) ", re.MULTILINE)
# A bold phrase that reads as a verdict: a verdict word of the claims table, or one a writer might type.
LEAD_RE = re.compile(r"\*\*((?:Verdict:\s*)?(?:Supported|Not supported|Outdated|Partly|True|Depends|Shown|Fact|"
                     r"Opinion|Not measured|Not decided)[^*]*)\*\*", re.IGNORECASE)
# The pages that must show a claim's verdict wherever they name it, and the claims' own pages.
MUST_SHOW = {"claims.md", "index.md"}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("one_verdict")
    fixtures.write_all(tmp / "results")
    render.render_all(tmp / "results", tmp / "bench")
    table = claims.verdict_table(claims.read_generated(tmp / "bench"))
    fragments = {"claims/ledger.md": claims.ledger_md(table=table)}
    fragments.update({f"bench/{p.name}": p.read_text() for p in (tmp / "bench").glob("*.md")})
    return table, fragments


def as_built(text: str, table, fragments) -> str:
    """The page as the build shows it: generated includes in, verdict and fact marks expanded."""
    text = INCLUDE_RE.sub(lambda m: fragments.get(m.group(1), ""), text)
    return facts.expand_marks(claims.expand_marks(text, table))


def sections(text: str) -> list[tuple[str, str]]:
    """(claim ID, body) for each heading with a claim anchor, up to the next heading of its level or above."""
    heads = [(m.start(), len(m.group(1) or m.group(3)), m.group(2)) for m in HEADING_RE.finditer(text)]
    out = []
    for i, (start, level, cid) in enumerate(heads):
        if not cid:
            continue
        end = next((s for s, lv, _ in heads[i + 1:] if lv <= level), len(text))
        out.append((cid.upper(), text[start:end]))
    return out


def statements(text: str) -> list[tuple[str, str]]:
    """Every (claim ID, verdict word) a page states: its badges, and bold verdict leads in claim sections."""
    found = BADGE_RE.findall(text)
    for cid, body in sections(text):
        body = re.sub(r"<span[^>]*>[^<]*</span>", "", body)  # a badge of another claim is counted above
        for lead in LEAD_RE.findall(body):
            word = re.sub(r"^verdict:\s*", "", lead.strip(), flags=re.IGNORECASE).rstrip(" .:;,")
            found.append((cid, word))
    return found


def disagreements(pages: dict[str, str], table) -> list[str]:
    """Each statement that differs from the one verdict, naming the page."""
    bad = []
    for name, text in pages.items():
        for cid, word in statements(text):
            canonical = table[cid].word
            if word.lower() != canonical.lower():
                bad.append(f"{name}: {cid} says {word!r}, the verdict is {canonical!r}")
    return bad


def built_pages(table, fragments) -> dict[str, str]:
    return {name: as_built((DOCS / name).read_text(encoding="utf-8"), table, fragments) for name in PAGES}


def test_every_page_gives_each_claim_its_one_verdict(built):
    table, fragments = built
    assert disagreements(built_pages(table, fragments), table) == []


def test_home_the_ledger_and_each_claims_own_page_show_its_verdict(built):
    table, fragments = built
    pages = built_pages(table, fragments)
    for claim in claims.load():
        shown = {name for name, text in pages.items() if (claim.id, table[claim.id].word) in statements(text)}
        own = {m.group(1).split("#")[0] for m in re.finditer(r"\(([a-z-]+\.md#c\d\d)\)", claim.where)}
        missing = (MUST_SHOW | own) - shown
        assert not missing, f"{claim.id}: no verdict on {sorted(missing)}"
    for name in ("choose.md", "takeaways.md"):  # each claim they link shows its badge there
        linked = {c.upper() for c in re.findall(r"\]\([a-z-]+\.md#(c\d\d)\)", (DOCS / name).read_text())}
        badged = {cid for cid, _ in BADGE_RE.findall(pages[name])}
        assert linked <= badged, f"{name}: {sorted(linked - badged)} linked without their verdict"


def test_the_checker_catches_a_typed_verdict_and_a_wrong_badge(built):
    table, fragments = built
    page = as_built("## Debugging {#c05}\n\n**Supported.** Debugging is fine.\n", table, fragments)
    assert disagreements({"x.md": page}, table) == ["x.md: C05 says 'Supported', the verdict is 'Outdated as stated'"]
    wrong = claims.Verdict("C05", "True as stated", "").badge()
    assert disagreements({"y.md": wrong}, table) == ["y.md: C05 says 'True as stated', the verdict is 'Outdated as stated'"]
    assert disagreements({"z.md": as_built("## D {#c05}\n\n<!-- md:verdict C05 -->\n", table, fragments)}, table) == []


def test_no_verdict_is_a_method():
    assert not [c.id for c in claims.load() if not c.cases and c.verdict.lower().startswith(claims.NOT_VERDICTS)]


def test_gpu_claims_in_the_ledger_say_a_gpu_is_missing_on_cpu_results(built):
    """C07, C08 and C19 are about GPUs: the fixture's CPU results alone must not decide them in the ledger."""
    table, fragments = built
    rows = {m.group(1): m.group(2) for m in re.finditer(r"^\| \[(C\d\d)\].*\| ([^|]+) \|$", fragments["claims/ledger.md"],
                                                        re.MULTILINE)}
    for cid in ("C07", "C08", "C19"):
        assert "Not measured on a GPU" in rows[cid], (cid, rows[cid])


def test_no_page_restates_a_recorded_fact_differently(built):
    table, fragments = built
    found = {name: facts.contradictions(text) for name, text in built_pages(table, fragments).items()}
    assert {name: c for name, c in found.items() if c} == {}


def test_the_fact_checker_catches_a_restated_status_run_and_version():
    pin = facts.by_id()["executorch.version"].current
    assert facts.contradictions(f"Deployment runs ExecuTorch {pin}.") == []
    assert len(facts.contradictions("ExecuTorch 0.9 runs here.")) == 1
    assert len(facts.contradictions("ExecuTorch is a separate install and is not run.")) == 1
    assert len(facts.contradictions("ExecuTorch is still an alpha release.")) == 1
    assert facts.contradictions(facts.expand_marks("ExecuTorch: <!-- md:fact executorch.status -->.")) == []
