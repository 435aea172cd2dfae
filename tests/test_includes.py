"""Every include on a page resolves, and every snippet file is shown somewhere."""

from __future__ import annotations

import pytest

from engine import pages, paths, tabs
from engine.includes import find_problems, parse_includes
from engine.snippets import paired_files

# The pages in docs/ and those that live in their page folder (snippets/<page>/page.md).
PAGES = sorted(p for p in paths.DOCS_DIR.rglob("*.md") if paths.GENERATED_DIR not in p.parents) + [
    path for _, path in pages.folder_pages()]


def test_pages_exist():
    assert len(PAGES) >= 10


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(paths.ROOT).as_posix())
def test_every_snippet_include_resolves(page):
    text = tabs.expand(page.read_text(encoding="utf-8"), check=False)  # the includes the pair marks write
    # Generated targets only exist after a build; the strict build test covers them.
    static = "\n".join(line for line in text.splitlines() if "docs/generated/" not in line)
    assert find_problems(static) == []


def test_every_snippet_file_is_shown_by_some_page():
    shown = {include.path for page in PAGES for include in parse_includes(tabs.expand(page.read_text(encoding="utf-8"), check=False))}
    candidates = paired_files() + [paths.HELPERS_DIR / "data.py"]
    unshown = [p.relative_to(paths.ROOT).as_posix() for p in candidates if p.relative_to(paths.ROOT).as_posix() not in shown]
    assert unshown == [], f"snippet files no page shows: {unshown}"


def test_problems_name_missing_files_and_sections():
    problems = find_problems('--8<-- "snippets/nope_torch.py"\n--8<-- "snippets/common/cnn_torch.py:nosuch"\n')
    assert any("snippets/nope_torch.py" in p for p in problems)
    assert any("'nosuch'" in p for p in problems)
