"""The TFX pipeline of the Ecosystem page: what its ML Metadata store recorded, the blessing gate, the venv checks.

The build's own run is read back from its cache entry (the tests that need it
ask for ``built_site``); one more pipeline run, with a threshold no model can
reach, checks that the blessing gates the push. The store is read here with
the standard library's ``sqlite3``, not with the code under test.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import stat
from pathlib import Path

import pytest

from ecosystem import tfx_runs
from engine import install_costs, paths

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements-tfx.txt"
ARTIFACTS = {"Examples", "Model", "ModelEvaluation", "ModelBlessing", "PushedModel"}
COMPONENTS = ["CsvExampleGen", "Trainer", "Evaluator", "Pusher"]
LIVE, COMPLETE = 2, 3  # ml_metadata's Artifact.State.LIVE and Execution.State.COMPLETE


def recorded(store: Path) -> dict:
    """Artifacts (type -> uri, state, custom int properties) and executions (component, state) in an MLMD store."""
    with sqlite3.connect(f"file:{store}?mode=ro", uri=True) as db:
        artifacts = {}
        for artifact_id, type_name, uri, state in db.execute(
                "SELECT a.id, t.name, a.uri, a.state FROM Artifact a JOIN Type t ON t.id = a.type_id"):
            props = dict(db.execute("SELECT name, int_value FROM ArtifactProperty WHERE artifact_id = ? "
                                    "AND is_custom_property = 1 AND int_value IS NOT NULL", (artifact_id,)))
            artifacts[type_name] = {"uri": uri, "state": state, "props": props}
        executions = [(name.rsplit(".", 1)[-1], state) for name, state in db.execute(
            "SELECT t.name, e.last_known_state FROM Execution e JOIN Type t ON t.id = e.type_id ORDER BY e.id")]
    return {"artifacts": artifacts, "executions": executions}


def check_recorded_run(root: Path, blessed: bool) -> None:
    store = recorded(root / "metadata.sqlite")
    artifacts = store["artifacts"]
    assert ARTIFACTS <= set(artifacts), f"ML Metadata lacks {ARTIFACTS - set(artifacts)}"
    for name in ARTIFACTS:
        assert artifacts[name]["state"] == LIVE, (name, artifacts[name])
        assert Path(artifacts[name]["uri"]).is_dir(), f"{name}'s folder {artifacts[name]['uri']} is not there"
    assert store["executions"] == [(component, COMPLETE) for component in COMPONENTS]
    assert artifacts["ModelBlessing"]["props"].get("blessed") == int(blessed)
    assert artifacts["PushedModel"]["props"].get("pushed") == int(blessed)
    pushed = sorted((root / "serving_model").rglob("saved_model.pb"))
    assert len(pushed) == int(blessed), pushed


@pytest.fixture(scope="module")
def digits_csv(tmp_path_factory) -> Path:
    data_dir = tmp_path_factory.mktemp("tfx-data")
    tfx_runs.write_digits_csv(data_dir)
    return data_dir


def test_the_builds_run_recorded_every_artifact_and_pushed_the_blessed_model(built_site, digits_csv):
    entry = paths.CACHE_DIR / "tfx" / tfx_runs.run_key(digits_csv, LOCK)
    assert (entry / "run.json").is_file(), f"the build left no finished TFX run for this code at {entry}"
    check_recorded_run(entry / "pipeline", blessed=True)
    page = (built_site.site_dir / "ecosystem" / "index.html").read_text(encoding="utf-8")
    for component in COMPONENTS:
        assert f"<code>{component}</code>" in page
    assert "<strong>blessed</strong>" in page and "Evaluator/blessing/" in page


def test_an_impossible_threshold_blesses_nothing_and_the_pusher_pushes_nothing(tmp_path, digits_csv):
    problem = install_costs.own_venv_problem("tfx")
    assert problem is None, f"{problem}: run `make venv`"
    summary = tfx_runs.run_pipeline(tfx_runs.tfx_python(ROOT), digits_csv, tmp_path / "entry", accuracy_at_least=1.01)
    check_recorded_run(tmp_path / "entry" / "pipeline", blessed=False)
    assert summary["pushed_files"] == [] and summary["accuracy"] < 1.01
    assert "**not blessed**; the Pusher pushed nothing." in tfx_runs.render({"dataset": "digits", **summary})


def _fake_python(path: Path, script: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\n{script}\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return path


def _tfx_root(tmp_path: Path, lock_sha256: str | None) -> Path:
    """A repository root with the lock and a stand-in .venv-tfx whose record names ``lock_sha256``."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "requirements-tfx.txt").write_bytes(LOCK.read_bytes())
    _fake_python(tmp_path / ".venv-tfx" / "bin" / "python", "exit 0")
    if lock_sha256:
        (tmp_path / ".venv-tfx" / install_costs.RECORD_NAME).write_text(json.dumps({"lock_sha256": lock_sha256}))
    return tmp_path


@pytest.mark.parametrize("state,why", [
    ("missing", ".venv-tfx is missing"),
    ("unfinished", ".venv-tfx was not finished by `make venv`"),
    ("outdated", ".venv-tfx was installed from an older requirements-tfx.txt"),
])
def test_an_unusable_tfx_venv_is_one_line_that_names_make_venv(tmp_path, state, why):
    if state == "missing":
        (tmp_path / "requirements-tfx.txt").write_bytes(LOCK.read_bytes())
    else:
        _tfx_root(tmp_path, None if state == "unfinished" else "0" * 64)
    with pytest.raises(tfx_runs.TfxEnvError) as error:
        tfx_runs.check_venv(tmp_path)
    message = str(error.value)
    assert "\n" not in message and message.startswith(why) and message.endswith("Fix: `make venv`"), message
    _tfx_root(tmp_path, install_costs.sha256_file(LOCK))  # the current lock: usable
    tfx_runs.check_venv(tmp_path)


def test_a_venv_that_cannot_import_tfx_is_one_line_and_leaves_no_entry(tmp_path):
    python = _fake_python(tmp_path / "python", "echo 'TFX_IMPORT_ERROR ModuleNotFoundError: no tfx' >&2; exit 3")
    with pytest.raises(tfx_runs.TfxEnvError, match=r"cannot import TFX \(ModuleNotFoundError: no tfx\)\. "
                                                   r"Fix: `make venv`$"):
        tfx_runs.run_pipeline(python, tmp_path, tmp_path / "entry")
    assert not (tmp_path / "entry").exists()


@pytest.fixture
def scratch_repo(tmp_path, monkeypatch):
    """The build step pointed at a scratch root, cache and generated folder, its venv current."""
    root = _tfx_root(tmp_path / "repo", install_costs.sha256_file(LOCK))
    monkeypatch.setattr(paths, "ROOT", root)
    monkeypatch.setattr(paths, "CACHE_DIR", root / ".cache")
    monkeypatch.setattr(paths, "GENERATED_DIR", root / "docs" / "generated")

    def tiny_csv(folder: Path) -> str:
        (folder / "d.csv").write_text("1\n")
        return "Dataset: a stand-in"

    monkeypatch.setattr(tfx_runs, "write_digits_csv", tiny_csv)
    return root


RUN = {"tfx": "1.21.0", "pipeline_seconds": 1.0, "process_seconds": 2.0, "accuracy_at_least": 0.8, "accuracy": 0.9,
       "pushed_files": ["serving_model/1/saved_model.pb"], "contexts": 1, "executions": [],
       "artifacts": [{"id": 1, "type": "ModelBlessing", "uri": "Evaluator/blessing/3", "state": "LIVE",
                      "properties": {"blessed": 1}}]}


def test_an_unchanged_pipeline_is_not_rerun_and_an_unfinished_entry_is(scratch_repo, monkeypatch):
    runs = []
    monkeypatch.setattr(tfx_runs, "run_pipeline", lambda *args, **kwargs: runs.append(args) or dict(RUN))
    log = logging.getLogger("test")
    tfx_runs.refresh("stale", log)
    tfx_runs.refresh("stale", log)
    assert len(runs) == 1  # the second build found the entry
    entry = next((scratch_repo / ".cache" / "tfx").iterdir())
    (entry / "run.json").unlink()  # what a killed run leaves: a folder without its record
    tfx_runs.refresh("stale", log)
    assert len(runs) == 2
    assert "**blessed**" in (scratch_repo / "docs" / "generated" / "ecosystem" / "tfx_run.md").read_text()


def test_a_failed_pipeline_run_fails_the_step_and_leaves_no_entry(scratch_repo, monkeypatch):
    fake = _fake_python(scratch_repo / ".venv-tfx" / "bin" / "python", "echo 'Trainer exploded' >&2; exit 1")
    monkeypatch.setattr(tfx_runs, "tfx_python", lambda root: fake)
    with pytest.raises(RuntimeError, match="failed, exit status 1:\nTrainer exploded"):
        tfx_runs.refresh("stale", logging.getLogger("test"))
    assert list((scratch_repo / ".cache" / "tfx").iterdir()) == []


def test_the_pipeline_file_imports_nothing_of_tfx_at_the_top():
    # The doctests import it in the main venv, which has no TFX: TFX is imported inside the functions.
    source = (ROOT / "snippets" / "ecosystem" / "tfx_pipeline.py").read_text()
    top_level = [line for line in source.splitlines() if line.startswith(("import ", "from "))]
    assert not [line for line in top_level if any(name in line for name in ("tfx", "ml_metadata", "tensorflow"))]
