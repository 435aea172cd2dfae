"""Pair marks become tab groups from the files that exist, labelled by the sides registry (engine.tabs)."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from engine import paths, sides, tabs


def _pair(root, name, side_ids, body="# --8<-- [start:model]\nx = 1\n# --8<-- [end:model]\n"):
    for side_id in side_ids:
        path = root / "snippets" / f"{name}_{side_id}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(body, encoding="utf-8")


def test_both_sides_in_registry_order(tmp_path):
    _pair(tmp_path, "p/ex", ["tf", "torch"])
    out = tabs.expand("<!-- md:pair p/ex model -->", root=tmp_path)
    assert re.findall(r'=== "(\w+)"', out) == ["PyTorch", "TensorFlow"]
    assert '--8<-- "snippets/p/ex_tf.py:model"' in out


def test_missing_side_is_skipped_or_said_with_all(tmp_path):
    _pair(tmp_path, "p/ex", ["torch"])
    skipped = tabs.expand("<!-- md:pair p/ex model -->", root=tmp_path)
    assert "TensorFlow" not in skipped
    every = tabs.expand("<!-- md:pair p/ex model all -->", root=tmp_path)
    assert '=== "TensorFlow"\n\n    No TensorFlow version of this example yet.' in every


def test_unknown_section_stops_with_the_mark(tmp_path):
    _pair(tmp_path, "p/ex", ["torch", "tf"])
    with pytest.raises(ValueError, match=r"<!-- md:pair p/ex nosuch -->: includes section 'nosuch'"):
        tabs.expand("<!-- md:pair p/ex nosuch -->", root=tmp_path)


def test_label_and_a_third_side_come_from_the_registry(tmp_path):
    _pair(tmp_path, "p/ex", ["torch", "tf", "jax"])
    jax = replace(sides.SIDES[0], id="jax", label="JAX")
    renamed = (replace(sides.SIDES[0], label="Torch!"), sides.SIDES[1], jax)
    out = tabs.expand("  <!-- md:pair p/ex model -->", sides=renamed, root=tmp_path)
    assert re.findall(r'=== "([\w!]+)"', out) == ["Torch!", "TensorFlow", "JAX"]
    assert '  === "JAX"\n\n      ```python\n      --8<-- "snippets/p/ex_jax.py:model"' in out  # indentation kept


def test_no_page_has_a_hand_written_side_tab():
    labels = "|".join(re.escape(side.label) for side in sides.SIDES)
    header = re.compile(rf'^\s*=== "({labels})"\s*$', re.MULTILINE)
    found = []
    for page in sorted(paths.DOCS_DIR.glob("*.md")):
        text = page.read_text(encoding="utf-8")
        fenced = tabs._fenced(text)  # docs/contributing.md may show one as an example
        found += [f"{page.name}:{m.group(0).strip()}" for m in header.finditer(text)
                  if not any(a <= m.start() < b for a, b in fenced)]
    assert found == [], f"hand-written side tabs (use <!-- md:pair -->): {found}"
