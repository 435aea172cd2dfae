"""Checks on the claims table, the ledger it feeds and the prose pages that cite it.

The claims table (claims.toml, read through engine.claims) must carry every
claim ID, each with an anchor on the ledger (docs/claims.md) and a link to the
page that tests it, where that anchor exists too; every link from the prose
pages to another docs page must point at a file that exists; the prose pages
may include only generated fragments that the build writes, and may not state
measured figures by hand.
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path

import pytest

from engine import claims, tabs
from engine.anchors import anchors_in, page_anchors  # shared with the audit test
from engine.bench.cases import CASES

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"
LEDGER = DOCS / "claims.md"

# The prose pages this test guards.
PROSE_PAGES = [
    "index.md",
    "origins.md",
    "community.md",
    "case-studies.md",
    "future.md",
    "choose.md",
    "takeaways.md",
    "claims.md",
]

# Claims whose verdict the build measures (the claims table's, those with cases): each needs its
# generated fragment.
MEASURED = [cid.upper() for cid in claims.measured_ids()]

# Generated fragments other parts of the build write. pymdownx.snippets runs
# with check_paths, so an include outside this list would fail the build.
ALLOWED_FRAGMENTS = {
    "docs/generated/bench/summary.md",
    "docs/generated/bench/glance.md",  # the home page's claims table
    "docs/generated/bench/decide.md",  # the home page's "What to choose in 2026"
    "docs/generated/bench/headline_step_time.md",  # the headline chart with its alt text and data link
    "docs/generated/codestats/ease_of_use.md",
    "docs/generated/build_info.md",
    "docs/generated/claims/ledger.md",  # the ledger table, from the claims table
    "docs/generated/claims/verdicts_speed.md",  # Speed's opening list of its claims' verdicts
    "docs/generated/claims/audit.md",  # the audit of the source articles, from audit.toml
    *(f"docs/generated/bench/verdict_{cid.lower()}.md" for cid in MEASURED),
}

LINK_RE = re.compile(r"\]\(([^)\s]+)\)")
INCLUDE_RE = re.compile(r'^\s*--8<--\s+"([^"]+)"\s*$', re.MULTILINE)


def ledger_rows(text: str) -> dict[str, str]:
    """Map claim ID -> its row in the ledger table."""
    rows = {}
    for line in text.splitlines():
        m = re.match(r"^\|\s*\[(C\d{2})\]\(#c\d{2}\)\s*\|", line)
        if m:
            rows[m.group(1)] = line
    return rows


def doc_links(text: str) -> list[tuple[str, str]]:
    """(page, fragment) for each relative link to a .md page."""
    out = []
    for target in LINK_RE.findall(text):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
            continue
        page, _, frag = target.partition("#")
        if page.endswith(".md"):
            out.append((page, frag))
    return out


def strip_non_prose(text: str) -> str:
    """Drop fenced code, include lines, link targets and inline code."""
    text = re.sub(r"^```.*?^```", "", text, flags=re.MULTILINE | re.DOTALL)
    text = INCLUDE_RE.sub("", text)
    text = re.sub(r"\]\([^)]*\)", "]", text)
    text = re.sub(r"`[^`]*`", "", text)
    return text


@pytest.fixture(scope="module")
def source_ids() -> list[str]:
    return [claim.id for claim in claims.load()]


@pytest.fixture(scope="module")
def ledger_text() -> str:
    assert LEDGER.is_file(), "docs/claims.md is missing"
    return LEDGER.read_text(encoding="utf-8")


def test_parsers_on_sample():
    """The helpers find what they should, and only that."""
    sample = (
        "| ID | Claim |\n|----|----|\n| C01 | a |\n| C02 | b |\n"
        "| [C03](#c03) | x | [Speed](speed.md#c03) |\n"
        '### C03 {#c03}\n<a id="top"></a>\n'
        "[ext](https://example.org/a.md) [local](graphs.md#c01) [self](#c03)\n"
        '--8<-- "docs/generated/build_info.md"\n'
    )
    assert list(ledger_rows(sample)) == ["C03"]
    assert {"c03", "top"} <= anchors_in(sample)
    assert doc_links(sample) == [("speed.md", "c03"), ("graphs.md", "c01")]
    assert INCLUDE_RE.findall(sample) == ["docs/generated/build_info.md"]
    assert "build_info" not in strip_non_prose(sample)
    assert page_anchors("## What the dates explain, and what they don't\n") == {
        "what-the-dates-explain-and-what-they-dont"
    }
    assert page_anchors("## This build {#this-build}\n") == {"this-build"}


def test_the_table_has_the_twenty_claims(source_ids):
    assert source_ids == [f"C{i:02d}" for i in range(1, 21)]


def test_the_ledger_includes_the_table_generated_from_the_claims_table(ledger_text):
    assert "docs/generated/claims/ledger.md" in INCLUDE_RE.findall(ledger_text)
    assert list(ledger_rows(claims.ledger_md())) == [claim.id for claim in claims.load()]


def test_every_claim_has_row_anchor_and_page_link(source_ids, ledger_text):
    rows = ledger_rows(claims.ledger_md())
    anchors = anchors_in(ledger_text)
    for cid in source_ids:
        assert cid in rows, f"{cid} has no row in the ledger table"
        assert cid.lower() in anchors, (
            f"{cid} has no {{#{cid.lower()}}} anchor in docs/claims.md"
        )
        links = doc_links(rows[cid])
        assert links, f"{cid}'s row links to no docs page"
        for page, anchor in links:
            assert (DOCS / page).is_file(), (
                f"{cid} links to docs/{page}, which does not exist"
            )
            # The page that tests a claim carries its anchor (speed.md#c07).
            assert anchor == cid.lower(), f"{cid} links to {page}#{anchor}, not to its own anchor"
            assert anchor in page_anchors((DOCS / page).read_text(encoding="utf-8")), (
                f"{cid} links to {page}#{anchor}, which that page does not define"
            )


def test_every_case_the_table_names_exists_and_measured_claims_have_titles():
    for claim in claims.load():
        assert set(claim.cases) <= set(CASES), f"{claim.id} names unknown cases {set(claim.cases) - set(CASES)}"
        assert bool(claim.cases) <= bool(claim.title), f"{claim.id} is measured but has no title"
    assert set(MEASURED) == {"C02", "C03", "C07", "C08", "C09", "C16", "C19"}  # what the verdicts render


def test_a_bad_claims_table_is_refused():
    good = 'id = "C01"\nclaim = "a"\nexperiment = "b"\nwhere = "c"\nverdict = "d"\nreading = "r"\nsource = "e"\n'
    assert [c.id for c in claims._load("[[claim]]\n" + good, "t")] == ["C01"]
    with pytest.raises(ValueError, match="unknown field"):
        claims._load("[[claim]]\n" + good + 'case = ["x"]\n', "t")
    with pytest.raises(ValueError, match="has no title"):
        claims._load("[[claim]]\n" + good + 'cases = ["x"]\n', "t")
    with pytest.raises(ValueError, match="its verdict is generated"):
        claims._load("[[claim]]\n" + good + 'cases = ["x"]\ntitle = "t"\n', "t")
    with pytest.raises(ValueError, match="missing \\['reading'\\]"):
        claims._load("[[claim]]\n" + good.replace('reading = "r"\n', ""), "t")
    with pytest.raises(ValueError, match="names a method, not a verdict"):
        claims._load("[[claim]]\n" + good.replace('verdict = "d"', 'verdict = "Shown: [below](#c01)"'), "t")
    with pytest.raises(ValueError, match="appears twice"):
        claims._load(("[[claim]]\n" + good) * 2, "t")


def test_ledger_paraphrases_not_copies():
    """The ledger's claim text is reworded, not pasted from the source articles' claims list."""
    too_close = {}
    for claim in claims.load():
        ratio = difflib.SequenceMatcher(None, claim.source.lower(), claim.claim.lower()).ratio()
        if ratio >= 0.8:
            too_close[claim.id] = round(ratio, 2)
    assert not too_close, f"claim text too close to the source's wording (similarity): {too_close}"


def test_measured_claims_include_their_verdict_fragment(ledger_text):
    sections = re.split(r"^### ", ledger_text, flags=re.MULTILINE)
    by_id = {s[:3]: s for s in sections if re.match(r"C\d{2}", s)}
    for cid in MEASURED:
        fragment = f"docs/generated/bench/verdict_{cid.lower()}.md"
        assert cid in by_id, f"no ### {cid} section"
        assert fragment in INCLUDE_RE.findall(by_id[cid]), (
            f"### {cid} does not include {fragment}"
        )
    for cid, section in by_id.items():
        if cid in MEASURED:
            continue
        assert f"<!-- md:verdict {cid} -->" in section, f"### {cid} does not show its verdict (engine.claims)"


@pytest.mark.parametrize("page", PROSE_PAGES)
def test_prose_page_links_exist(page):
    path = DOCS / page
    if not path.is_file():
        pytest.fail(f"docs/{page} is missing")
    text = path.read_text(encoding="utf-8")
    for target, _anchor in doc_links(text):
        assert (DOCS / target).is_file(), (
            f"docs/{page} links to docs/{target}, which does not exist"
        )
    own = page_anchors(text)
    for target in re.findall(r"\]\(#([^)\s]+)\)", text):
        assert target in own, (
            f"docs/{page} links to #{target}, which it does not define"
        )


@pytest.mark.parametrize("page", PROSE_PAGES)
def test_linked_anchors_exist_on_target_pages(page):
    """A link like speed.md#c07 needs a c07 anchor on speed.md."""
    text = (DOCS / page).read_text(encoding="utf-8")
    missing = []
    for target, frag in doc_links(text):
        target_path = DOCS / target
        if (
            frag
            and target_path.is_file()
            and frag not in page_anchors(target_path.read_text(encoding="utf-8"))
        ):
            missing.append(f"{target}#{frag}")
    assert not missing, (
        f"docs/{page} links to anchors that do not exist: {sorted(set(missing))}"
    )


@pytest.mark.parametrize("page", PROSE_PAGES)
def test_prose_includes_only_known_fragments(page):
    text = (DOCS / page).read_text(encoding="utf-8")
    for inc in INCLUDE_RE.findall(text):
        assert inc in ALLOWED_FRAGMENTS, (
            f"docs/{page} includes {inc}, which the build does not write"
        )


# Figures a reader could mistake for a measurement of this build.
MEASURED_LOOKING = re.compile(
    r"\b\d+(?:[.,]\d+)?\s*(?:%|percent|ms|µs|us|s/step|MB|GB|MiB|GiB|GFLOP/?s?|TFLOP/?s?|"
    r"samples/s|steps/s|[x×]\s+(?:faster|slower|more|less))",
    flags=re.IGNORECASE,
)


@pytest.mark.parametrize("page", PROSE_PAGES)
def test_no_typed_measurements(page):
    text = strip_non_prose((DOCS / page).read_text(encoding="utf-8"))
    hits = MEASURED_LOOKING.findall(text)
    assert not hits, (
        f"docs/{page} types figures by hand: {hits}; include a generated fragment instead"
    )


def test_typed_measurement_detector_catches_examples():
    assert MEASURED_LOOKING.search("PyTorch took 12.5 ms per step")
    assert MEASURED_LOOKING.search("about 30% faster")
    assert MEASURED_LOOKING.search("TF is 1.4x faster")
    assert not MEASURED_LOOKING.search("TensorFlow 2.0 (2019) and PyTorch 2.13")


def test_speed_statements_link_the_one_copy_of_their_evidence():
    """Pages that talk about speed, memory or code size link the generated evidence where it stands."""
    for page in ["choose.md", "takeaways.md"]:
        links = set(doc_links((DOCS / page).read_text(encoding="utf-8")))
        assert ("speed.md", "findings") in links, f"docs/{page} does not link Speed's findings"
        assert ("ease-of-use.md", "code-counts") in links, f"docs/{page} does not link the code counts"


# Generated blocks that deliberately stand on several pages: each claim's verdict fragment is the
# claim's one verdict, which every page that speaks of the claim shows (issue 27, section 2).
SHARED_FRAGMENTS = {f"docs/generated/bench/verdict_{cid.lower()}.md" for cid in MEASURED}


def test_a_generated_block_stands_on_one_page_and_the_others_link_to_it():
    """The findings, the code counts, the build's machine and the headline chart appear once: a reader
    who meets the same block on three pages cannot tell which copy to trust, or that they are copies."""
    pages: dict[str, list[str]] = {}
    for path in sorted(DOCS.glob("*.md")):
        for include in INCLUDE_RE.findall(tabs.expand(path.read_text(encoding="utf-8"), check=False)):
            if include.startswith("docs/generated/") and include not in SHARED_FRAGMENTS:
                pages.setdefault(include, []).append(path.name)
    repeated = {include: names for include, names in pages.items() if len(names) > 1}
    assert not repeated, f"generated blocks on more than one page (keep one, link to it): {repeated}"


def test_home_links_every_section():
    text = (DOCS / "index.md").read_text(encoding="utf-8")
    linked = {page for page, _ in doc_links(text)}
    sections = {
        "origins.md",
        "graphs.md",
        "ease-of-use.md",
        "debugging.md",
        "speed.md",
        "method.md",
        "scalability.md",
        "deployment.md",
        "ecosystem.md",
        "community.md",
        "case-studies.md",
        "future.md",
        "choose.md",
        "takeaways.md",
        "claims.md",
        "notebooks.md",
        "contributing.md",
    }
    assert sections <= linked, f"Home does not link {sorted(sections - linked)}"
    assert "docs/generated/build_info.md" in INCLUDE_RE.findall(text)
