"""The whole build on a machine that is not the builder's: the session's build, as a recorded AMD EPYC
Zen 3 without AVX-512 or any bf16 (tests/conftest.py, ``FOREIGN_MACHINE``).

Its parity step runs, and it measures a benchmark case (``GUIDE_BENCH_CASES``:
the ceiling, a few processes) as that machine, into a copy
of the store outside the repository. Nothing in the build may fail on CPU
features; the page says which machine measured what; the bf16 tiers are absent,
and the capability check says why. The browser tests (tests/test_browser.py)
walk this same site, so the folded Speed page holds with a quick-profile primary
and a second machine beside it.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

from conftest import FOREIGN_CASES, ROOT


def _text(page: Path) -> str:
    """The page's article as text (no navigation, no head), with its spaces folded."""
    article = page.read_text(encoding="utf-8").split("<article", 1)[1].split("</article>", 1)[0]
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", "<article" + article)).split())


def test_the_whole_build_on_a_recorded_cpu_without_bf16(built_site):
    log, results = built_site.log, built_site.results
    assert "machine description from" in log and "amd_epyc_zen3_nobf16.json" in log
    assert "guide: engine.parity:refresh done" in log  # the parity step ran on this description, and held
    for case in FOREIGN_CASES.split(","):
        assert f"benchmark {case} (missing), profile quick" in log, log[-3000:]

    (zen3,) = [p.name for p in results.iterdir() if p.name.startswith("cpu-amd-25-1-")]
    ceiling = json.loads((results / zen3 / "ceiling.json").read_text())
    assert ceiling["status"] == "ok" and ceiling["manifest"]["fingerprint"]["isa"]["avx512_bf16"] is False
    bf16 = ceiling["manifest"]["capabilities"]["bf16"]
    assert bf16 == {"available": False, "evidence": "this CPU has none of the bf16 flags avx512_bf16, amx_bf16"}
    assert not (ROOT / "results" / zen3).exists()  # never filed in the repository's results

    speed = _text(built_site.site_dir / "speed" / "index.html")
    first = speed[speed.index("Speed and efficiency"):][:600]
    assert "measured on this build's machine, AMD EPYC 7B13 (family 25, model 1; no bf16), 2 cores" in first, first
    committed = [p for p in (ROOT / "results").iterdir() if p.is_dir()]  # every committed machine stands beside it
    assert f"Results from {len(committed)} other machine(s) stand beside them" in first
    machines = speed[speed.index("Every machine whose results are stored"):]
    assert "AMD EPYC 7B13 (no bf16) (this build)" in machines and "Intel(R) Xeon(R) Processor (AMX)" in machines
    glance = _text(built_site.site_dir / "index.html").split("Results at a glance", 1)[1][:700]
    # This machine measured no headline: the home page says so instead of showing another machine's as its own.
    assert "not measured on this build" in glance and "Intel" not in glance, glance
