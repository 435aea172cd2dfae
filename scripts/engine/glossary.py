"""The glossary on docs/method.md, and a link from each term's first use on every other page.

``TERMS`` names each term once: its anchor in the glossary (``## Glossary``
on ``method.md``) and the forms a page writes it in. After a page is
converted to HTML (``on_page_content``, so generated tables count too), the
first use of each term outside code, headings and existing links becomes a
link to its definition.

>>> link_first_uses('<p>The noise band is wide; the noise band again.</p>', "speed.md")
'<p>The <a class="glossary-term" href="method.md#g-noise-band">noise band</a> is wide; the noise band again.</p>'
"""

from __future__ import annotations

import re

PAGE = "method.md"
# anchor -> the forms a page uses (matched case-insensitively, as whole words), first form the name
TERMS = {
    "g-own-ceiling": ("% of own ceiling", "share of own framework's ceiling", "own measured ceiling"),
    "g-machine-ceiling": ("% of machine ceiling", "share of the machine's ceiling"),
    "g-noise-band": ("noise band", "relative IQR"),
    "g-unstable": ("unstable",),
    "g-ci": ("95% CI", "95 % CI", "confidence interval"),
    "g-rank-test": ("rank test p", "rank test"),
    "g-no-difference": ("no significant difference",),
    "g-not-decided": ("not decided",),
    "g-mwms": ("MWMS",),
    "g-malloc": ("glibc malloc",),
    "g-tier": ("tier",),
    "g-peak-rss": ("peak RSS",),
}
# Text inside these elements is never linked: code, existing links, headings, the page's own chrome.
SKIP = {"a", "code", "pre", "h1", "h2", "h3", "h4", "h5", "h6", "script", "style", "svg", "title", "button", "label"}
TAG_RE = re.compile(r"(<[^>]+>)")


def _pattern(forms: tuple[str, ...]) -> re.Pattern:
    alternatives = "|".join(re.escape(f) for f in sorted(forms, key=len, reverse=True))
    return re.compile(rf"(?<![\w%-])(?:{alternatives})(?![\w-])", re.IGNORECASE)


PATTERNS = {anchor: _pattern(forms) for anchor, forms in TERMS.items()}


def link_first_uses(html: str, page: str, glossary_url: str = PAGE) -> str:
    """Link each term's first use on ``page`` to its definition at ``glossary_url`` (the built method page's URL,
    relative to ``page``); the glossary's own page links nothing."""
    if page == PAGE:
        return html
    pending = dict(PATTERNS)
    parts = TAG_RE.split(html)
    stack: list[str] = []
    for i, part in enumerate(parts):
        if part.startswith("<"):
            m = re.match(r"<(/?)([a-zA-Z0-9]+)", part)
            if m and not part.endswith("/>"):
                name = m.group(2).lower()
                if m.group(1):
                    if name in stack:
                        del stack[len(stack) - 1 - stack[::-1].index(name):]
                elif name in SKIP or (name == "span" and 'class="verdict' in part):
                    stack.append(name)  # a verdict badge is a word of its own, not a use of a term
            continue
        if stack or not pending or not part.strip():
            continue
        found = sorted((m.start(), m.end(), anchor) for anchor, pattern in pending.items()
                       if (m := pattern.search(part)))
        out, pos = [], 0
        for start, end, anchor in found:
            if start < pos:  # overlaps a term just linked: it waits for its next use
                continue
            out += [part[pos:start], f'<a class="glossary-term" href="{glossary_url}#{anchor}">{part[start:end]}</a>']
            pos = end
            del pending[anchor]
        parts[i] = "".join(out) + part[pos:]
    return "".join(parts)
