"""``regen.py new``: a scaffolded pair passes the pairing, include and strict-build checks; bad names write nothing."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _copy_of_the_repository(target: Path, with_build_outputs: bool = False) -> Path:
    """The tracked files (as they are in the working tree), plus the build's caches when asked."""
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True, check=True)
    for rel in filter(None, files.stdout.split("\0")):
        source = ROOT / rel
        if source.is_file():
            (target / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / rel)
    if with_build_outputs:  # what a contributor's clone has after one `make site`: only the new pair runs
        for rel in (".cache", "docs/generated"):
            if (ROOT / rel).exists():
                shutil.copytree(ROOT / rel, target / rel, dirs_exist_ok=True)
    return target


def _env(repo: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(repo / "snippets"), str(repo / "scripts")]),
            "PYTHONDONTWRITEBYTECODE": "1"}


def _new(repo: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "scripts/regen.py", "new", *args], cwd=repo, env=_env(repo),
                          capture_output=True, text=True)


def _tree(repo: Path) -> dict[str, bytes]:
    return {str(p.relative_to(repo)): p.read_bytes() for p in sorted(repo.rglob("*"))
            if p.is_file() and "__pycache__" not in p.parts}


@pytest.mark.parametrize("page,name,why", [
    ("ease_of_use", "mnist_cnn", "already exists"),  # an existing basename
    ("graphs", "torch", "would shadow"),
    ("../outside", "thing", "lower-case Python identifier"),  # a path outside snippets/
    ("common", "helper", "shared code"),
    ("graphs", "loop_torch", "framework suffix"),
])
def test_a_bad_name_is_one_clear_line_and_writes_nothing(tmp_path, page, name, why):
    repo = _copy_of_the_repository(tmp_path / "repo")
    before = _tree(repo)
    done = _new(repo, page, name)
    assert done.returncode == 2, done.stdout + done.stderr
    message = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(message) == 1 and why in message[0], done.stderr
    assert _tree(repo) == before


def test_a_scaffolded_pair_passes_pairing_includes_doctests_and_the_strict_build(tmp_path, built_site):
    repo = _copy_of_the_repository(tmp_path / "repo", with_build_outputs=True)
    done = _new(repo, "contributed", "first_example")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "created snippets/contributed/first_example_torch.py" in done.stdout
    assert "  - Contributed: contributed.md" in (repo / "mkdocs.yml").read_text()
    checks = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_pairing.py",
         "tests/test_includes.py", "--doctest-modules", "snippets/contributed"],
        cwd=repo, env=_env(repo), capture_output=True, text=True)
    assert checks.returncode == 0, checks.stdout[-4000:]
    build = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
                           cwd=repo, env=_env(repo), capture_output=True, text=True)
    assert build.returncode == 0, (build.stdout + build.stderr)[-4000:]
    page = (tmp_path / "site" / "contributed" / "index.html").read_text()
    assert "result: [[2.0, 2.0, 2.0], [2.0, 2.0, 2.0]]" in page  # the output the build ran and included
