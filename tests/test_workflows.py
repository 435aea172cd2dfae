"""The GitHub Actions workflows: lint-clean, least privilege, pinned, and running the README's commands.

The workflows themselves only run on GitHub; these tests hold the files to
the rules in docs/contributing.md ("What CI checks") so a change that breaks
one fails here first. The linter is zizmor, pinned in requirements.txt, run
offline (its online audits need the GitHub API).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import load_module
from engine import machine as machine_mod
from engine import paths
from engine.bench import store
from engine.bench.cases import CASES

ROOT = paths.ROOT
WORKFLOWS = ROOT / ".github" / "workflows"
CI = WORKFLOWS / "ci.yml"
PAGES = WORKFLOWS / "pages.yml"
SHA_PIN = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@[0-9a-f]{40}$")
USES_LINE = re.compile(r"^\s*(?:-\s+)?uses:\s*(?P<ref>\S+)\s*(?:#\s*(?P<comment>.*))?$")
VERSION_COMMENT = re.compile(r"^v\d+\.\d+\.\d+$")


def workflow_files() -> list[Path]:
    return sorted(WORKFLOWS.glob("*.y*ml"))


def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def triggers(workflow: dict) -> dict:
    """The ``on:`` mapping (YAML 1.1 reads a bare ``on`` key as True)."""
    on = workflow.get("on", workflow.get(True))
    if isinstance(on, str):
        return {on: None}
    if isinstance(on, list):
        return dict.fromkeys(on)
    return on or {}


def steps(workflow: dict):
    for job_id, job in workflow["jobs"].items():
        for step in job.get("steps", []):
            yield job_id, step


def run_lines(workflow: dict, job_id: str | None = None) -> list[str]:
    """Every shell line the workflow (or one job) runs, stripped, comments and blanks left out."""
    lines = []
    for job, step in steps(workflow):
        if job_id is None or job == job_id:
            lines += [line.strip() for line in step.get("run", "").splitlines()]
    return [line for line in lines if line and not line.startswith("#")]


def readme_commands() -> list[str]:
    """The commands in the README's "The two commands" code block, comments stripped."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## The two commands", 1)[1]
    block = re.search(r"```(?:bash|sh)?\n(.*?)```", section, re.S).group(1)
    return [line.split("#", 1)[0].strip() for line in block.splitlines() if line.split("#", 1)[0].strip()]


def linter(name: str) -> str:
    """The venv's copy (what `make venv` installs from requirements.txt), else one on PATH."""
    beside = Path(sys.executable).with_name(name)
    found = str(beside) if beside.exists() else shutil.which(name)
    if not found:
        pytest.fail(f"{name} is not installed; `make venv` installs it from requirements.txt")
    return found


def pinned_version(package: str) -> str:
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        entry = line.split("#")[0].strip()
        if entry.lower().startswith(package + "=="):
            return entry.split("==", 1)[1]
    pytest.fail(f"{package} is not pinned in requirements.txt")


# ------------------------------------------------------------------ the linter
def test_the_workflows_exist():
    assert CI.is_file() and PAGES.is_file(), "expected .github/workflows/ci.yml and pages.yml"


def test_zizmor_is_the_pinned_version():
    out = subprocess.run([linter("zizmor"), "--version"], capture_output=True, text=True, check=True).stdout
    assert out.split()[-1] == pinned_version("zizmor"), out


def test_zizmor_finds_nothing_offline():
    # --strict-collection: a workflow that does not parse or fails GitHub's schema is an error, not a skip.
    result = subprocess.run(
        [linter("zizmor"), "--offline", "--strict-collection", "--persona=pedantic", "--no-progress",
         "--color=never", "--no-config", str(WORKFLOWS)],
        cwd=ROOT, capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


# ------------------------------------------------------------ least privilege
@pytest.mark.parametrize("path", workflow_files(), ids=lambda p: p.name)
def test_never_pull_request_target(path):
    on = triggers(load(path))
    assert "pull_request_target" not in on and "workflow_run" not in on, on
    assert "pull_request_target" not in path.read_text(encoding="utf-8")


@pytest.mark.parametrize("path", workflow_files(), ids=lambda p: p.name)
def test_top_level_token_is_read_only(path):
    assert load(path).get("permissions") == {"contents": "read"}


@pytest.mark.parametrize("path", workflow_files(), ids=lambda p: p.name)
def test_only_the_pages_deploy_job_widens_the_token(path):
    for job_id, job in load(path)["jobs"].items():
        if path == PAGES and job_id == "deploy":
            assert job.get("permissions") == {"pages": "write", "id-token": "write"}
            assert job.get("environment", {}).get("name") == "github-pages"
        else:
            assert "permissions" not in job, f"{path.name}: job {job_id} sets its own permissions"


@pytest.mark.parametrize("path", workflow_files(), ids=lambda p: p.name)
def test_every_action_is_pinned_to_a_commit_sha_with_its_version(path):
    refs = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        match = USES_LINE.match(line)
        if not match:
            continue
        ref, comment = match["ref"].strip("'\""), (match["comment"] or "").strip()
        refs.append(ref)
        if ref.startswith("./"):
            continue  # an action in this repository: pinned by the commit itself
        assert SHA_PIN.match(ref), f"{path.name}:{number}: {ref} is not pinned to a full commit SHA"
        assert VERSION_COMMENT.match(comment), f"{path.name}:{number}: {ref} needs a `# vX.Y.Z` comment"
    # The line scan saw every `uses:` the YAML holds (none hidden in flow style).
    parsed = [step["uses"] for _, step in steps(load(path)) if "uses" in step]
    parsed += [job["uses"] for job in load(path)["jobs"].values() if "uses" in job]
    assert sorted(parsed) == sorted(refs)


@pytest.mark.parametrize("path", workflow_files(), ids=lambda p: p.name)
def test_checkouts_keep_no_credentials(path):
    for job_id, step in steps(load(path)):
        if step.get("uses", "").startswith("actions/checkout@"):
            assert step.get("with", {}).get("persist-credentials") is False, f"{path.name}: {job_id}"


@pytest.mark.parametrize("path", workflow_files(), ids=lambda p: p.name)
def test_every_job_has_a_time_limit(path):
    for job_id, job in load(path)["jobs"].items():
        assert isinstance(job.get("timeout-minutes"), int), f"{path.name}: job {job_id} has no timeout-minutes"


# ------------------------------------------------------ what the workflows do
def test_the_readme_still_has_its_two_commands():
    assert readme_commands() == ["make site", "make test"]


def test_ci_runs_on_pull_requests_and_pushes_and_cancels_superseded_runs():
    workflow = load(CI)
    assert {"pull_request", "push"} <= set(triggers(workflow))
    assert workflow["concurrency"]["cancel-in-progress"] is True
    assert "github.ref" in workflow["concurrency"]["group"]


def test_ci_runs_the_readme_test_command_after_a_strict_stale_build():
    workflow = load(CI)
    lines = run_lines(workflow)
    test_command = readme_commands()[1]
    assert test_command in lines, f"ci.yml never runs the README's `{test_command}`"
    build = [step for _, step in steps(workflow) if step.get("run", "").strip() == readme_commands()[0]]
    assert build and build[0].get("env", {}).get("GUIDE_RUN") == "stale"
    assert lines.index(readme_commands()[0]) < lines.index(test_command)


def test_ci_restores_the_engine_cache_by_content_and_uploads_the_site():
    workflow = load(CI)
    python = [s for _, s in steps(workflow) if s.get("uses", "").startswith("actions/setup-python@")]
    assert python and python[0]["with"]["python-version"] == "3.11" and python[0]["with"]["cache"] == "pip"
    assert "requirements.txt" in python[0]["with"]["cache-dependency-path"]
    caches = [s["with"] for _, s in steps(workflow) if s.get("uses", "").startswith("actions/cache@")]
    engine_cache = [c for c in caches if c["path"] == paths.CACHE_DIR.relative_to(ROOT).as_posix()]
    assert engine_cache, f"no actions/cache step restores {paths.CACHE_DIR.relative_to(ROOT)}"
    assert "hashFiles('snippets/**'" in engine_cache[0]["key"] and "requirements.txt" in engine_cache[0]["key"]
    assert engine_cache[0]["restore-keys"].strip()
    uploads = [s["with"] for _, s in steps(workflow) if s.get("uses", "").startswith("actions/upload-artifact@")]
    assert any(u["path"].rstrip("/") == "site" for u in uploads)


def test_ci_checks_contributed_results_and_fails_only_on_invalid_files():
    workflow = load(CI)
    check = [s for _, s in steps(workflow) if "scripts/regen.py check" in s.get("run", "")]
    assert check and "steps.results.outputs.folders" in check[0]["if"]
    assert '"$status" -eq 2' in check[0]["run"]
    assert any(".github/scripts/contributed_results.py shown" in line for line in run_lines(workflow))


def test_pages_builds_with_the_readme_command_and_deploys():
    workflow = load(PAGES)
    assert triggers(workflow)["push"]["branches"] == ["main"]
    assert readme_commands()[0] in run_lines(workflow, "build")
    uses = [s.get("uses", "").split("@")[0] for _, s in steps(workflow)]
    assert "actions/upload-pages-artifact" in uses and "actions/deploy-pages" in uses
    assert workflow["jobs"]["deploy"]["needs"] == "build"


def test_the_contributor_pages_exist():
    assert "docs/contributing.md" in (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
    template = (ROOT / ".github" / "pull_request_template.md").read_text(encoding="utf-8")
    assert template.count("- [ ]") >= 6 and "make test" in template


# ------------------------------------------- the result-contribution checker
@pytest.fixture(scope="module")
def checker():
    return load_module(ROOT / ".github" / "scripts" / "contributed_results.py", "contributed_results")


# A recorded machine (engine.machine) whose folder the contributions below are filed under.
TEST_FINGERPRINT = {**machine_mod.cpu_fingerprint(machine_mod.ZEN4_EXAMPLE, 2), "model_name": "Test CPU"}
TEST_MACHINE = machine_mod.machine_id(TEST_FINGERPRINT)


def fresh_result(case_name: str, machine: str) -> dict:
    """A result file as `regen.py run` would write it for ``machine``, fresh for this commit."""
    fingerprint = {"fingerprint": TEST_FINGERPRINT} if machine == TEST_MACHINE else {}
    return {
        "schema_version": store.SCHEMA_VERSION, "case": case_name, "status": "ok", "profile": "default",
        "code_hash": store.case_code_hash(CASES[case_name]),
        "manifest": {"machine_id": machine, "device": "cpu", "cpu_model": "Test CPU", "usable_cores": 2,
                     "memory_bytes": 2**33, "gpus": [], "versions": store.current_versions(),
                     "timestamp": "2026-01-01T00:00:00+00:00", **fingerprint},
        "runs": [],
    }


def write_folder(results: Path, machine: str, **changes) -> Path:
    folder = results / machine
    folder.mkdir(parents=True)
    data = {**fresh_result("headline", machine), **changes}
    (folder / "headline.json").write_text(json.dumps(data))
    return folder


def test_checker_passes_a_fresh_contribution(checker, tmp_path, capsys):
    assert checker.validate(write_folder(tmp_path, TEST_MACHINE)) == 0, capsys.readouterr().out


@pytest.mark.parametrize("changes, message", [
    ({"code_hash": "0" * 64}, "timed code changed"),
    ({"status": "failed", "failure": {"reason": "boom"}}, "last run failed"),
    ({"manifest": {"machine_id": "cpu-elsewhere-2c-11111111"}}, "filed under"),
])
def test_checker_fails_a_contribution_the_site_cannot_show_as_it_stands(checker, tmp_path, capsys, changes, message):
    folder = write_folder(tmp_path, TEST_MACHINE)
    data = {**json.loads((folder / "headline.json").read_text()), **changes}
    if "manifest" in changes:
        data["manifest"] = {**fresh_result("headline", "x")["manifest"], **changes["manifest"]}
    (folder / "headline.json").write_text(json.dumps(data))
    assert checker.validate(folder) >= 1
    assert message in capsys.readouterr().out


def test_the_command_line_checks_the_folder_it_is_given(checker, tmp_path, capsys):
    # A path outside results/ is that folder, not the committed folder of the same name (which passes).
    committed = sorted(p.name for p in (checker.ROOT / "results").iterdir() if p.is_dir())[0]
    folder = write_folder(tmp_path, committed)
    (folder / "inference.json").write_text("{not json")
    assert checker.main(["validate", str(folder)]) == 1, capsys.readouterr().out
    assert f"::error file={folder / 'inference.json'}" in capsys.readouterr().out


def test_checker_fails_an_unreadable_file(checker, tmp_path, capsys):
    folder = write_folder(tmp_path, TEST_MACHINE)
    (folder / "inference.json").write_text("{not json")
    assert checker.validate(folder) == 1
    assert "::error file=" in capsys.readouterr().out


def test_checker_finds_the_changed_folders(checker, tmp_path):
    def git(*args):
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=tmp_path,
                       check=True, capture_output=True)

    git("init", "-q")
    write_folder(tmp_path / "results", "cpu-old-2c-00000000")
    git("add", ".")
    git("commit", "-qm", "old")
    base = subprocess.run(["git", "rev-parse", "HEAD"], cwd=tmp_path, capture_output=True, text=True).stdout.strip()
    write_folder(tmp_path / "results", "cpu-new-2c-00000000")
    git("add", ".")
    git("commit", "-qm", "new")
    assert checker.changed_folders(base, root=tmp_path) == ["cpu-new-2c-00000000"]
    assert checker.changed_folders("", root=tmp_path) == ["cpu-new-2c-00000000", "cpu-old-2c-00000000"]


def test_checker_finds_a_machine_on_the_built_speed_page(checker, tmp_path):
    folder = write_folder(tmp_path / "results", TEST_MACHINE)
    label = checker.machine_label(folder)
    page = tmp_path / "site" / "speed" / "index.html"
    page.parent.mkdir(parents=True)
    page.write_text(f"<h3 id='x'>{label}</h3>")
    assert checker.shown(tmp_path / "site", [folder]) == 0
    page.write_text("<h3>Other machines</h3><p>No results from other machines are stored yet.</p>")
    assert checker.shown(tmp_path / "site", [folder]) == 1


def test_checker_rejects_an_unknown_top_level_key_in_one_line(checker, tmp_path, capsys):
    folder = write_folder(tmp_path, TEST_MACHINE, padding="x" * 1000)
    assert checker.validate(folder) == 1
    errors = [line for line in capsys.readouterr().out.splitlines() if line.startswith("::error")]
    assert len(errors) == 1 and errors[0].endswith(
        "headline.json: unknown top-level key 'padding'; a result file holds only the keys "
        "engine/bench/schema.py names (docs/method.md#result-files)"), errors


@pytest.mark.parametrize("change, message", [
    (lambda data: {**data, "padding": "x" * (16 << 20)}, "larger than 16,777,216 bytes, the limit of a result file"),
    (lambda data: {**data, "runs": [RUN, RUN]}, "runs[1]: the same run as runs[0]"),
], ids=["oversized", "duplicate run"])
def test_checker_rejects_an_oversized_file_or_a_run_listed_twice(checker, tmp_path, capsys, change, message):
    folder = write_folder(tmp_path, TEST_MACHINE)
    path = folder / "headline.json"
    path.write_text(json.dumps(change(json.loads(path.read_text()))))
    assert checker.validate(folder) == 1
    errors = [line for line in capsys.readouterr().out.splitlines() if line.startswith("::error")]
    assert len(errors) == 1 and message in errors[0], errors


RUN = {"framework": "torch", "mode": "eager", "batch_size": 128, "width": 1, "repeat": 0, "ok": True,
       "result": {"samples_ns": [1, 2, 3]}}
