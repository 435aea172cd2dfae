"""``regen.py new PAGE NAME [--bench]``: the files a contributor starts an example pair from.

It writes ``snippets/<page>/<name>_torch.py`` and ``<name>_tf.py`` (docstrings,
a doctest that asserts something, the same named section in both, a
``__main__`` block whose output the page shows) and adds a section with the
linked tabs and the output includes to the page: ``docs/<page>.md`` or
``snippets/<page>/page.md``, whichever it has; a new page is created in its
folder (``engine.pages``), with its nav entry. With ``--bench`` the pair is a
benchmark workload instead (the contract of ``engine.bench.workload``), with
its description ``<name>.py`` and a case named ``<name>`` in the page's
``<page>_cases.py``; the page's section includes the case's generated table.
Nothing in ``scripts/`` is touched. Every check runs before anything is
written, so a bad name leaves the repository as it was.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from engine import pages, paths, sides
from engine.pages import NOT_PAGES
from engine.snippets import FRAMEWORK_SUFFIXES

IDENTIFIER = re.compile(r"[a-z][a-z0-9_]*\Z")
# Names that would shadow a framework or a shared package when the snippets folder is on sys.path.
RESERVED = {"torch", "tf", "tensorflow", "keras", "common", "engine", "numpy", "test", "tests"}
NAV_ANCHOR = "  - Contributing: contributing.md"


class ScaffoldError(ValueError):
    """A name the scaffold refuses, with the reason in one line."""


@dataclass(frozen=True)
class Plan:
    files: dict[Path, str]  # path -> full new text (new files and the edited page / mkdocs.yml)
    created: list[Path]


def _check_name(kind: str, value: str) -> None:
    if not IDENTIFIER.match(value):
        raise ScaffoldError(f"{kind} {value!r} must be a lower-case Python identifier (letters, digits, "
                            "underscores), a folder directly under snippets/")
    if value in RESERVED:
        raise ScaffoldError(f"{kind} {value!r} would shadow the package of that name on the snippets path")


def _title(name: str) -> str:
    return name.replace("_", " ").capitalize()


# Each side's starting code and how it turns the result into a list: the scaffold writes a file for every
# required side (pairing demands it); an optional side's file is its contributor's to add.
SNIPPET_BODIES = {
    "torch": ("import torch\n\n\ndef run() -> torch.Tensor:\n"
              "    \"\"\"Replace with the example: what the page shows, as small as it can be.\"\"\"\n"
              "    torch.manual_seed(0)\n    return torch.ones(2, 3) * 2\n", ".tolist()"),
    "tf": ("import tensorflow as tf\n\n\ndef run() -> tf.Tensor:\n"
           "    \"\"\"Replace with the example: what the page shows, as small as it can be.\"\"\"\n"
           "    tf.random.set_seed(0)\n    return tf.ones((2, 3)) * 2\n", ".numpy().tolist()"),
}


def scaffolded_sides() -> tuple[sides.Side, ...]:
    """The sides ``new`` writes a file for: every required one, in registry order."""
    return tuple(side for side in sides.SIDES if side.required)


def twins(name: str, framework: str) -> tuple[str, str]:
    """The words naming the other scaffolded sides' files: the subject, and the files.

    >>> twins("first", "torch")
    ('The TensorFlow twin is', '``first_tf.py``')
    """
    others = [side for side in scaffolded_sides() if side.id != framework]
    labels = " and ".join(side.label for side in others)
    files = " and ".join(f"``{name}{side.suffix}.py``" for side in others)
    return (f"The {labels} twin is" if len(others) == 1 else f"The {labels} twins are"), files


def _snippet(page: str, name: str, framework: str) -> str:
    label = sides.LABELS[framework]
    body, to_list = SNIPPET_BODIES[framework]
    return f'''"""{_title(name)}, {label} side (snippets/{page}/{name}{sides.by_id(framework).suffix}.py).

Say in one line what this example shows. {" ".join(twins(name, framework))}:
the same section names, the same work, each in its framework's own idiom.

>>> [list(row) for row in run(){to_list}]  # a doctest that asserts what the example computes
[[2.0, 2.0, 2.0], [2.0, 2.0, 2.0]]
"""

from __future__ import annotations

# --8<-- [start:example]
{body}# --8<-- [end:example]


if __name__ == "__main__":
    print("result:", run(){to_list})  # the page shows what this prints at build
'''


def _tabs(page: str, name: str, section: str = "example") -> str:
    # One pair mark: the build writes a tab per side from the registry (engine.tabs).
    return f'<!-- md:pair {page}/{name} {section} output="Output of this build\'s run" -->\n'


def doc_path(page: str, root: Path) -> Path:
    """The page's file: docs/<page>.md (with the site's hyphens) if it is there, else its folder's page.md."""
    in_docs = root / "docs" / pages.site_name(page)
    return in_docs if in_docs.exists() else root / "snippets" / page / pages.PAGE_FILE


def plan(page: str, name: str, root: Path | None = None, bench: bool = False) -> Plan:
    """What ``new`` would write; raises ScaffoldError, with nothing written, for a bad page or name."""
    root = root or paths.ROOT
    if page in NOT_PAGES:
        raise ScaffoldError(f"page {page!r}: snippets/{page}/ holds shared code, not a page's examples")
    _check_name("page", page)
    _check_name("name", name)
    if any(name.endswith(suffix) for suffix in FRAMEWORK_SUFFIXES):
        raise ScaffoldError(f"name {name!r}: leave out the framework suffix, the scaffold adds "
                            + " and ".join(side.suffix for side in sides.SIDES))
    snippets = root / "snippets"
    for basename in [f"{name}{side.suffix}.py" for side in sides.SIDES] + ([f"{name}.py"] if bench else []):
        clash = sorted(str(p.relative_to(root)) for p in snippets.rglob(basename))
        if clash:
            raise ScaffoldError(f"name {name!r}: {clash[0]} already exists (snippet basenames are unique, "
                                "their outputs and module names would collide)")
    files: dict[Path, str] = {}
    folder = snippets / page
    if bench:
        from engine import scaffold_bench

        try:
            files.update(scaffold_bench.files(page, name, folder))
        except scaffold_bench.CaseNameTaken as error:
            raise ScaffoldError(str(error)) from None
        section = (f"## {_title(name)}\n\nSay what the benchmark times and what it can settle.\n\n"
                   f"{_tabs(page, name, 'model')}\n{scaffold_bench.table_include(name)}")
    else:
        for side in scaffolded_sides():
            files[folder / f"{name}{side.suffix}.py"] = _snippet(page, name, side.id)
        section = f"## {_title(name)}\n\nSay what the two versions show and where they differ.\n\n{_tabs(page, name)}"
    doc = doc_path(page, root)
    if doc.exists():
        files[doc] = doc.read_text(encoding="utf-8").rstrip("\n") + "\n\n" + section
    else:
        files[doc] = f"# {_title(page)}\n\nWhat this page is about, in two sentences.\n\n{section}"
        mkdocs = root / "mkdocs.yml"
        text = mkdocs.read_text(encoding="utf-8")
        if NAV_ANCHOR not in text:
            raise ScaffoldError(f"mkdocs.yml has no {NAV_ANCHOR.strip()!r} nav line to put the new page before")
        files[mkdocs] = text.replace(NAV_ANCHOR, f"  - {_title(page)}: {pages.site_name(page)}\n{NAV_ANCHOR}", 1)
    return Plan(files, [p for p in files if not p.exists()])


def write(scaffold: Plan) -> None:
    for path, text in scaffold.files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
