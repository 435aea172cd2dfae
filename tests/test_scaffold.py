"""``regen.py new``: a scaffolded pair passes the pairing, include and strict-build checks; bad names write nothing."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import copy_of_the_repository

ROOT = Path(__file__).resolve().parents[1]


def _env(repo: Path) -> dict[str, str]:
    # GUIDE_BENCH_RUN=none: benchmark pages from the stored results, as the session's build (tests/conftest.py)
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(repo / "snippets"), str(repo / "scripts")]),
            "PYTHONDONTWRITEBYTECODE": "1", "GUIDE_BENCH_RUN": os.environ.get("GUIDE_BENCH_RUN", "none")}


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
    repo = copy_of_the_repository(tmp_path / "repo")
    before = _tree(repo)
    done = _new(repo, page, name)
    assert done.returncode == 2, done.stdout + done.stderr
    message = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(message) == 1 and why in message[0], done.stderr
    assert _tree(repo) == before


def test_a_contributed_page_is_one_copied_folder_and_one_nav_line_and_passes_every_check(tmp_path, built_site):
    """Issue 13's road for a contributor: copy one page folder, add one nav line, change nothing in scripts/.

    The folder comes from ``regen.py new`` (a plain pair) and ``regen.py new --bench`` (a pair with a
    benchmark case) in a scratch copy; a second copy then gets only that folder and the nav line. There
    the pairing, include and doctest checks pass, and its strict build runs both pairs, measures the
    case and shows the case's table (the generic one: the case has no renderer of its own). One build
    checks both scaffolds: each strict build of a repository copy costs most of a minute.
    """
    scratch = copy_of_the_repository(tmp_path / "scratch")
    done = _new(scratch, "contributed", "first_example")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "created snippets/contributed/first_example_torch.py" in done.stdout
    nav_line = "  - Contributed: contributed.md\n"
    assert nav_line in (scratch / "mkdocs.yml").read_text()
    done = _new(scratch, "contributed", "first_bench", "--bench")  # the same page: a second section
    assert done.returncode == 0, done.stdout + done.stderr
    assert "created snippets/contributed/contributed_cases.py" in done.stdout
    assert (scratch / "mkdocs.yml").read_text().count(nav_line) == 1

    repo = copy_of_the_repository(tmp_path / "repo", with_build_outputs=True)
    before = {name: data for name, data in _tree(repo).items() if not name.startswith((".cache", "docs/generated"))}
    shutil.copytree(scratch / "snippets" / "contributed", repo / "snippets" / "contributed")  # the one folder
    mkdocs = repo / "mkdocs.yml"
    mkdocs.write_text(mkdocs.read_text().replace("  - Contributing:", nav_line + "  - Contributing:", 1))
    after = {name: data for name, data in _tree(repo).items() if not name.startswith((".cache", "docs/generated"))}
    changed = sorted(name for name in after if before.get(name) != after[name])
    assert changed == ["mkdocs.yml", "snippets/contributed/contributed_cases.py", "snippets/contributed/first_bench.py",
                       "snippets/contributed/first_bench_tf.py", "snippets/contributed/first_bench_torch.py",
                       "snippets/contributed/first_example_tf.py", "snippets/contributed/first_example_torch.py",
                       "snippets/contributed/page.md"], changed

    checks = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_pairing.py",
         "tests/test_includes.py", "--doctest-modules", "snippets/contributed"],
        cwd=repo, env=_env(repo), capture_output=True, text=True)
    assert checks.returncode == 0, checks.stdout[-4000:]
    # Only the new case is measured: on a machine without stored results the others would take minutes.
    env = {**_env(repo), "GUIDE_BENCH_QUIET_WAIT": "0", "GUIDE_BENCH_PROFILE": "quick", "GUIDE_BENCH_RUN": "stale",
           "GUIDE_BENCH_CASES": "first_bench"}
    build = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
                           cwd=repo, env=env, capture_output=True, text=True)
    log = build.stdout + build.stderr
    assert build.returncode == 0, log[-4000:]
    assert "guide: benchmark first_bench (missing), profile quick" in log, log[-4000:]
    page = (tmp_path / "site" / "contributed" / "index.html").read_text()
    assert "result: [[2.0, 2.0, 2.0], [2.0, 2.0, 2.0]]" in page  # the plain pair ran and its output is shown
    assert "trainable parameters; loss over 5 steps:" in page  # so did the benchmark's pair
    table = page[page.index("Median step ms"):]
    assert "PyTorch eager" in table and "TF tf.function" in table  # one row per configuration, measured
    assert "not measured on this build" not in page
    assert list((repo / "results").glob("*/first_bench.json")), "the case's result was not stored"
