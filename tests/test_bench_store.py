"""The results store: atomic writes, schema checks, staleness."""

from __future__ import annotations

import json
import os

import pytest

from engine import atomic
from engine.bench import fixtures, store
from engine.bench.cases import CASES


@pytest.fixture
def result():
    return fixtures.synthetic_result("headline")


def test_round_trip(tmp_path, result):
    path = tmp_path / "m" / "headline.json"
    store.save(result, path)
    assert store.load(path) == json.loads(json.dumps(result))


def test_crash_during_write_keeps_the_old_file(tmp_path, result, monkeypatch):
    path = tmp_path / "headline.json"
    store.save(result, path)
    before = path.read_bytes()

    def crash(fd):
        raise KeyboardInterrupt  # Ctrl-C after part of the new file was written

    monkeypatch.setattr(atomic.os, "fsync", crash)
    changed = {**result, "status": "partial"}
    with pytest.raises(KeyboardInterrupt):
        store.save(changed, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["headline.json"]  # no temp file left behind


def test_newer_schema_is_rejected(tmp_path, result):
    path = tmp_path / "headline.json"
    path.write_text(json.dumps({**result, "schema_version": store.SCHEMA_VERSION + 1}))
    with pytest.raises(store.StoreError, match="newer"):
        store.load(path)


@pytest.mark.parametrize("content", ["{not json", "[]", '{"schema_version": 1}', ""])
def test_corrupt_or_incomplete_file_is_an_error(tmp_path, content):
    path = tmp_path / "headline.json"
    path.write_text(content)
    with pytest.raises(store.StoreError):
        store.load(path)


def test_save_refuses_an_invalid_result(tmp_path):
    with pytest.raises(store.StoreError):
        store.save({"schema_version": 1}, tmp_path / "x.json")
    assert not (tmp_path / "x.json").exists()


def test_fresh_result_is_not_stale(result):
    assert store.stale_reasons(result, CASES["headline"], result["manifest"]["machine_id"]) == []


def test_stale_when_code_versions_device_or_status_change(result):
    case, machine = CASES["headline"], result["manifest"]["machine_id"]
    assert store.stale_reasons(None, case, machine) == ["missing"]
    code = {**result, "code_hash": "0" * 64}
    assert any("code" in r for r in store.stale_reasons(code, case, machine))
    versions = json.loads(json.dumps(result))
    versions["manifest"]["versions"]["torch"] = "1.0.0"
    assert any("torch 1.0.0 ->" in r for r in store.stale_reasons(versions, case, machine))
    assert any("device" in r for r in store.stale_reasons(result, case, "cuda-other-1c-00000000"))
    failed = {**result, "status": "failed", "failure": {"reason": "boom"}}
    assert any("boom" in r for r in store.stale_reasons(failed, case, machine))


def test_code_hash_covers_helpers_and_timing_child():
    deps = {p.name for f in CASES["headline"].files() for p in __import__("engine.keys").keys.local_dependencies(f)}
    assert {"cnn_torch.py", "cnn_tf.py", "data.py"} <= deps
    assert {p.name for p in store.HARNESS_FILES} == {"child.py", "timed_env.py"}


def test_code_hash_tells_cases_with_different_child_env_apart():
    # Same workload files, but the allocator case runs under glibc's defaults.
    assert CASES["allocator"].files() == CASES["headline"].files()
    assert store.case_code_hash(CASES["allocator"]) != store.case_code_hash(CASES["headline"])


def test_unwritable_results_folder_is_detected(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(store.StoreError):
        store.check_writable(blocker / "results" / "machine")
    store.check_writable(tmp_path / "fine" / "machine")  # creatable: no error


def test_load_all_reads_every_machine(tmp_path):
    fixtures.write_all(tmp_path, "machine-a")
    fixtures.write_all(tmp_path, "machine-b")
    found = store.load_all(tmp_path)
    assert set(found) == {"machine-a", "machine-b"}
    assert set(found["machine-a"]) == set(CASES)
    assert os.listdir(tmp_path / "machine-a")
