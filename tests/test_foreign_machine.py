"""The whole build on a machine that is not the builder's: a recorded AMD EPYC Zen 3 without any bf16.

The build runs in a copy of the repository with the session build's caches, so
the examples are reused; its parity step runs, and it measures two benchmark
cases (``GUIDE_BENCH_CASES``: the ceiling, the dispatch probe and the
Transformer, a few processes) as that machine, into a results folder outside the repository (a
recorded description may never file runs in ``results/``). Nothing in the build
may fail on CPU features: the bf16 tiers are absent there, and the page says why.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import copy_of_the_repository, serving
from test_browser import assert_the_speed_page_opens_short

ROOT = Path(__file__).resolve().parents[1]
ZEN3 = ROOT / "tests" / "fixtures" / "machines" / "amd_epyc_zen3_nobf16.json"


def _text(page: Path) -> str:
    """The page's article as text (no navigation, no head), with its spaces folded."""
    article = page.read_text(encoding="utf-8").split("<article", 1)[1].split("</article>", 1)[0]
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", "<article" + article)).split())


@dataclass
class ForeignBuild:
    site: Path
    results: Path
    log: str
    repo: Path


@pytest.fixture(scope="module")
def foreign(built_site, tmp_path_factory) -> ForeignBuild:
    tmp = tmp_path_factory.mktemp("foreign")
    repo = copy_of_the_repository(tmp / "repo", with_build_outputs=True)
    results = tmp / "results"
    shutil.copytree(ROOT / "results", results)  # the committed machines stand beside the new one
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(repo / "snippets"), str(repo / "scripts")]),
           "PYTHONDONTWRITEBYTECODE": "1", "GUIDE_MACHINE_FILE": str(ZEN3), "GUIDE_RESULTS_DIR": str(results),
           "GUIDE_BENCH_CASES": "ceiling,dispatch,transformer", "GUIDE_BENCH_QUIET_WAIT": "0",
           "GUIDE_BENCH_RUN": "stale"}
    build = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp / "site")],
                           cwd=repo, env=env, capture_output=True, text=True)
    log = build.stdout + build.stderr
    assert build.returncode == 0, log[-5000:]
    return ForeignBuild(tmp / "site", results, log, repo)


def test_the_whole_build_on_a_recorded_cpu_without_bf16(foreign):
    log, results = foreign.log, foreign.results
    assert "guide: engine.parity:refresh done" in log  # the parity step ran on this description, and held
    assert "benchmark ceiling (missing), profile quick" in log and "benchmark dispatch (missing)" in log

    (zen3,) = [p.name for p in results.iterdir() if p.name.startswith("cpu-amd-25-1-")]
    ceiling = json.loads((results / zen3 / "ceiling.json").read_text())
    assert ceiling["manifest"]["fingerprint"]["isa"]["avx512_bf16"] is False
    assert ceiling["status"] == "ok" and ceiling["manifest"]["capabilities"]["bf16"]["available"] is False
    assert not (foreign.repo / "results" / zen3).exists()

    speed = _text(foreign.site / "speed" / "index.html")
    first = speed[speed.index("Speed and efficiency"):][:600]
    assert "measured on this build's machine, AMD EPYC 7B13 (family 25, model 1; no bf16), 2 cores" in first, first
    assert "this CPU has none of the bf16 flags avx512_bf16, amx_bf16" in speed  # why the bf16 tiers are absent
    transformer = json.loads((results / zen3 / "transformer.json").read_text())
    assert transformer["runs"] and not any("bf16" in run["mode"] for run in transformer["runs"])
    machines = speed[speed.index("Every machine whose results are stored"):]
    assert "AMD EPYC 7B13 (no bf16) (this build)" in machines and "Intel(R) Xeon(R) Processor (AMX)" in machines


@pytest.mark.browser
def test_its_speed_page_opens_short_with_a_quick_primary_and_a_second_machine(foreign, browser):
    with serving(foreign.site) as url:
        assert_the_speed_page_opens_short(browser, url)
