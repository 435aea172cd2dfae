"""The page folders: what the engine finds in snippets/<page>/, and what it does with it (engine.pages)."""

from __future__ import annotations

import dataclasses
import logging

import pytest
from mkdocs.exceptions import PluginError

from engine import codestats, hook, pages, paths
from engine.bench import cases as cases_mod
from engine.bench import fixtures, generic, render
from engine.bench.cases import CASES


def test_every_case_lives_in_the_page_folder_that_declares_it():
    assert pages.case_module_names() == ["speed.speed_cases"]
    for case in CASES.values():
        assert case.page == "speed" and case.module("tf") == f"speed.{case.workload}_tf"
        assert all(path.parent == paths.SNIPPETS_DIR / "speed" for path in case.files())


def test_the_page_steps_are_imported_functions_run_after_the_snippets():
    names = [hook.step_name(step) for step in hook.build_steps()]
    assert names[0] == "engine.snippet_runner:refresh" and names[-2] == "engine.bench:refresh_for_build"
    assert names[-1] == "engine.claims:refresh"  # the ledger reads the verdicts the benchmarks rendered
    assert names.index("ecosystem.tensorboard_curves:refresh") > names.index("engine.snippet_runner:refresh")
    assert "scalability.scalability_build:refresh" in names
    assert not [name for name in names if name.startswith("engine.") and "scalab" in name]


def test_a_case_name_two_pages_declare_is_refused(monkeypatch):
    case = CASES["inference"]
    monkeypatch.setattr(pages, "declared_cases", lambda: [("speed", case), ("other", case)])
    with pytest.raises(ValueError, match="snippets/speed/ and snippets/other/"):
        cases_mod.discover()


def test_the_counted_pairs_of_a_page_come_first_in_its_code_counts(tmp_path, monkeypatch):
    monkeypatch.setattr(paths, "GENERATED_DIR", tmp_path)
    codestats.refresh("none", logging.getLogger("test"))
    rows = [line.split("|")[1].strip() for line in (tmp_path / "codestats" / "ease_of_use.md").read_text().splitlines()
            if line.startswith("| `")]
    assert rows[:2] == ["`cnn`", "`transformer`"] and len(rows) > 2
    assert "`cnn`" not in (tmp_path / "codestats" / "graphs.md").read_text()


def test_a_page_in_docs_and_in_its_folder_at_once_stops_the_build(tmp_path, monkeypatch):
    from mkdocs.structure.files import File, Files

    page = tmp_path / "graphs" / "page.md"
    page.parent.mkdir()
    page.write_text("# Graphs\n")
    monkeypatch.setattr(pages, "folder_pages", lambda: [("graphs.md", page)])
    monkeypatch.setattr(paths, "ROOT", tmp_path)
    config = {"site_dir": str(tmp_path / "site"), "use_directory_urls": True}
    existing = Files([File("graphs.md", str(paths.DOCS_DIR), config["site_dir"], True)])
    with pytest.raises(PluginError, match="both the page graphs.md"):
        hook.on_files(existing, config)


def test_a_case_with_no_renderer_of_its_own_gets_the_generic_table(tmp_path, monkeypatch):
    extra = dataclasses.replace(CASES["allocator"], name="contributed", variants={}, title="A contributed case")
    monkeypatch.setitem(CASES, "contributed", extra)
    monkeypatch.setattr(generic, "CASES", CASES)
    results = tmp_path / "results"
    fixtures.write_all(results)
    render.render_all(results, tmp_path / "out")
    table = (tmp_path / "out" / "contributed.md").read_text()
    assert "| Mode | Batch | Size | Median step ms |" in table
    labels = [line.split("|")[1].strip() for line in table.splitlines() if line.startswith("| PyTorch") or
              line.startswith("| TF")]
    assert labels == ["PyTorch eager", "TF tf.function"]  # the allocator grid's two default configurations
    assert "headline.md" not in generic.cases_without_fragment({"headline.md": ""})
