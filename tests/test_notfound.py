"""404.html under any base path: the rewritten page loads its styles and links into the site from another root."""

from __future__ import annotations

import functools
import http.server
import re
import shutil
import threading

import pytest

from engine import notfound

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CONFIGURED = "/pytorch-vs-tensorflow/"
# The shape MkDocs and Material give 404.html: absolute links from site_url, Material's config with its base.
PAGE = f"""<!doctype html><html><head><meta charset="utf-8">
<link rel="stylesheet" href="{CONFIGURED}assets/site.css">
<script id="__config" type="application/json">{{"base": "{CONFIGURED}", "features": [], "search": "{CONFIGURED}assets/worker.js"}}</script>
</head><body><a id="home" href="{CONFIGURED}">Home</a> <a id="speed" href="{CONFIGURED}speed/">Speed</a>
<img id="logo" src="{CONFIGURED}assets/logo.svg"></body></html>"""


def test_no_absolute_link_is_left_and_the_base_is_worked_out_first():
    out = notfound.relocatable(PAGE, CONFIGURED, ["assets", "speed", "index.html"])
    assert not re.search(rf'(href|src)="{CONFIGURED}', out) and f'": "{CONFIGURED}' not in out
    assert out.index("<script") < out.index("<link")  # the <base> is written before the first link is read


def test_a_site_without_404_is_left_alone(tmp_path):
    assert notfound.rewrite(tmp_path, "https://example.org/x/") is False


@pytest.mark.parametrize("root", ["/", "/mirror/deep/"])
def test_the_404_page_works_served_from_another_root(tmp_path, root):
    site = tmp_path / root.strip("/") if root != "/" else tmp_path
    (site / "assets").mkdir(parents=True)
    (site / "speed").mkdir()
    (site / "assets" / "site.css").write_text("body { background-color: rgb(1, 2, 3); }")
    (site / "assets" / "logo.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"/>')
    (site / "speed" / "index.html").write_text("speed")
    (site / "404.html").write_text(PAGE)
    assert notfound.rewrite(site, "https://pttf-guide.github.io" + CONFIGURED)

    class NotFound(http.server.SimpleHTTPRequestHandler):
        def send_error(self, code, message=None, explain=None):  # every missing URL gets the 404 page
            if code != 404:
                return super().send_error(code, message, explain)
            body = (site / "404.html").read_bytes()
            self.send_response(404)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(body)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(NotFound, directory=str(tmp_path)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    from playwright.sync_api import sync_playwright

    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
            page = browser.new_page()
            base = f"http://127.0.0.1:{server.server_port}{root}"
            page.goto(base + "speed/no/such/page/")
            assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(1, 2, 3)"
            assert page.evaluate("document.getElementById('speed').href") == base + "speed/"
            assert page.evaluate("document.getElementById('home').href") == base
            assert page.evaluate("document.getElementById('logo').naturalWidth") == 4
            browser.close()
    finally:
        server.shutdown()
