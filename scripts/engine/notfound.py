"""The 404 page under any base path.

MkDocs writes ``404.html`` with absolute links (``/pytorch-vs-tensorflow/assets/...``) taken from
``site_url``, because a server shows that one page for every missing URL at any depth. Served from
another root (a mirror, a local server, a preview), every one of them breaks. After the build, this
makes them relative and puts a small script first in ``<head>`` that writes a ``<base>``: the
configured path when the address starts with it, else the part of the address before the first
segment the built site has at its top level (``speed/``, ``assets/``), else the address's folder.

>>> html = '<html><head><link href="/p/assets/x.css"></head><body><a href="/p/speed/">S</a></body></html>'
>>> out = relocatable(html, "/p/", ["assets", "speed"])
>>> bool(re.search(r'(href|src)="/p/', out)), 'href="assets/x.css"' in out, 'href="speed/"' in out
(False, True, True)
>>> out.index("<script") < out.index("<link"), relocatable(out, "/p/", ["assets"]) == out
(True, True)
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import urlparse

_SCRIPT = """<script data-guide-base>(function(){{var p=location.pathname,c={prefix},t={top},r=null;
if(c!=="/"&&p.indexOf(c)===0){{r=c}}else{{var s=p.split("/");for(var i=1;i<s.length;i++){{if(t.indexOf(s[i])>=0){{r=s.slice(0,i).join("/")+"/";break}}}}}}
if(r===null){{r=p.slice(0,p.lastIndexOf("/")+1)}}document.write('<base href="'+r+'">')}})();</script>"""


def relocatable(html: str, prefix: str, top_level: list[str]) -> str:
    """``html`` with links under ``prefix`` made relative to a ``<base>`` the page works out when it loads."""
    if "<script data-guide-base>" in html:  # already relocatable (a second post-build pass)
        return html
    prefix = prefix if prefix.endswith("/") else prefix + "/"
    escaped = re.escape(prefix)
    html = re.sub(rf'(\b(?:href|src|content|action)=")({escaped})', r"\1", html)
    html = re.sub(rf'("base":\s*")({escaped})', r'\1./', html)  # Material's config: its base, relative to <base>
    html = re.sub(rf'(":\s*")({escaped})', r"\1", html)  # and its other paths (the search worker)
    script = _SCRIPT.format(prefix=json.dumps(prefix), top=json.dumps(sorted(top_level)))
    return re.sub(r"<head([^>]*)>", lambda m: m.group(0) + script, html, count=1)


def rewrite(site_dir: Path, site_url: str | None) -> bool:
    """Make ``site_dir/404.html`` relocatable; False where there is none."""
    page = site_dir / "404.html"
    if not page.exists():
        return False
    prefix = urlparse(site_url or "/").path or "/"
    top = [p.name for p in site_dir.iterdir() if p.name != "404.html"]
    page.write_text(relocatable(page.read_text(encoding="utf-8"), prefix, top), encoding="utf-8")
    return True
