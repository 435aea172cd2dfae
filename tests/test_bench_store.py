"""The results store: atomic writes, schema checks, staleness."""

from __future__ import annotations

import contextlib
import json
import os

import pytest

import tmpfs
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
    assert any("another machine" in r for r in store.stale_reasons(result, case, "cuda-other-1c-00000000"))
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


# ---------------------------------------------------------------- one schema, checked on every read
def _mutated(result, change):
    data = json.loads(json.dumps(result))
    change(data)
    return data


@pytest.mark.parametrize(("change", "field"), [
    (lambda d: d.update(manifest=[]), "manifest: expected object, found a list"),
    (lambda d: d["runs"][0].update(result="abc"), "runs[0].result: expected object, found a string 'abc'"),
    (lambda d: d.update(status=None), "status: expected one of 'ok', 'partial', 'failed', found null"),
    (lambda d: d.update(code_hash=123), "code_hash: expected string, found a number 123"),
    (lambda d: d.update(code_hash="xyz"), "code_hash: expected a 64-digit lowercase hex hash"),
    (lambda d: d["runs"][0].update(ok="yes"), "runs[0].ok: expected boolean"),
    (lambda d: d["runs"][0].pop("framework"), "runs[0]: 'framework' is a required property"),
    (lambda d: d["runs"][0].update(ok=False), "runs[0]: 'reason' is a required property"),
    (lambda d: d["manifest"].update(versions={"torch": 2}), "manifest.versions.torch: expected string"),
    (lambda d: d.update(runs={}), "runs: expected array, found an object"),
    (lambda d: d.pop("profile"), "the file: 'profile' is a required property"),
])
def test_an_invalid_field_is_named_with_the_file(tmp_path, result, change, field):
    path = tmp_path / "headline.json"
    path.write_text(json.dumps(_mutated(result, change)))
    with pytest.raises(store.StoreError) as error:
        store.load(path)
    assert str(error.value).startswith(f"{path}: not a valid result file: {field}"), str(error.value)


def test_random_bytes_are_an_invalid_file_not_a_decode_traceback(tmp_path):
    path = tmp_path / "headline.json"
    path.write_bytes(bytes(range(128, 256)) * 4)
    with pytest.raises(store.StoreError, match=r"headline\.json: not a result file \(not UTF-8 text"):
        store.load(path)


def test_corrupt_json_message_reads_right(tmp_path):
    path = tmp_path / "headline.json"
    path.write_text('{"case": "headline')
    with pytest.raises(store.StoreError) as error:
        store.load(path)
    assert "at at" not in str(error.value)
    assert "corrupt JSON (Unterminated string starting at: line 1, column 10)" in str(error.value)


def test_the_schema_is_open_to_new_fields_modes_and_kinds(tmp_path, result):
    # Other work adds these; the schema types the core fields and lets the rest through. (A mode
    # no run of the fixture has: one it has would make runs[0] a second copy of that run.)
    data = _mutated(result, lambda d: (
        d["manifest"].update(capabilities={"fp8": {"available": False, "evidence": "no flags"}}),
        d["runs"][0].update(mode="eager-cl-fp8", tier="fp8", precision={"compute": "float8"}),
        d.update(kind="profile", extra_top_level=[1, 2])))
    path = tmp_path / "headline.json"
    store.save(data, path)
    assert store.load(path)["runs"][0]["mode"] == "eager-cl-fp8"


def test_every_committed_result_file_is_valid():
    from engine import paths

    files = sorted(paths.RESULTS_DIR.glob("*/*.json"))
    assert files
    for path in files:
        store.load(path)


# ---------------------------------------------------------------- writability and failed saves
@pytest.fixture
def small_fs(tmp_path):
    """Mounts small tmpfs folders for one test (see tests/tmpfs.py)."""
    with contextlib.ExitStack() as stack:
        yield lambda name, *options: stack.enter_context(tmpfs.mounted(tmp_path / name, *options))


def test_read_only_filesystem_is_not_writable_even_for_root(small_fs):
    folder = small_fs("ro", "ro")
    with pytest.raises(store.StoreError, match="not writable.*Read-only file system"):
        store.check_writable(folder / "machine")


def test_proc_is_not_writable_even_for_root():
    with pytest.raises(store.StoreError, match="not writable"):
        store.check_writable(__import__("pathlib").Path("/proc/guide-results/machine"))


def test_a_save_on_a_full_disk_keeps_the_runs_in_a_recovery_file(small_fs, result, monkeypatch, tmp_path):
    folder = small_fs("full")
    store.check_writable(folder / "m")  # an empty probe file still fits: the failure comes at the save
    tmpfs.fill(folder)
    monkeypatch.setattr(store.tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    with pytest.raises(store.StoreError) as error:
        store.save_or_recover(result, folder / "m" / "headline.json")
    message = str(error.value)
    assert "could not save" in message and "No space left on device" in message
    recovery = next((tmp_path / "tmp").glob("headline.recovered-*.json"))
    assert f"kept in {recovery}" in message
    assert json.loads(recovery.read_text())["runs"] == json.loads(json.dumps(result["runs"]))


def test_a_failed_save_prefers_a_recovery_file_beside_the_target(tmp_path, result, monkeypatch):
    target = tmp_path / "m" / "headline.json"
    real = atomic.write_json_atomic

    def refuse_the_target(path, obj):
        if path == target:
            raise OSError(28, "No space left on device")
        real(path, obj)

    monkeypatch.setattr(store.atomic, "write_json_atomic", refuse_the_target)
    with pytest.raises(store.StoreError, match="kept in .*/m/headline.recovered-"):
        store.save_or_recover(result, target)
    assert not target.exists()
    assert store.result_files(tmp_path) == []  # recovery files are not results


def test_rendering_from_a_missing_or_empty_store_is_refused(tmp_path):
    with pytest.raises(store.StoreError, match="does not exist"):
        store.require_results(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(store.StoreError, match="holds no result files"):
        store.require_results(tmp_path / "empty")


def test_downgrade_is_a_weaker_profile_over_a_stronger_one(result):
    assert store.downgrade(None, "quick") is None
    assert store.downgrade({**result, "profile": "quick"}, "default") is None
    assert store.downgrade({**result, "profile": "default"}, "default") is None
    assert "default-profile" in store.downgrade({**result, "profile": "default"}, "quick")


def test_a_read_only_generated_folder_error_names_the_target_not_the_temp_file(small_fs):
    folder = small_fs("generated", "ro")
    with pytest.raises(OSError) as error:
        atomic.write_if_changed(folder / "bench" / "summary.md", "x")
    assert f"cannot write {folder / 'bench' / 'summary.md'}: Read-only file system" in str(error.value)
    assert ".tmp" not in str(error.value)
    folder = small_fs("generated-rw")
    (folder / "bench").mkdir()
    tmpfs.remount_read_only(folder)
    with pytest.raises(OSError, match=r"cannot write .*/bench/summary\.md: Read-only") as error:
        atomic.write_if_changed(folder / "bench" / "summary.md", "x")
    assert ".tmp" not in str(error.value)


# --- Limits beside the schema ----------------------------------------------------------
def test_a_file_over_the_size_limit_is_refused_unread_in_one_line(tmp_path, result):
    from engine.bench import schema

    path = tmp_path / "headline.json"
    text = json.dumps(result)
    path.write_text(text[:-1] + ', "padding": "' + "x" * schema.MAX_RESULT_BYTES + '"}')
    with pytest.raises(store.StoreError) as error:
        store.load(path)
    assert str(error.value) == (f"{path}: larger than {schema.MAX_RESULT_BYTES:,} bytes, the limit of a result file "
                                "(schema.MAX_RESULT_BYTES, docs/method.md#result-files); not read")


def test_the_size_limit_leaves_room_above_every_committed_result():
    from engine import paths
    from engine.bench import schema

    largest = max(p.stat().st_size for p in paths.RESULTS_DIR.glob("*/*.json"))
    assert largest * 20 < schema.MAX_RESULT_BYTES  # ample: a full profile writes about ten times a default one


def test_a_run_listed_twice_is_rejected(tmp_path, result):
    data = _mutated(result, lambda d: d["runs"].append(dict(d["runs"][1])))
    run = data["runs"][1]
    path = tmp_path / "headline.json"
    path.write_text(json.dumps(data))
    with pytest.raises(store.StoreError) as error:
        store.load(path)
    assert str(error.value) == (
        f"{path}: not a valid result file: runs[{len(data['runs']) - 1}]: the same run as runs[1] "
        f"({run['framework']} {run['mode']} batch {run['batch_size']} width {run['width']} repeat {run['repeat']}); "
        "a result lists each run once")


def test_a_carried_over_run_beside_a_new_failed_one_is_not_a_duplicate(tmp_path, result):
    # What harness._merge_previous writes when a configuration fails now: the old good runs, carried over.
    failed = {**result["runs"][1], "ok": False, "reason": "exit status 1"}
    failed.pop("result", None)
    data = _mutated(result, lambda d: d["runs"].__setitem__(1, failed) or d["runs"].append(
        {**result["runs"][1], "carried_over": True}))
    store.save(data, tmp_path / "headline.json")


def test_unknown_top_level_keys_come_from_the_schema_alone(result):
    from engine.bench import schema

    assert schema.unknown_keys(result) == []
    assert schema.unknown_keys({**result, "padding": "x", "zz": 1}) == ["padding", "zz"]
    assert set(schema.RESULT["properties"]) >= set(result)


def test_the_measuring_lock_waits_or_refuses_and_a_dead_holder_never_blocks(tmp_path):
    import threading
    import time

    from conftest import store_lock_held

    root = tmp_path / "results"
    with store_lock_held(root) as holder:
        with pytest.raises(store.StoreBusy) as busy:
            with store.measuring(root, "refuse"):
                pytest.fail("took a lock another process holds")
        assert f"is being measured into by pid {holder.pid} (-c)" in str(busy.value)
        said = []

        def kill_soon():
            time.sleep(1)
            holder.kill()  # SIGKILL: no clean-up of its own

        threading.Thread(target=kill_soon, daemon=True).start()
        started = time.monotonic()
        with store.measuring(root, "wait", say=said.append, poll_s=0.05) as waited:
            holder_dead = holder.poll() is not None
        assert waited and holder_dead and time.monotonic() - started < 30
        assert len(said) == 1 and f"by pid {holder.pid}" in said[0] and "waiting for it to finish" in said[0]
    # Dead holder, lock file still there: the next one takes it at once, and says nothing.
    assert (root / store.LOCK_NAME).exists()
    with store.measuring(root, "refuse", say=said.append) as waited:
        assert not waited
    assert len(said) == 1

def test_the_size_limit_stops_the_read_itself(tmp_path):
    # A FIFO standing for a file that grows (or a link to /dev/zero): the reader must stop at the
    # limit, not read to the end and measure afterwards. The writer offers twice the limit.
    import threading

    from engine.bench import schema

    path = tmp_path / "headline.json"
    os.mkfifo(path)
    offered, accepted = 2 * schema.MAX_RESULT_BYTES, []

    def write():
        chunk = b" " * (1 << 16)
        with contextlib.suppress(BrokenPipeError), open(path, "wb") as handle:
            for _ in range(offered // len(chunk)):
                handle.write(chunk)
                accepted.append(len(chunk))

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    with pytest.raises(store.StoreError, match="larger than"):
        store.load(path)
    writer.join(timeout=30)
    assert not writer.is_alive()
    assert sum(accepted) < offered, "the whole stream was read before the limit was applied"
