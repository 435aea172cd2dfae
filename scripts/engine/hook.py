"""The MkDocs hook: bring every executed output up to date before pages render.

``mkdocs.yml`` lists this file under ``hooks:``. Before MkDocs collects the
pages (``on_pre_build``), each step of ``build_steps()`` runs in order: the
engine's own, with every page folder's steps (``snippets/<page>/<page>_build.py``,
``engine.pages``) after the snippets have run; a step that fails stops the
build with its message. ``GUIDE_RUN`` picks the mode:

* ``stale`` (default): run what changed, reuse the rest;
* ``none``: run nothing, build from stored outputs and results only;
* ``all``: rerun everything.

Every environment variable is checked first, in one place (``engine.envinput``):
a bad one stops the build before anything runs. Ctrl-C or SIGTERM during the
steps stops the children, keeps what finished and fails the build saying so.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from pathlib import Path

from mkdocs.exceptions import PluginError

# MkDocs loads a hook by file path and restores sys.path afterwards, so the
# engine package is made importable when a step runs, not at import time.
_SCRIPTS = str(Path(__file__).resolve().parents[1])

log = logging.getLogger("mkdocs.plugins.guide")


def build_steps() -> list:
    """The steps, each called as step(mode, log). Order matters: later steps read what earlier ones produced."""
    _engine_importable()
    from engine import (
        bench,
        build_info,
        claims,
        codestats,
        install_costs,
        notebooks,
        pages,
        parity,
        snippet_runner,
    )

    return [
        snippet_runner.refresh,
        codestats.refresh,
        build_info.refresh,
        *pages.build_steps(),  # each page's own, reading what its snippets wrote
        install_costs.refresh,  # renders what make venv recorded about the extras
        notebooks.refresh,
        parity.refresh,  # runs each parity pair: PyTorch side, then TensorFlow side
        bench.refresh_for_build,
        claims.refresh,  # the ledger table: the claims table's verdicts and the benchmarks' generated ones
    ]


def step_name(step) -> str:
    """How the log names a step: ``engine.codestats:refresh``, ``ecosystem.trainer_runs:refresh``."""
    return f"{step.__module__}:{step.__qualname__}"


def _engine_importable() -> None:
    if _SCRIPTS not in sys.path:
        sys.path.insert(0, _SCRIPTS)


def check_environment(logger: logging.Logger = log):
    """Every GUIDE_* variable, checked before anything runs; one line per bad one."""
    _engine_importable()
    from engine import envinput

    try:
        settings = envinput.read()
    except envinput.EnvError as error:
        raise PluginError(str(error)) from None
    logger.info(settings.line())
    return settings


def build_mode() -> str:
    return check_environment().run


def run_steps(mode: str, logger: logging.Logger = log) -> None:
    _engine_importable()
    from engine import procs

    with procs.sigterm_as_interrupt():
        for function in build_steps():
            step = step_name(function)
            started = time.perf_counter()
            try:
                function(mode, logger)
            except KeyboardInterrupt as interrupt:
                # MkDocs answers "Aborted!" and exits 1; say first what the interrupt left behind.
                logger.error(f"guide: build interrupted during {step}: {interrupt or 'nothing was half-written'}")
                raise
            except Exception as error:  # any step failing must stop the build, loudly
                raise PluginError(f"build step {step} failed:\n{error}") from error
            logger.info(f"guide: {step} done in {time.perf_counter() - started:.1f} s")


def on_pre_build(config, **kwargs) -> None:
    # Steps that read TensorBoard files import TensorFlow here; keep its C++
    # start-up chatter out of the build log.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    run_steps(check_environment().run)


def on_files(files, config, **kwargs):
    """A page that lives in its folder (``snippets/<page>/page.md``, engine.pages) joins the site's pages."""
    from mkdocs.structure.files import File

    _engine_importable()
    from engine import pages

    for name, path in pages.folder_pages():
        if files.get_file_from_path(name) is not None:
            raise PluginError(f"{path.relative_to(pages.paths.ROOT)} and docs/{name} are both the page {name}: "
                              "keep one")
        files.append(File.generated(config, name, abs_src_path=str(path)))
    return files


def on_page_markdown(markdown: str, page, config, files, **kwargs) -> str:
    """Fail with the page's name when it includes a file or section that is not there; expand verdict marks.

    pymdownx.snippets (``check_paths``) would also stop the build, but without
    saying which page asked; this says both. ``<!-- md:verdict C05 -->`` and
    ``<!-- md:badge C05 -->`` become the claim's one verdict (engine.claims),
    ``<!-- md:fact executorch.status -->`` the fact recorded once (engine.facts).
    """
    from engine import claims, facts, tabs
    from engine.includes import find_problems

    # Pair marks become tab groups first, so the --8<-- lines they write reach
    # pymdownx.snippets, which runs later, inside the Markdown conversion.
    try:
        markdown = tabs.expand(markdown)
    except ValueError as error:
        raise PluginError(f"{page.file.src_path}: {error}") from error
    problems = find_problems(markdown)
    if problems:
        raise PluginError(f"{page.file.src_path}: " + "; ".join(problems))
    try:
        return facts.expand_marks(claims.expand_marks(markdown, claims.verdict_table()))
    except ValueError as error:
        raise PluginError(f"{page.file.src_path}: {error}") from error


def on_page_content(html: str, page, config, files, **kwargs) -> str:
    """Each glossary term's first use on the page links to its definition on How we measure (engine.glossary)."""
    from mkdocs.utils import get_relative_url

    _engine_importable()
    from engine import glossary

    target = files.get_file_from_path(glossary.PAGE)
    if target is None:
        return html
    return glossary.link_first_uses(html, page.file.src_uri, get_relative_url(target.url, page.url))


def on_post_build(config, **kwargs) -> None:
    """404.html works under any base path, not only site_url's (engine.notfound)."""
    _engine_importable()
    from engine import notfound

    notfound.rewrite(Path(config["site_dir"]), config.get("site_url"))
