"""The real site, built strictly: executed outputs on the pages, tabs labelled right, no-op rebuilds."""

from __future__ import annotations

import html
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from common.scaling import free_ports
from conftest import ROOT, _finish_build, _start_build, session_build_env
from engine import paths

pytestmark = pytest.mark.build


def page_html(build, name: str) -> str:
    return (build.site_dir / name / "index.html").read_text(encoding="utf-8")


def test_strict_build_writes_every_nav_page(built_site):
    for name in ("ease-of-use", "speed", "graphs", "debugging", "claims", "contributing"):
        assert (built_site.site_dir / name / "index.html").exists(), name
    assert (built_site.site_dir / "index.html").exists()


def test_ease_of_use_shows_what_each_snippet_printed(built_site):
    text = html.unescape(re.sub(r"<[^>]+>", "", page_html(built_site, "ease-of-use")))
    for stem in ("mnist_cnn_torch", "mnist_cnn_tf", "train_loop_torch", "train_loop_tf"):
        printed = (paths.SNIPPET_OUTPUT_DIR / "ease_of_use" / f"{stem}.txt").read_text().strip()
        for line in printed.splitlines():
            assert line.strip() in text, f"{stem} printed {line!r}, which the page does not show"


def test_both_models_report_the_same_parameter_count(built_site):
    counts = {}
    for framework in ("torch", "tf"):
        printed = (paths.SNIPPET_OUTPUT_DIR / "ease_of_use" / f"mnist_cnn_{framework}.txt").read_text()
        counts[framework] = re.search(r"trainable parameters: ([\d,]+)", printed).group(1)
    assert counts["torch"] == counts["tf"]


def test_every_tab_group_is_labelled_pytorch_then_tensorflow(built_site):
    groups = 0
    for page in built_site.site_dir.rglob("index.html"):
        for block in re.findall(r'<div class="tabbed-labels">(.*?)</div>', page.read_text(encoding="utf-8"), re.S):
            labels = [html.unescape(re.sub(r"<[^>]+>", "", label)).strip() for label in re.findall(r"<label[^>]*>(.*?)</label>", block, re.S)]
            assert labels == ["PyTorch", "TensorFlow"], f"{page}: tab labels {labels}"
            groups += 1
    assert groups >= 4


def test_the_site_references_no_third_party_host(built_site):
    offenders = set()
    for page in built_site.site_dir.rglob("*.html"):
        for url in re.findall(r'(?:src|href)="(https?://[^"]+)"', page.read_text(encoding="utf-8")):
            # Outbound links a reader clicks are fine; resources the page loads are not.
            if re.search(r"\.(js|css|woff2?|ttf|png|svg|jpg)(\?|$)", url):
                offenders.add(url)
        text = page.read_text(encoding="utf-8")
        loaded = r'<(?:script|img|iframe)[^>]+src="(https?://[^"]+)"|<link[^>]+rel="(?:stylesheet|preload|modulepreload|icon)"[^>]+href="(https?://[^"]+)"'
        for match in re.findall(loaded, text):
            offenders.update(url for url in match if url)
        # Material fetches repository facts from the host's API for this component.
        if 'data-md-component="source"' in text:
            offenders.add(f"{page}: repository widget that calls the GitHub API")
    assert offenders == set()


def _wait_for(log: Path, text: str, count: int, server: subprocess.Popen, seconds: float = 300) -> None:
    deadline = time.monotonic() + seconds
    while log.read_text().count(text) < count:
        assert server.poll() is None, f"mkdocs serve exited {server.returncode}:\n{log.read_text()[-3000:]}"
        assert time.monotonic() < deadline, f"mkdocs serve never said {text!r} {count} time(s):\n{log.read_text()[-3000:]}"
        time.sleep(0.5)


def test_a_second_build_with_nothing_changed_executes_nothing_even_while_mkdocs_serve_rebuilds(built_site, tmp_path):
    """The no-op rebuild, run while `mkdocs serve` rebuilds for a page touched mid-build: both succeed.

    As the session's build ran (its recorded machine, its results copy): "nothing changed" means the
    same inputs, and another machine description would rightly rerun the parity proof. A maintainer's
    `mkdocs serve` and a second terminal's `mkdocs build` share docs/generated and .cache; the store
    must stay valid and neither build may fail (issue 25's "tried and held").
    """
    env = {**os.environ, **session_build_env(built_site.results)}
    serve_log = tmp_path / "serve.log"
    with open(serve_log, "w") as log:
        server = subprocess.Popen([sys.executable, "-m", "mkdocs", "serve", "--strict",
                                   "--dev-addr", f"127.0.0.1:{free_ports(1)[0]}"],
                                  cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, text=True)
    try:
        _wait_for(serve_log, "Documentation built in", 1, server)
        touched = ROOT / "docs" / "index.md"
        running = _start_build(tmp_path / "again", **session_build_env(built_site.results))
        time.sleep(2)  # the build is under way: touch a page, as an editor's save does
        os.utime(touched)
        again = _finish_build(tmp_path / "again", *running)
        _wait_for(serve_log, "Documentation built in", 2, server)  # serve rebuilt for the touch, and finished
    finally:
        server.terminate()
        server.wait(30)
    served = serve_log.read_text()
    assert "ERROR" not in served and "Traceback" not in served, served[-3000:]
    for log in (again.log, served):
        assert re.search(r"snippets: 0 ran, \d+ reused, 0 failed", log), log[-3000:]
        assert re.search(r"parity: \d+ pair\(s\) .*\(0 compared, \d+ reused\)", log), log[-3000:]
        assert "ran 0 case(s)" in log, log[-3000:]
    check = subprocess.run([sys.executable, "scripts/regen.py", "check", "--results-dir", str(built_site.results)],
                           cwd=ROOT, env=env, capture_output=True, text=True)
    assert check.returncode != 2 and "INVALID" not in check.stdout, check.stdout[-3000:]  # stale is allowed
    print(f"no-op rebuild took {again.seconds:.1f} s beside mkdocs serve")


def test_an_unknown_run_mode_fails_the_build_with_a_clear_message(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path)],
        cwd=ROOT, env={**__import__("os").environ, "GUIDE_RUN": "sometimes"}, capture_output=True, text=True,
    )
    assert result.returncode != 0
    assert "GUIDE_RUN='sometimes' is not one of stale, none, all" in result.stdout + result.stderr


def test_a_page_including_a_missing_file_fails_naming_page_and_file():
    from mkdocs.exceptions import PluginError

    sys.path.insert(0, str(paths.SCRIPTS_DIR))
    from engine import hook

    page = SimpleNamespace(file=SimpleNamespace(src_path="broken.md"))
    with pytest.raises(PluginError, match=r"broken\.md: includes snippets/missing_torch\.py, which does not exist"):
        hook.on_page_markdown('--8<-- "snippets/missing_torch.py:model"\n', page=page, config=None, files=None)
