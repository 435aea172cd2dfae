"""The real site, built strictly: executed outputs on the pages, tabs labelled right, no-op rebuilds."""

from __future__ import annotations

import html
import re
import subprocess
import sys
from types import SimpleNamespace

import pytest

from conftest import ROOT, build_site
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


def test_a_second_build_with_nothing_changed_executes_nothing(built_site, tmp_path):
    again = build_site(tmp_path / "again")
    assert re.search(r"snippets: 0 ran, \d+ reused, 0 failed", again.log), again.log[-3000:]
    print(f"no-op rebuild took {again.seconds:.1f} s")


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
