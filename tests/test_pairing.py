"""Every example has its twin, with the same sections, a doctest, and a safe name."""

from __future__ import annotations

import ast
from collections import Counter

import pytest

from engine import paths
from engine.snippets import paired_files, sections, twin_path

ALL_FILES = paired_files()


def test_there_are_snippets_to_check():
    assert len(ALL_FILES) >= 6


@pytest.mark.parametrize("path", ALL_FILES, ids=lambda p: p.relative_to(paths.SNIPPETS_DIR).as_posix())
def test_every_snippet_has_its_twin_with_the_same_sections(path):
    twin = twin_path(path)
    assert twin.exists(), f"{path.name} has no twin {twin.name}"
    mine = set(sections(path.read_text(encoding="utf-8")))
    theirs = set(sections(twin.read_text(encoding="utf-8")))
    assert mine == theirs, f"sections differ: only in {path.name}: {mine - theirs}, only in {twin.name}: {theirs - mine}"


@pytest.mark.parametrize("path", ALL_FILES, ids=lambda p: p.relative_to(paths.SNIPPETS_DIR).as_posix())
def test_every_snippet_has_a_doctest_in_its_module_docstring(path):
    docstring = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
    assert docstring and ">>>" in docstring, f"{path} needs a module docstring with a doctest"


def test_basenames_are_unique_and_never_shadow_a_framework():
    names = Counter(path.name for path in paths.SNIPPETS_DIR.rglob("*.py") if path.name != "__init__.py")
    assert not [name for name, count in names.items() if count > 1], "snippet basenames must be unique"
    assert not {"torch.py", "tensorflow.py", "keras.py"} & set(names)


def test_examples_run_as_scripts():
    for path in ALL_FILES:
        if path.parent == paths.HELPERS_DIR:
            continue
        assert 'if __name__ == "__main__":' in path.read_text(encoding="utf-8"), f"{path} is not runnable"


def test_sections_parser_rejects_broken_markers():
    with pytest.raises(ValueError, match="never closed"):
        sections("# --8<-- [start:model]\nx = 1\n")
    with pytest.raises(ValueError, match="ends before it starts"):
        sections("# --8<-- [end:model]\n")
    assert sections("a\n# --8<-- [start:s]\nb\n# --8<-- [end:s]\nc\n") == {"s": "b"}
