"""The page folders: what each ``snippets/<page>/`` brings to the build besides its example pairs.

A page folder is the unit a contributor copies. Besides its pairs it may hold,
found here by name so that nothing in the engine names a page:

* ``page.md``: the page itself, which the site serves as ``<page>.md`` (with
  hyphens: ``first_steps`` gives ``first-steps.md``) as if it were in ``docs/``;
  the nav line names that. The guide's older pages live in ``docs/``;

* ``<page>_cases.py``: the page's benchmark cases, a list ``CASES`` of
  ``engine.bench.cases.Case`` (their workloads live in the same folder);
* ``<page>_build.py``: what the page adds to the build: ``BUILD_STEPS``, a list
  of functions called as ``step(mode, log)`` after the engine's snippet steps
  (they read what the page's snippets wrote and render it), and
  ``COUNTED_PAIRS``, pairs from other folders that the page shows and whose
  code counts (``engine.codestats``) it lists before its own.

The names carry the page because snippet basenames are unique (the suite
imports every file under ``snippets/`` by its basename). Only these two files
are imported in the build process, so a page folder's framework files stay out
of it.

>>> [page.name for page in page_folders()][:3]
['debugging', 'deployment', 'ease_of_use']
>>> case_module_names()[0]
'speed.speed_cases'
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

from engine import paths

# Folders under snippets/ that hold shared code, not a page's examples.
NOT_PAGES = {"common", "notebooks"}
CASES_FILE, BUILD_FILE, PAGE_FILE = "{page}_cases.py", "{page}_build.py", "page.md"


def page_folders(root: Path | None = None) -> list[Path]:
    """Every page folder under ``root`` (default ``snippets/``), sorted by name."""
    root = root or paths.SNIPPETS_DIR
    return sorted(p for p in root.iterdir()
                  if p.is_dir() and p.name not in NOT_PAGES and not p.name.startswith((".", "_")))


def site_name(page: str) -> str:
    """The page's file name on the site, as in the nav: ``ease_of_use`` gives ``ease-of-use.md``."""
    return f"{page.replace('_', '-')}.md"


def folder_pages(root: Path | None = None) -> list[tuple[str, Path]]:
    """``(site name, path)`` of every page that lives in its folder (``snippets/<page>/page.md``)."""
    return [(site_name(page.name), page / PAGE_FILE) for page in page_folders(root) if (page / PAGE_FILE).is_file()]


def _modules(pattern: str) -> list[str]:
    return [f"{page.name}.{Path(pattern.format(page=page.name)).stem}" for page in page_folders()
            if (page / pattern.format(page=page.name)).is_file()]


def case_module_names() -> list[str]:
    """``<page>.<page>_cases`` for every page folder that declares benchmark cases."""
    return _modules(CASES_FILE)


def case_files() -> list[Path]:
    """The files those modules live in (the render key hashes them: they hold the cases' titles)."""
    return [paths.SNIPPETS_DIR.joinpath(*name.split(".")).with_suffix(".py") for name in case_module_names()]


def declared_cases() -> list[tuple[str, object]]:
    """``(page, case)`` for every case the page folders declare, page by page, in each file's order."""
    found = []
    for name in case_module_names():
        module = importlib.import_module(name)
        if not isinstance(getattr(module, "CASES", None), list | tuple):
            raise TypeError(f"snippets/{name.replace('.', '/')}.py must define CASES, a list of Case")
        found += [(name.split(".")[0], case) for case in module.CASES]
    return found


def build_module(page: str) -> ModuleType | None:
    """The page's ``<page>_build.py``, imported, or None when the folder has none."""
    name = f"{page}.{Path(BUILD_FILE.format(page=page)).stem}"
    return importlib.import_module(name) if name in _modules(BUILD_FILE) else None


def build_steps() -> list[Callable]:
    """Every page's ``BUILD_STEPS``, page by page (imported functions, called as ``step(mode, log)``)."""
    steps = []
    for page in page_folders():
        page_steps = getattr(build_module(page.name), "BUILD_STEPS", [])
        if not isinstance(page_steps, list | tuple) or not all(callable(step) for step in page_steps):
            raise TypeError(f"snippets/{page.name}/{BUILD_FILE.format(page=page.name)}: BUILD_STEPS must be "
                            "a list of functions")
        steps += page_steps
    return steps


def counted_pairs(page: str) -> list[str]:
    """The page's ``COUNTED_PAIRS`` (``"common/cnn"`` for ``snippets/common/cnn_{torch,tf}.py``), or none."""
    return list(getattr(build_module(page), "COUNTED_PAIRS", ()))
