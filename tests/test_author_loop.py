"""The fast author loop: a no-op build does not start TensorFlow to redraw an unchanged TensorBoard chart."""

from __future__ import annotations

import logging

import pytest

from ecosystem import tensorboard_curves
from engine import paths


@pytest.fixture
def runs(tmp_path, monkeypatch):
    dirs = {}
    for stem, relative in tensorboard_curves.RUNS.values():
        d = tmp_path / "files" / stem / relative
        d.mkdir(parents=True)
        (d / "events.out.tfevents.1.host").write_bytes(b"first")
        dirs[stem] = d
    monkeypatch.setattr(paths, "GENERATED_DIR", tmp_path / "generated")
    monkeypatch.setattr(paths, "CACHE_DIR", tmp_path / "cache")
    monkeypatch.setattr(tensorboard_curves, "find_run_dir", lambda files_dir, relative: files_dir)
    monkeypatch.setattr("engine.snippet_runner.files_dir", lambda page, stem: dirs[stem])
    monkeypatch.setattr(tensorboard_curves, "_record", lambda page, stem: {"stem": stem})
    return dirs


def test_the_key_follows_every_input(runs):
    dirs = list(runs.values())
    key = tensorboard_curves.inputs_key(dirs, {"a": {}})
    assert tensorboard_curves.inputs_key(dirs, {"a": {}}) == key
    assert tensorboard_curves.inputs_key(dirs, {"a": {"date": "later"}}) != key
    (dirs[0] / "events.out.tfevents.1.host").write_bytes(b"second")
    assert tensorboard_curves.inputs_key(dirs, {"a": {}}) != key


def test_unchanged_runs_are_not_read_again(runs, monkeypatch):
    calls = []

    def read(dirs):
        calls.append(dirs)
        run = tensorboard_curves.Run(scalars={"train/loss": [(0, 1.0)], "test/accuracy": [(0, 0.5)]})
        return [run for _ in dirs]

    monkeypatch.setattr(tensorboard_curves, "read_runs_in_child", read)
    monkeypatch.setattr(tensorboard_curves, "render_svg", lambda runs, caption: "<svg/>")
    monkeypatch.setattr(tensorboard_curves, "render_tags", lambda runs: "tags\n")
    log = logging.getLogger("test")
    tensorboard_curves.refresh("stale", log)
    tensorboard_curves.refresh("stale", log)
    assert len(calls) == 1  # the second build reused the chart
    next(iter(runs.values())).joinpath("events.out.tfevents.1.host").write_bytes(b"new run")
    tensorboard_curves.refresh("stale", log)
    assert len(calls) == 2  # a new event file is read
    tensorboard_curves.refresh("all", log)
    assert len(calls) == 3  # GUIDE_RUN=all redraws regardless


def test_a_no_op_build_does_not_render_the_benchmarks_again(tmp_path, monkeypatch):
    import json

    from engine import bench
    from engine.bench import fixtures, harness, render

    results = tmp_path / "results"
    fixtures.write_all(results)
    for path in results.glob("*/*.json"):  # committed default-profile results: a quick build keeps them
        path.write_text(json.dumps({**json.loads(path.read_text()), "profile": "default"}))
    monkeypatch.setenv("GUIDE_RESULTS_DIR", str(results))
    monkeypatch.delenv("GUIDE_BENCH_PROFILE", raising=False)
    monkeypatch.setattr(render, "out_dir", lambda: tmp_path / "out")
    monkeypatch.setattr(harness, "run_case", lambda *a, **k: pytest.fail("a no-op build ran a benchmark"))
    real, calls = render.render_all, []
    monkeypatch.setattr(render, "render_all", lambda *a, **k: calls.append(1) or real(*a, **k))
    log = logging.getLogger("test")
    bench.refresh_for_build("none", log)
    bench.refresh_for_build("none", log)
    assert len(calls) == 1
    (tmp_path / "out" / "glance.md").unlink()  # a fragment gone: render again
    bench.refresh_for_build("none", log)
    assert len(calls) == 2 and (tmp_path / "out" / "glance.md").exists()
    path = next(results.glob("*/headline.json"))
    path.write_text(path.read_text().replace('"profile": "default"', '"profile": "default" '))
    bench.refresh_for_build("none", log)
    assert len(calls) == 3  # a changed result file renders again
