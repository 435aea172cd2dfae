"""Which machine measured what: fingerprints, ids, migration, import, and pages that name the machine.

Every machine here is a recorded description (tests/fixtures/machines/), so the
tests hold on whichever CPU runs them: none passes or fails because of the
builder's vendor or features.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from engine import environment, machine
from engine.bench import fixtures, intake, render, store
from engine.bench.cases import CASES

ROOT = Path(__file__).resolve().parents[1]
MACHINES = ROOT / "tests" / "fixtures" / "machines"
COMMITTED = sorted(p for p in (ROOT / "results").iterdir() if p.is_dir())
# The committed folders whose results were filed before fingerprints and migrated (regen.py migrate).
MIGRATED = [p for p in COMMITTED if any("migrated_from" in json.loads(f.read_text())["manifest"]
                                        for f in p.glob("*.json"))]


@pytest.fixture(autouse=True)
def _forget_the_description():
    yield
    machine.reset()


def describe(monkeypatch, name: str) -> str:
    """Make this process believe it runs on a recorded machine; return that machine's id."""
    monkeypatch.setenv("GUIDE_MACHINE_FILE", str(MACHINES / name))
    machine.reset()
    return environment.machine_id("cpu")


def recorded_cpuinfo(name: str) -> str:
    return json.loads((MACHINES / name).read_text())["cpuinfo"]


# --- ids ---------------------------------------------------------------------------------------

def test_one_model_string_with_and_without_amx_gives_two_ids(monkeypatch):
    with_amx = describe(monkeypatch, "intel_xeon_amx.json")
    assert environment.cpu_model() == "Intel(R) Xeon(R) Processor"
    without = describe(monkeypatch, "intel_xeon_noamx.json")
    assert environment.cpu_model() == "Intel(R) Xeon(R) Processor"
    assert with_amx != without
    assert with_amx.startswith("cpu-intel-6-207-amx-2c-") and without.startswith("cpu-intel-6-207-avx512bf16-2c-")


def test_every_recorded_machine_has_its_own_id(monkeypatch):
    ids = [describe(monkeypatch, p.name) for p in sorted(MACHINES.glob("*.json")) if "nvidia" not in p.name]
    assert len(set(ids)) == len(ids) == 4


def test_the_id_follows_what_picks_kernels_and_nothing_else():
    text = recorded_cpuinfo("intel_xeon_noamx.json")
    base = machine.machine_id(machine.cpu_fingerprint(text, 2))
    # A flag no dispatch reads, the clock and the host's own lines change nothing.
    noise = text.replace("flags\t\t: ", "flags\t\t: hypervisor_extra ") + "cpu MHz\t\t: 2100.000\nhostname : box-17\n"
    assert machine.machine_id(machine.cpu_fingerprint(noise, 2)) == base
    assert machine.machine_id(machine.cpu_fingerprint(text.replace("stepping\t: 2", "stepping\t: 3"), 2)) != base
    assert machine.machine_id(machine.cpu_fingerprint(text.replace(" avx512_fp16", ""), 2)) != base
    assert machine.machine_id(machine.cpu_fingerprint(text, 4)) != base


def test_a_gpu_is_named_by_its_name_capability_memory_and_cuda_version():
    h100 = json.loads((MACHINES / "nvidia_h100.json").read_text())
    fp = machine.gpu_fingerprint(h100["gpus"], h100["cuda_driver"])
    gid = machine.machine_id(fp)
    assert gid.startswith("cuda-nvidia-h100-80gb-hbm3-sm90-1gpu-")
    assert "H100" in machine.label(fp) and "9.0" in machine.label(fp) and "CUDA 13.0" in machine.label(fp)
    for change in ({"memory_mib": 95830}, {"compute_capability": "9.0a"}, {"cuda_driver": "12.8"}, {"count": 2}):
        assert machine.machine_id({**fp, **change}) != gid, change


def test_every_manifest_records_the_fingerprint(monkeypatch):
    here = describe(monkeypatch, "amd_epyc_zen3_nobf16.json")
    manifest = environment.manifest("cpu")
    assert manifest["machine_id"] == here == machine.machine_id(manifest["fingerprint"])
    assert manifest["fingerprint"]["isa"]["avx512_bf16"] is False and manifest["fingerprint"]["vendor"] == "amd"


def test_a_bad_machine_description_is_one_line(tmp_path):
    bad = tmp_path / "machine.json"
    bad.write_text('{"cpuinfo": 3}')
    done = subprocess.run([sys.executable, "scripts/regen.py", "list"], cwd=ROOT, capture_output=True, text=True,
                          env={**_env(), "GUIDE_MACHINE_FILE": str(bad)})
    assert done.returncode == 2, done.stdout + done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "GUIDE_MACHINE_FILE" in lines[0] and "usable_cores" in lines[0], done.stderr


# --- this machine's results, and another's -------------------------------------------------------

def _store_with_two_machines(monkeypatch, tmp_path) -> tuple[Path, str, str]:
    """AMX machine's results and the no-AMX machine's, both full fingerprints; then "be" the no-AMX one."""
    results = tmp_path / "results"
    amx = describe(monkeypatch, "intel_xeon_amx.json")
    fixtures.write_all(results)
    here = describe(monkeypatch, "intel_xeon_noamx.json")
    fixtures.write_all(results)
    return results, amx, here


def test_on_the_machine_without_amx_the_amx_results_are_labelled_and_never_primary(monkeypatch, tmp_path):
    results, amx, here = _store_with_two_machines(monkeypatch, tmp_path)
    assert sorted(p.name for p in results.iterdir()) == sorted([amx, here])
    out = tmp_path / "out"
    render.render_all(results, out)
    whose = (out / "whose.md").read_text()
    assert "this build's machine, Intel(R) Xeon(R) Processor (family 6, model 207; avx512_bf16, no AMX)" in whose
    machines = (out / "machines.md").read_text()
    assert "(family 6, model 207; AMX)" not in whose
    rows = [line for line in machines.splitlines() if line.startswith("| Intel")]
    assert len(rows) == 2, machines
    assert any("(avx512_bf16, no AMX) **(this build)**" in row for row in rows)
    assert any("(AMX) |" in row and "this build" not in row for row in rows)
    assert "avx512_bf16, no AMX" in (out / "headline.md").read_text().split("\n")[1]  # the provenance line
    headline = store.load(store.result_path("headline", amx, results))
    assert any("measured on another machine" in r for r in store.stale_reasons(headline, CASES["headline"], here))
    assert store.stale_reasons(store.load(store.result_path("headline", here, results)), CASES["headline"], here) == []


def test_a_build_without_own_results_says_whose_tables_it_shows(monkeypatch, tmp_path):
    results = tmp_path / "results"
    describe(monkeypatch, "intel_xeon_amx.json")
    fixtures.write_all(results)
    describe(monkeypatch, "amd_epyc_zen3_nobf16.json")  # this build: no results of its own
    out = tmp_path / "out"
    render.render_all(results, out)
    whose = (out / "whose.md").read_text()
    assert '!!! warning "Not measured on this build\'s machine"' in whose
    assert "This build ran on AMD EPYC 7B13 (family 25, model 1; no bf16)" in whose
    assert "measured on **Intel(R) Xeon(R) Processor (family 6, model 207; AMX), 2 cores**" in whose
    assert "not this build's machine" in (out / "glance.md").read_text().split("\n")[1]


def test_a_dispatch_result_naming_amx_is_another_machines_on_a_cpu_without_it(monkeypatch, tmp_path):
    results = tmp_path / "results"
    here = describe(monkeypatch, "intel_xeon_noamx.json")
    data = fixtures.synthetic_result("dispatch")
    for run in data["runs"]:
        run["result"]["matmul_bf16"] = {"library": "oneDNN", "impl": "brg_matmul:avx10_1_512_amx", "isa": "avx10_1_512_amx"}
    store.save(data, store.result_path("dispatch", here, results))  # filed under this machine, as issue 24 saw
    reasons = store.stale_reasons(store.load(store.result_path("dispatch", here, results)), CASES["dispatch"], here)
    assert any("amx_tile, which this CPU lacks" in r for r in reasons), reasons
    listed = subprocess.run([sys.executable, "scripts/regen.py", "list", "--results-dir", str(results)], cwd=ROOT,
                            capture_output=True, text=True, env={**_env(), "GUIDE_MACHINE_FILE": str(MACHINES / "intel_xeon_noamx.json")})
    line = next(line for line in listed.stdout.splitlines() if line.startswith("dispatch "))
    assert "which this CPU lacks" in line and listed.returncode == 1, listed.stdout


def test_a_recorded_machine_never_files_runs_in_the_repositorys_results(monkeypatch, tmp_path):
    describe(monkeypatch, "amd_epyc_zen3_nobf16.json")
    repository_results = tmp_path / "repo" / "results"  # stands in for results/, so a broken guard writes here
    monkeypatch.setattr(store.paths, "RESULTS_DIR", repository_results)
    data = fixtures.synthetic_result("ceiling")
    with pytest.raises(store.StoreError, match="GUIDE_MACHINE_FILE=.*set GUIDE_RESULTS_DIR"):
        store.save(data, store.result_path("ceiling", data["manifest"]["machine_id"], repository_results))
    assert not repository_results.exists()
    store.save(data, store.result_path("ceiling", data["manifest"]["machine_id"], tmp_path / "scratch"))  # elsewhere: fine


# --- the Machines section ----------------------------------------------------------------------

def _slow(path: Path, factor: float, which) -> None:
    data = json.loads(path.read_text())
    for run in data["runs"]:
        if which(run) and "samples_ns" in (run.get("result") or {}):
            run["result"]["samples_ns"] = [int(s * factor) for s in run["result"]["samples_ns"]]
    store.save(data, path)


def test_the_machines_section_shows_each_machine_and_where_a_verdict_flips(monkeypatch, tmp_path):
    results, amx, here = _store_with_two_machines(monkeypatch, tmp_path)
    out = tmp_path / "out"
    render.render_all(results, out)
    assert "gives the same verdict on each of them." in (out / "machines.md").read_text()
    assert "glance-machines\">on 2 machines" in (out / "glance.md").read_text()
    headline = store.result_path("headline", amx, results)
    _slow(headline, 4.0, lambda run: run["framework"] == "torch")  # PyTorch far slower on the AMX machine only
    render.render_all(results, out)
    text = (out / "machines.md").read_text()
    assert "the verdict flips for CNN fp32" in text, text
    assert "TensorFlow faster on Intel(R) Xeon(R) Processor (AMX)" in text
    ratios = (out / "machines_ratios.md").read_text()
    assert ratios.count("| CNN | fp32 |") == 2 and "(this build)" in ratios
    assert "differs between machines" not in (out / "glance.md").read_text()  # no home claim is about this ratio
    _slow(headline, 3.0, lambda run: run["mode"].startswith(("compile", "function", "xla", "fit")))
    render.render_all(results, out)  # compiled tiers 3x slower than eager there: C03 reads otherwise on that machine
    row = next(line for line in (out / "glance.md").read_text().splitlines() if line.startswith("| [C03]"))
    assert "differs between machines" in row and "on Intel(R) Xeon(R) Processor (AMX)" in row, row
    svg = (out / "machines.svg").read_bytes()
    assert svg.startswith(b"<?xml") and b"AMX" not in svg[:200]
    alt = (out / "machines_chart.md").read_text()
    assert "Intel(R) Xeon(R) Processor (AMX)" in alt


def test_one_machine_says_that_other_machines_are_not_measured(monkeypatch, tmp_path):
    results = tmp_path / "results"
    describe(monkeypatch, "amd_epyc_zen4.json")
    fixtures.write_all(results)
    render.render_all(results, tmp_path / "out")
    assert "whether these verdicts hold on other machines is not measured here" in \
        (tmp_path / "out" / "machines.md").read_text()


def test_another_machines_stale_result_is_kept_and_labelled_with_its_date_and_code(monkeypatch, tmp_path):
    results, amx, _here = _store_with_two_machines(monkeypatch, tmp_path)
    path = store.result_path("headline", amx, results)
    data = json.loads(path.read_text())
    data["code_hash"] = "ab" * 32
    store.save(data, path)
    render.render_all(results, tmp_path / "out")
    text = (tmp_path / "out" / "machines.md").read_text()
    assert "**stale**: 1 of" in text and "measured on 2026-01-01 (code abababababab)" in text
    assert "measured on 2026-01-01 (code abababababab)" in (tmp_path / "out" / "other_machines.md").read_text()
    assert path.exists()


# --- migration and import ----------------------------------------------------------------------

def _old_style_copy(target: Path, at_this_commit: bool = False) -> Path:
    """The migrated results as they were filed before fingerprints: id from the model string, no fingerprint.
    ``at_this_commit``: with the code hash of today's timed code, as a checkout of this commit would hold them."""
    for folder in MIGRATED:
        for path in sorted(folder.glob("*.json")):
            data = json.loads(path.read_text())
            if at_this_commit:
                data["code_hash"] = store.case_code_hash(CASES[data["case"]])
            manifest = data["manifest"]
            manifest.pop("fingerprint", None)
            manifest["machine_id"] = manifest.pop("migrated_from", manifest["machine_id"])
            old = target / manifest["machine_id"]
            old.mkdir(parents=True, exist_ok=True)
            (old / path.name).write_text(json.dumps(data, indent=2))
    return target


def test_migration_moves_old_results_to_their_machine_and_keeps_every_run(tmp_path):
    root = _old_style_copy(tmp_path / "results")
    before = {p.name: json.loads(p.read_text()) for p in store.result_files(root)}
    assert [p.name for p in root.iterdir()] == ["cpu-intel-r-xeon-r-processor-2c-249f011b"]
    moves = intake.migrate(root)
    assert len(moves) == len(before)
    assert [p.name for p in root.iterdir()] == [folder.name for folder in MIGRATED]
    for path in store.result_files(root):
        data = json.loads(path.read_text())
        assert data["runs"] == before[path.name]["runs"] and data["code_hash"] == before[path.name]["code_hash"]
        fp = data["manifest"]["fingerprint"]
        assert fp["family"] is None and fp["model"] is None and fp["isa"]["avx2"] is None  # unknown, not guessed
        assert fp["isa"]["amx_bf16"] is True and fp["isa"]["avx512_bf16"] is True  # what the evidence recorded
        assert data["manifest"]["migrated_from"] == "cpu-intel-r-xeon-r-processor-2c-249f011b"
        assert data == json.loads((MIGRATED[0] / path.name).read_text())  # what this repository committed
    assert intake.migrate(root) == []  # nothing left to move


def test_migration_refuses_a_clash_and_moves_nothing(tmp_path):
    root = _old_style_copy(tmp_path / "results")
    shutil.copytree(MIGRATED[0], root / MIGRATED[0].name)  # the target already holds every case
    before = sorted(str(p) for p in root.rglob("*.json"))
    with pytest.raises(intake.IntakeError, match="already holds"):
        intake.migrate(root)
    assert sorted(str(p) for p in root.rglob("*.json")) == before


def _env() -> dict:
    import os

    return {k: v for k, v in os.environ.items() if k != "GUIDE_MACHINE_FILE"}


def _regen(*args: str, machine_file: str | None = None) -> subprocess.CompletedProcess:
    env = {**_env(), **({"GUIDE_MACHINE_FILE": str(MACHINES / machine_file)} if machine_file else {})}
    return subprocess.run([sys.executable, "scripts/regen.py", *args], cwd=ROOT, capture_output=True, text=True,
                          env=env)


def _snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def incoming(monkeypatch, tmp_path) -> Path:
    """A Zen 3 machine's folder, as another checkout would hold it."""
    folder = tmp_path / "other-checkout" / "results"
    describe(monkeypatch, "amd_epyc_zen3_nobf16.json")
    fixtures.write_all(folder)
    monkeypatch.delenv("GUIDE_MACHINE_FILE")
    machine.reset()
    return folder


def test_import_takes_in_another_checkouts_folder_and_renders_it(incoming, tmp_path):
    root = tmp_path / "store"
    shutil.copytree(ROOT / "results", root)
    done = _regen("import", str(incoming), "--results-dir", str(root), "--no-render")
    assert done.returncode == 0, done.stdout + done.stderr
    (zen3,) = [p.name for p in incoming.iterdir()]
    assert (root / zen3 / "headline.json").read_bytes() == (incoming / zen3 / "headline.json").read_bytes()
    assert f"imported {zen3}/headline.json" in done.stdout
    assert sorted(p.name for p in root.iterdir() if p.is_dir()) == sorted([zen3, *(f.name for f in COMMITTED)])


@pytest.mark.parametrize("spoil, message", [
    (lambda folder: (folder / "headline.json").write_text("{not json"), "corrupt JSON"),
    (lambda folder: shutil.copy(folder / "ceiling.json", folder / "nonsense.json"), "unknown case 'nonsense'"),
    (lambda folder: _rehash(folder / "ceiling.json"), "the timed code changed since this was measured"),
])
def test_import_refuses_a_bad_folder_with_one_line_and_changes_nothing(incoming, tmp_path, spoil, message):
    root = tmp_path / "store"
    shutil.copytree(ROOT / "results", root)
    spoil(next(incoming.iterdir()))
    before = _snapshot(root)
    done = _regen("import", str(incoming), "--results-dir", str(root), "--no-render")
    assert done.returncode == 2 and message in done.stderr, done.stdout + done.stderr
    assert len([line for line in done.stderr.splitlines() if line.strip()]) == 1
    assert _snapshot(root) == before


def _rehash(path: Path) -> None:
    data = json.loads(path.read_text())
    data["code_hash"] = "0" * 64
    path.write_text(json.dumps(data))


def test_import_refuses_a_duplicate(incoming, tmp_path):
    root = tmp_path / "store"
    assert _regen("import", str(incoming), "--results-dir", str(root), "--no-render").returncode == 0
    before = _snapshot(root)
    done = _regen("import", str(next(incoming.iterdir())), "--results-dir", str(root), "--no-render")
    assert done.returncode == 2 and "already holds" in done.stderr and "(the same file)" in done.stderr, done.stderr
    assert _snapshot(root) == before


def test_import_migrates_an_old_style_folder(tmp_path):
    old = _old_style_copy(tmp_path / "old", at_this_commit=True)  # import takes only results of today's code
    root = tmp_path / "store"
    done = _regen("import", str(old), "--results-dir", str(root), "--no-render")
    assert done.returncode == 0, done.stdout + done.stderr
    assert [p.name for p in root.iterdir()] == [folder.name for folder in MIGRATED]
