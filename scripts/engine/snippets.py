"""Finding the paired example files and the named sections pages include.

An example is a file ``snippets/<page>/<name><suffix>.py``, one per side of
the registry (engine.sides: ``_torch``, ``_tf``); ``snippets/common`` holds
helpers and is not run on its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from engine import paths, sides

FRAMEWORK_SUFFIXES = {side.suffix: side.id for side in sides.SIDES}
SECTION_RE = re.compile(r"#\s*--8<--\s*\[(start|end):([\w-]+)\]")


@dataclass(frozen=True)
class Snippet:
    path: Path

    @property
    def page(self) -> str:
        return self.path.parent.name

    @property
    def stem(self) -> str:
        return self.path.stem

    @property
    def framework(self) -> str:
        side = sides.by_suffix(self.path.name)
        if side is None:
            raise ValueError(f"{self.path} is not named {_SUFFIXES_SAID}")
        return side.id

    @property
    def pair_name(self) -> str:
        """The name shared by both files of a pair: ``mnist_cnn`` for ``mnist_cnn_torch.py``."""
        return self.stem[: -len(sides.by_id(self.framework).suffix)]

    @property
    def rel(self) -> str:
        """Path as a reader would type it: relative to the repository when inside it."""
        try:
            return self.path.relative_to(paths.ROOT).as_posix()
        except ValueError:
            return self.path.as_posix()


def is_example_file(path: Path, root: Path) -> bool:
    return (
        path.suffix == ".py"
        and any(path.stem.endswith(suffix) for suffix in FRAMEWORK_SUFFIXES)
        and path.parent != root
        and path.relative_to(root).parts[0] != paths.HELPERS_DIR.name
    )


def discover(root: Path | None = None) -> list[Snippet]:
    """Every runnable example under ``root`` (default ``snippets/``), sorted by path."""
    root = root or paths.SNIPPETS_DIR
    return [Snippet(path) for path in sorted(root.rglob("*.py")) if is_example_file(path, root)]


def paired_files(root: Path | None = None) -> list[Path]:
    """Every framework file under ``root``, helpers included (they must be paired too)."""
    root = root or paths.SNIPPETS_DIR
    return sorted(
        path for path in root.rglob("*.py")
        if any(path.stem.endswith(suffix) for suffix in FRAMEWORK_SUFFIXES)
    )


_SUFFIXES_SAID = " or ".join(f"*{side.suffix}.py" for side in sides.SIDES)


def side_paths(path: Path) -> dict[str, Path]:
    """Every side's file of the pair ``path`` belongs to, in registry order (whether it exists or not).

    >>> {k: p.name for k, p in side_paths(Path("ease_of_use/mnist_cnn_tf.py")).items()}
    {'torch': 'mnist_cnn_torch.py', 'tf': 'mnist_cnn_tf.py'}
    """
    side = sides.by_suffix(path.name)
    if side is None:
        raise ValueError(f"{path} is not named {_SUFFIXES_SAID}")
    name = path.stem[: -len(side.suffix)]
    return {other.id: path.with_name(f"{name}{other.suffix}.py") for other in sides.SIDES}


def twin_path(path: Path) -> Path:
    """The other required side's file of a two-sided pair (the first side's for any other side)."""
    own = sides.by_suffix(path.name)
    paired = side_paths(path)
    required = [s.id for s in sides.SIDES if s.required]
    other = next(s for s in required if own is None or s != own.id)
    return paired[other]


def sections(text: str) -> dict[str, str]:
    """Named sections of a file: ``{"model": "<the lines between start and end>"}``.

    Raises ValueError on an unclosed, unopened or repeated section, which is
    also what would make ``pymdownx.snippets`` show the wrong code.
    """
    found: dict[str, list[str]] = {}
    open_sections: dict[str, list[str]] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        match = SECTION_RE.search(line)
        if match:
            kind, name = match.groups()
            if kind == "start":
                if name in open_sections or name in found:
                    raise ValueError(f"line {number}: section {name!r} starts twice")
                open_sections[name] = []
            else:
                if name not in open_sections:
                    raise ValueError(f"line {number}: section {name!r} ends before it starts")
                found[name] = open_sections.pop(name)
            continue
        for body in open_sections.values():
            body.append(line)
    if open_sections:
        raise ValueError(f"sections never closed: {sorted(open_sections)}")
    return {name: "\n".join(lines) for name, lines in found.items()}
