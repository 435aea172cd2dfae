"""Tab groups from the files that exist: one line of Markdown asks for a pair, the hook writes its tabs.

A page asks for a pair by name, with the sections to show in order::

    <!-- md:pair debugging/shape_bug model eager graph output -->

For each side of ``engine.sides.SIDES``, in that order, whose file
``snippets/debugging/shape_bug<suffix>.py`` exists, this becomes a content tab
labelled with the side's label, holding one ```` ```python ```` block per
section (a ``--8<--`` include that pymdownx.snippets fills in afterwards) and,
for ``output``, the ```` ```text title="Output" ```` block of the side's
``docs/generated/output/debugging/shape_bug<suffix>.txt``. The items:

* ``model``: that section of the pair's file;
* ``common/runtime:setup``: a section of another pair, the side's suffix added
  (``snippets/common/runtime_torch.py:setup``); without ``:section`` the whole file;
* ``*``: the pair's whole file;
* ``output``: the output block; ``output="Output of this build's run"`` retitles it;
* ``item="A title"`` on a code item gives its block that title;
* ``all``: show a tab for every side; a side with no file says so in one line
  (otherwise a side without its file is left out).

Where a tab needs words of its own (a figure, a sentence), the block form adds
them after the items, per side by id, written at the mark's indentation::

    <!-- md:pair-begin notebooks/digits_end_to_end confusion output -->
    <!-- md:side torch -->
    ![PyTorch confusion matrix](...)
    <!-- md:side tf -->
    ![TensorFlow confusion matrix](...)
    <!-- md:pair-end -->

With no name, ``<!-- md:pair-begin -->`` makes a tab for each side that has
words. A mark keeps its indentation, so a group inside a ``??? note`` fold
stays inside it; a mark inside a fenced code block is left as written (that is
how docs/contributing.md shows one). A name with no file for any side, or an
include that does not resolve, raises ValueError naming the mark.

>>> print(expand('<!-- md:pair graphs/eager eager output -->', check=False))
=== "PyTorch"
<BLANKLINE>
    ```python
    --8<-- "snippets/graphs/eager_torch.py:eager"
    ```
<BLANKLINE>
    ```text title="Output"
    --8<-- "docs/generated/output/graphs/eager_torch.txt"
    ```
<BLANKLINE>
=== "TensorFlow"
<BLANKLINE>
    ```python
    --8<-- "snippets/graphs/eager_tf.py:eager"
    ```
<BLANKLINE>
    ```text title="Output"
    --8<-- "docs/generated/output/graphs/eager_tf.txt"
    ```
>>> expand('<!-- md:pair graphs/nothing_here model -->')
Traceback (most recent call last):
...
ValueError: <!-- md:pair graphs/nothing_here model -->: no file snippets/graphs/nothing_here_torch.py or snippets/graphs/nothing_here_tf.py
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

from engine import paths
from engine import sides as sides_module
from engine.includes import find_problems

# The one-line form; `md:pair-begin` does not match it (a hyphen is not a space).
PAIR_RE = re.compile(r"^(?P<indent>[ \t]*)(?P<mark><!--\s*md:pair\s+(?P<args>.*?)\s*-->)[ \t]*$", re.MULTILINE)
BLOCK_RE = re.compile(
    r"^(?P<indent>[ \t]*)(?P<mark><!--\s*md:pair-begin(?:\s+(?P<args>.*?))?\s*-->)[ \t]*\n"
    r"(?P<body>.*?)^[ \t]*<!--\s*md:pair-end\s*-->[ \t]*$",
    re.MULTILINE | re.DOTALL,
)
SIDE_RE = re.compile(r"^[ \t]*<!--\s*md:side\s+(\S+)\s*-->[ \t]*$", re.MULTILINE)
FENCE_RE = re.compile(r"^[ \t]*(`{3,}|~{3,})")
MISSING = "No {label} version of this example yet."


@dataclass(frozen=True)
class Item:
    kind: str  # "code" or "output"
    target: str  # a path under snippets/ without the side's suffix ("graphs/eager"), or the output's
    section: str | None = None
    title: str | None = None

    def block(self, suffix: str) -> str:
        """The fenced block for one side: ``suffix`` is the side's (``_torch``)."""
        if self.kind == "output":
            return (f'```text title="{self.title or "Output"}"\n'
                    f'--8<-- "docs/generated/output/{self.target}{suffix}.txt"\n```')
        title = f' title="{self.title}"' if self.title else ""
        section = f":{self.section}" if self.section else ""
        return f'```python{title}\n--8<-- "snippets/{self.target}{suffix}.py{section}"\n```'


def parse_items(name: str, tokens: list[str]) -> tuple[list[Item], bool]:
    """The blocks a mark asks for, and whether it asked for ``all`` sides.

    >>> parse_items("speed/ceiling", ["ceiling", 'speed/op_profile:dispatch=The probe', "output"])[0][1]
    Item(kind='code', target='speed/op_profile', section='dispatch', title='The probe')
    """
    items, every_side = [], False
    for token in tokens:
        token, _, title = token.partition("=")
        if token == "all":
            every_side = True
        elif token == "output":
            items.append(Item("output", name, title=title or None))
        elif token == "*":
            items.append(Item("code", name, title=title or None))
        elif "/" in token:
            target, _, section = token.partition(":")
            items.append(Item("code", target, section or None, title or None))
        else:
            items.append(Item("code", name, token, title or None))
    return items, every_side


def _indent(text: str, prefix: str) -> str:
    # Blank lines stay empty, as hand-written groups have them.
    return "\n".join(prefix + line if line.strip() else "" for line in text.split("\n"))


def _dedent(text: str, prefix: str) -> str:
    return "\n".join(line[len(prefix):] if line.startswith(prefix) else line.lstrip() for line in text.split("\n"))


def _side_texts(body: str, indent: str, mark: str) -> dict[str, str]:
    """The block form's words per side id, written at the mark's indentation."""
    parts = SIDE_RE.split(body)
    texts = {}
    for side_id, text in zip(parts[1::2], parts[2::2], strict=True):
        if side_id not in sides_module.IDS:
            raise ValueError(f"{mark}: no side {side_id!r} (known: {', '.join(sides_module.IDS)})")
        texts[side_id] = _dedent(text, indent).strip("\n")
    return texts


def render(mark: str, args: str | None, indent: str, texts: dict[str, str] | None = None,
           sides=None, root: Path | None = None, check: bool = True) -> str:
    """The tab group one mark stands for, at the mark's indentation."""
    sides = sides if sides is not None else sides_module.SIDES
    root = root or paths.ROOT
    texts = texts or {}
    tokens = shlex.split(args or "")
    name = tokens[0] if tokens else None
    items, every_side = parse_items(name, tokens[1:]) if name else ([], "all" in tokens)
    if name:
        files = {side.id: root / "snippets" / f"{name}{side.suffix}.py" for side in sides}
        present = [side for side in sides if files[side.id].is_file()]
        if not present:
            raise ValueError(f"{mark}: no file " + " or ".join(
                files[side.id].relative_to(root).as_posix() for side in sides))
    else:
        present = [side for side in sides if side.id in texts]
        if not present:
            raise ValueError(f"{mark}: neither a pair's name nor words for any side")
    tabs = []
    for side in sides:
        if side in present:
            parts = [item.block(side.suffix) for item in items]
            if side.id in texts:
                parts.append(texts[side.id])
            if check:
                problems = find_problems("\n".join(parts), root=root)
                if problems:
                    raise ValueError(f"{mark}: " + "; ".join(problems))
        elif every_side:
            parts = [MISSING.format(label=side.label)]
        else:
            continue  # a side without its file is left out unless the mark asks for all
        tabs.append(f'=== "{side.label}"\n\n' + _indent("\n\n".join(parts), "    "))
    return _indent("\n\n".join(tabs), indent)


def _fenced(markdown: str) -> list[tuple[int, int]]:
    """Where the fenced code blocks are (start, end offsets): marks there are shown, not expanded."""
    spans, offset, opened = [], 0, None
    for line in markdown.splitlines(keepends=True):
        fence = FENCE_RE.match(line)
        if fence:
            if opened is None:
                opened = (offset, fence.group(1))
            elif fence.group(1)[0] == opened[1][0] and len(fence.group(1)) >= len(opened[1]) \
                    and line.strip() == fence.group(1):
                spans.append((opened[0], offset + len(line)))
                opened = None
        offset += len(line)
    if opened is not None:
        spans.append((opened[0], offset))
    return spans


def expand(markdown: str, sides=None, root: Path | None = None, check: bool = True) -> str:
    """The page with every pair mark replaced by its tab group (``check``: its includes must resolve)."""
    def replace(pattern, build):
        spans = _fenced(markdown)

        def one(match):
            if any(start <= match.start() < end for start, end in spans):
                return match.group(0)
            return build(match)
        return pattern.sub(one, markdown)

    markdown = replace(BLOCK_RE, lambda m: render(
        m.group("mark"), m.group("args"), m.group("indent"),
        _side_texts(m.group("body"), m.group("indent"), m.group("mark")), sides, root, check))
    return replace(PAIR_RE, lambda m: render(
        m.group("mark"), m.group("args"), m.group("indent"), None, sides, root, check))
