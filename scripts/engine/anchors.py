"""The anchors a page defines: explicit ids (``{#c07}``, ``id="..."``) and the ids headings get.

Links from one page to another (``speed.md#c07``) and the audit's page anchors
(``audit.toml``) are checked against these, so a renamed heading cannot leave
a dangling link.

>>> sorted(page_anchors("## This build {#this-build}\\n## What the dates explain, and what they don't\\n"))
['this-build', 'what-the-dates-explain-and-what-they-dont']
"""

from __future__ import annotations

import re

ANCHOR_RE = re.compile(r"\{[^}]*#([A-Za-z0-9_-]+)[^}]*\}")


def anchors_in(text: str) -> set[str]:
    """attr_list ids ({#id}) and HTML ids (id="...") defined in a page."""
    found = set(ANCHOR_RE.findall(text))
    found |= set(re.findall(r'\bid="([^"]+)"', text))
    return found


def heading_slug(title: str) -> str:
    """The id Python-Markdown's toc gives a heading without an explicit one."""
    slug = re.sub(r"[^\w\s-]", "", title).strip().lower()
    return re.sub(r"[-\s]+", "-", slug)


def page_anchors(text: str) -> set[str]:
    """Explicit ids plus the automatic ids of headings without one (fenced code is skipped)."""
    found = anchors_in(text)
    text = re.sub(r"^```.*?^```", "", text, flags=re.MULTILINE | re.DOTALL)
    for title in re.findall(r"^#{1,6}\s+(.+?)\s*$", text, flags=re.MULTILINE):
        if not ANCHOR_RE.search(title):
            found.add(heading_slug(title))
    return found
