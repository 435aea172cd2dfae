"""The glossary on How we measure: every term defined there, and its first use on a page linked to it."""

from __future__ import annotations

import re
from pathlib import Path

import markdown

from engine import glossary

ROOT = Path(__file__).resolve().parents[1]
METHOD = (ROOT / "docs" / "method.md").read_text(encoding="utf-8")
EXTENSIONS = ["tables", "attr_list", "def_list"]


def test_every_term_is_defined_in_the_glossary_section():
    section = METHOD.split("## Glossary {#glossary}", 1)
    assert len(section) == 2, "method.md has no Glossary section"
    body = section[1].split("\n## ", 1)[0]
    defined = set(re.findall(r"\{ #(g-[a-z-]+) \}", body))
    assert set(glossary.TERMS) <= defined, f"not defined: {sorted(set(glossary.TERMS) - defined)}"
    html = markdown.markdown(body, extensions=EXTENSIONS)
    for anchor in glossary.TERMS:  # each a definition term with its anchor, and a definition under it
        assert re.search(rf'<dt id="{anchor}">.+?</dt>\s*<dd>', html), anchor


def test_the_first_use_of_each_term_on_a_page_links_to_it_and_only_the_first():
    page = markdown.markdown(
        "## The noise band\n\nThe `noise band` in code, then the noise band (relative IQR) in prose, "
        "and the noise band again.\n\n| Mode | Noise band | % of own ceiling |\n|---|---|---|\n| eager | x | y |\n\n"
        'A <span class="verdict verdict--unmeasured" data-claim="C10">Not decided here</span> badge; MWMS and '
        "[a rank test](speed.md) link elsewhere; not decided.\n", extensions=EXTENSIONS)
    out = glossary.link_first_uses(page, "speed.md", "../method/")
    links = re.findall(r'<a class="glossary-term" href="([^"]+)">([^<]+)</a>', out)
    assert links == [("../method/#g-noise-band", "noise band"), ("../method/#g-own-ceiling", "% of own ceiling"),
                     ("../method/#g-mwms", "MWMS"), ("../method/#g-not-decided", "not decided")]
    assert "<code>noise band</code>" in out and "<h2>The noise band</h2>" in out  # code and headings left alone
    assert glossary.link_first_uses(page, "method.md") == page  # the glossary's own page links nothing
