"""The notebook build step: conversion, execution, caching and failures.

Every test works on a tiny throwaway percent script written to a temporary
folder, with its own cache and output folders, so nothing here touches the
real notebooks or the repository's caches.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT / "scripts") not in sys.path:
    sys.path.insert(0, str(ROOT / "scripts"))

from engine import notebooks  # noqa: E402

LOG = logging.getLogger("test_notebooks")

TINY = '''# %% [markdown]
# # A tiny notebook

# %%
"""Doctest-able docstring.

>>> 1 + 1
2
"""
import sys

# %%
# --8<-- [start:work]
values = [n * n for n in range(5)]
print("squares", values)
print("to stderr", file=sys.stderr)
# --8<-- [end:work]

# %%
sum(values)

# %%
import os
import common.outputs  # importable: the kernel has PYTHONPATH=snippets:scripts
print(os.getcwd())
'''


@pytest.fixture
def dirs(tmp_path):
    source = tmp_path / "src" / "tiny_torch.py"
    source.parent.mkdir()
    source.write_text(TINY)
    return source, tmp_path / "cache", tmp_path / "generated"


def _build(source, cache, generated, mode="stale"):
    return notebooks.build(source, mode=mode, cache_dir=cache, generated_dir=generated, timeout=120, log=LOG)


def test_convert_makes_cells_without_section_markers(dirs):
    source, _, _ = dirs
    nb = notebooks.convert(source)
    kinds = [cell.cell_type for cell in nb.cells]
    assert kinds == ["markdown", "code", "code", "code", "code"]
    work = nb.cells[2].source
    assert "values = [n * n" in work
    assert "--8<--" not in work  # include markers are stripped
    assert [cell.id for cell in nb.cells] == [f"tiny_torch-{i:03d}" for i in range(5)]
    assert notebooks.convert(source).cells[1].id == nb.cells[1].id  # deterministic ids


def test_execute_caches_and_reuses(dirs):
    source, cache, generated = dirs
    first = _build(source, cache, generated)
    assert first.executed
    out = generated / "tiny_torch.ipynb"
    nb = nbformat.reads(out.read_text(), as_version=4)  # joins JSON line lists into strings
    outputs = [cell.get("outputs", []) for cell in nb["cells"] if cell["cell_type"] == "code"]
    assert outputs[1][0]["text"] == "squares [0, 1, 4, 9, 16]\n"
    assert outputs[1][1] == {"name": "stderr", "output_type": "stream", "text": "to stderr\n"}
    assert outputs[2][0]["data"]["text/plain"] == "30"
    assert outputs[3][0]["text"] == f"{notebooks.paths.ROOT}\n"
    # Nothing volatile: no timestamps, the published kernelspec, cwd = repository root.
    assert all("execution" not in cell["metadata"] for cell in nb["cells"])
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
    assert (cache / "tiny_torch.ipynb").read_bytes() == out.read_bytes()

    stamp = out.stat().st_mtime_ns
    second = _build(source, cache, generated)
    assert not second.executed  # same key: reused, not run
    assert out.stat().st_mtime_ns == stamp  # and the output file was not rewritten


def test_key_changes_with_source_and_triggers_a_run(dirs):
    source, cache, generated = dirs
    key_before = notebooks.cache_key(source)
    _build(source, cache, generated)
    source.write_text(TINY.replace("range(5)", "range(3)"))
    assert notebooks.cache_key(source) != key_before
    rerun = _build(source, cache, generated)
    assert rerun.executed
    nb = nbformat.reads((generated / "tiny_torch.ipynb").read_text(), as_version=4)
    assert nb.cells[2].outputs[0].text == "squares [0, 1, 4]\n"


def test_mode_all_always_executes_and_none_never_does(dirs):
    source, cache, generated = dirs
    with pytest.raises(notebooks.NotebookError, match="tiny_torch: no executed notebook"):
        _build(source, cache, generated, mode="none")
    assert _build(source, cache, generated, mode="all").executed
    assert _build(source, cache, generated, mode="all").executed
    source.write_text(TINY.replace("range(5)", "range(2)"))
    reused = _build(source, cache, generated, mode="none")  # stale, but "none" means never run
    assert not reused.executed
    with pytest.raises(ValueError):
        _build(source, cache, generated, mode="sometimes")


def test_same_execution_gives_same_bytes(dirs):
    source, cache, generated = dirs
    _build(source, cache, generated, mode="all")
    first = (generated / "tiny_torch.ipynb").read_bytes()
    _build(source, cache, generated, mode="all")
    assert (generated / "tiny_torch.ipynb").read_bytes() == first


def test_failing_cell_names_the_notebook_and_the_error(dirs):
    source, cache, generated = dirs
    source.write_text(TINY + '\n# %%\nraise ValueError("planted failure 42")\n')
    with pytest.raises(notebooks.NotebookError) as caught:
        _build(source, cache, generated)
    message = str(caught.value)
    assert message.startswith("tiny_torch:")
    assert "ValueError" in message and "planted failure 42" in message
    assert not (cache / "tiny_torch.json").exists()  # failures are never cached
    assert not (generated / "tiny_torch.ipynb").exists()


def test_native_log_lines_are_dropped_but_real_stderr_kept():
    import nbformat

    outputs = [
        nbformat.v4.new_output("stream", name="stdout", text="a\n"),
        nbformat.v4.new_output("stream", name="stdout", text="b\n"),
        nbformat.v4.new_output(
            "stream", name="stderr",
            text="WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
                 "I0000 00:00:1795672027.458431   18014 port.cc:153] oneDNN custom operations are on.\n"
                 "UserWarning: something real\n",
        ),
    ]
    tidy = notebooks._tidy_outputs(outputs)
    assert [(o.name, o.text) for o in tidy] == [("stdout", "a\nb\n"), ("stderr", "UserWarning: something real\n")]


def test_real_notebook_sources_are_found_and_convert():
    found = {path.stem for path in notebooks.sources()}
    assert {"digits_end_to_end_torch", "digits_end_to_end_tf"} <= found
    for path in notebooks.sources():
        nb = notebooks.convert(path)
        assert nb.cells[0].cell_type == "markdown"
        assert any("confusion" in cell.source for cell in nb.cells if cell.cell_type == "code")


def test_build_step_is_registered():
    from engine import hook

    assert "engine.notebooks:refresh" in [hook.step_name(step) for step in hook.build_steps()]


def test_a_cell_that_leaves_a_process_in_its_own_session_fails_the_notebook(dirs, tmp_path):
    source, cache, generated = dirs
    pid_file = tmp_path / "escaped.pid"
    source.write_text(TINY + f'\n# %%\nimport subprocess\np = subprocess.Popen(["sleep", "1239"], '
                      f'start_new_session=True)\nopen({str(pid_file)!r}, "w").write(str(p.pid))\n')
    with pytest.raises(notebooks.NotebookError) as caught:
        _build(source, cache, generated)
    pid = int(pid_file.read_text())
    assert str(caught.value) == f"tiny_torch left 1 process running (pid {pid}: sleep 1239, own session); stopped it"
    state = notebooks.procs._stat(pid)
    assert state is None or state[0] in ("Z", "X"), f"the escaped sleep {pid} is still running"
    assert not (cache / "tiny_torch.json").exists()
