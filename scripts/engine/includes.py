"""Reading the ``--8<--`` include lines of a page, and checking them.

>>> [(i.path, i.section) for i in parse_includes('x\\n    --8<-- "snippets/a/b_torch.py:model"\\n')]
[('snippets/a/b_torch.py', 'model')]
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from engine import paths
from engine.snippets import sections

INCLUDE_RE = re.compile(r'^\s*-{1,}8<-{1,}\s+"([^"]+)"\s*$', re.MULTILINE)


@dataclass(frozen=True)
class Include:
    path: str
    section: str | None


def parse_includes(markdown: str) -> list[Include]:
    found = []
    for target in INCLUDE_RE.findall(markdown):
        path, _, section = target.partition(":")
        found.append(Include(path=path, section=section or None))
    return found


def find_problems(markdown: str, root=None) -> list[str]:
    """Human-readable problems with the page's includes; empty when all resolve (paths from ``root``, the repository)."""
    problems = []
    for include in parse_includes(markdown):
        target = (root or paths.ROOT) / include.path
        if not target.is_file():
            problems.append(f"includes {include.path}, which does not exist")
        elif include.section:
            try:
                names = sections(target.read_text(encoding="utf-8"))
            except ValueError as error:
                problems.append(f"{include.path} has broken sections ({error})")
                continue
            if include.section not in names:
                problems.append(f"includes section {include.section!r} of {include.path}, which has no such section")
    return problems
