"""Dated facts about the ecosystem, recorded once (``facts.toml``): a tool's status, its version, whether the guide runs it.

A page states a fact through its mark, ``<!-- md:fact executorch.status -->``,
which the build's hook replaces with the fact's text; ``contradictions`` finds
a sentence on any page that restates a recorded fact with another word of its
vocabulary, or names another version than the one pinned.

>>> [f.id for f in load()][:2]
['executorch.status', 'executorch.version']
>>> status = by_id()["executorch.status"]
>>> contradictions("ExecuTorch reached alpha last year.", [status])
["executorch.status: 'ExecuTorch reached alpha last year.' says 'alpha', recorded 'beta'"]
"""

from __future__ import annotations

import functools
import re
import tomllib
from dataclasses import dataclass

from engine import paths

TABLE = paths.ROOT / "facts.toml"
REQUIREMENTS = paths.ROOT / "requirements.txt"
MARK_RE = re.compile(r"<!--\s*md:fact\s+([a-z0-9_.-]+)\s*-->")
VERSION_RE = r"\b{subject} (\d+\.\d+(?:\.\d+)?)\b"


@dataclass(frozen=True)
class Fact:
    id: str
    subject: str
    text: str
    source: str
    as_of: str
    value: str = ""
    vocabulary: tuple[str, ...] = ()
    pin: str = ""

    @property
    def current(self) -> str:
        """The value: recorded, or for a pinned version read from requirements.txt."""
        return pinned(self.pin) if self.pin else self.value

    def render(self) -> str:
        # {as_of} lets the text say when it was checked without typing the date twice
        return self.text.format(value=self.current, as_of=self.as_of)


def pinned(package: str) -> str:
    for line in REQUIREMENTS.read_text(encoding="utf-8").splitlines():
        m = re.match(rf"{re.escape(package)}==([^\s#;]+)", line.strip())
        if m:
            return m.group(1)
    raise ValueError(f"facts.toml: {package} is not pinned in {REQUIREMENTS.name}")


@functools.cache
def load() -> list[Fact]:
    facts = []
    for row in tomllib.loads(TABLE.read_text(encoding="utf-8")).get("fact", []):
        fact = Fact(**{**row, "vocabulary": tuple(row.get("vocabulary", ()))})
        if not fact.pin and fact.value not in fact.vocabulary:
            raise ValueError(f"facts.toml: {fact.id}: value {fact.value!r} is not one of its vocabulary")
        facts.append(fact)
    return facts


def by_id() -> dict[str, Fact]:
    return {fact.id: fact for fact in load()}


def expand_marks(markdown: str) -> str:
    facts = by_id()

    def one(m):
        if m.group(1) not in facts:
            raise ValueError(f"{m.group(0)}: no fact {m.group(1)} in facts.toml")
        return facts[m.group(1)].render()

    return MARK_RE.sub(one, markdown)


def sentences(markdown: str) -> list[str]:
    """Prose clauses: one per table cell, heading, footnote or list item, split at sentence ends and semicolons.

    Code, link targets and URLs are left out, so a path such as ``executorch/stable/`` restates nothing.
    """
    text = re.sub(r"```.*?```", " ", markdown, flags=re.S)
    text = re.sub(r"<https?://[^>]+>|https?://\S+", " ", text)
    text = re.sub(r"\]\([^)]*\)", "]", text)
    text = re.sub(r"`[^`]*`", " ", text)
    blocks, current = [], []
    for line in text.splitlines():
        starts_block = re.match(r"\s*(\||#|\[\^|[-*] |\d+\. |!!!|\?\?\?|===)", line)
        if not line.strip() or starts_block:
            blocks.append(" ".join(current))
            current = []
        if line.strip().startswith("|"):
            blocks += line.split("|")
        elif line.strip():
            current.append(line.strip())
    blocks.append(" ".join(current))
    out = []
    for block in blocks:
        for sentence in re.split(r"(?<=[.!?])\s+(?=[A-Z*\[])|;\s+", block):
            if sentence.strip():
                out.append(sentence.strip())
    return out


def contradictions(markdown: str, facts: list[Fact] | None = None) -> list[str]:
    """Each sentence that names a fact's subject and restates the fact differently."""
    found = []
    for fact in facts if facts is not None else load():
        for sentence in sentences(markdown):
            if not re.search(rf"\b{re.escape(fact.subject)}\b", sentence):
                continue
            if fact.pin:
                for version in re.findall(VERSION_RE.format(subject=re.escape(fact.subject)), sentence):
                    if version != fact.current:
                        found.append(f"{fact.id}: {sentence!r} says {version!r}, pinned {fact.current!r}")
                continue
            # longest first, so "is not run" is not also read as "run"
            rest = sentence
            for word in sorted(fact.vocabulary, key=len, reverse=True):
                pattern = rf"(?i)\b{re.escape(word)}\b"
                if re.search(pattern, rest):
                    if word != fact.value:
                        found.append(f"{fact.id}: {sentence!r} says {word!r}, recorded {fact.value!r}")
                    rest = re.sub(pattern, " ", rest)
    return found
