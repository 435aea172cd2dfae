"""Shared fixtures: the real site, built once per test session."""

from __future__ import annotations

import contextlib
import functools
import http.server
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def load_module(path: Path, name: str | None = None):
    """Import a snippet or script by path, without running its ``__main__`` block."""
    name = name or f"_loaded_{path.parent.name}_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and pickling look modules up by name
    spec.loader.exec_module(module)
    return module


def copy_of_the_repository(target: Path, with_build_outputs: bool = False) -> Path:
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


@dataclass
class Build:
    site_dir: Path
    log: str
    seconds: float
    results: Path | None = None  # the results store it read and measured into, where not results/


def _start_build(site_dir: Path, **env_overrides: str) -> tuple[subprocess.Popen, float]:
    # The benchmark pages come from the stored results: on a machine without any, a measuring build
    # would spend minutes on the quick profile, and the tests check the pages, not this CPU's speed
    # (the session's build measures one small case, as a recorded machine: below).
    env = {**os.environ, "GUIDE_BENCH_RUN": os.environ.get("GUIDE_BENCH_RUN", "none"), **env_overrides}
    # The log goes to a file, not a pipe: nobody reads a pipe while the build runs in the background.
    with open(_log_path(site_dir), "w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site_dir)],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, text=True,
        )
    return process, time.perf_counter()


def _log_path(site_dir: Path) -> Path:
    return site_dir.with_name(site_dir.name + ".log")


def _finish_build(site_dir: Path, process: subprocess.Popen, started: float, results: Path | None = None) -> Build:
    process.wait()
    seconds = time.perf_counter() - started
    log = _log_path(site_dir).read_text()
    if process.returncode != 0:
        pytest.fail(f"mkdocs build --strict failed (exit {process.returncode}):\n{log[-6000:]}")
    return Build(site_dir=site_dir, log=log, seconds=seconds, results=results)


def build_site(site_dir: Path, **env_overrides: str) -> Build:
    """Run the README's strict build into ``site_dir``; fail the test with its log if it fails."""
    return _finish_build(site_dir, *_start_build(site_dir, **env_overrides))


# --- The session's build, started in the background --------------------------
# On a fresh clone the strict build runs every example (minutes), mostly in
# single-threaded framework imports. It starts with the session when the whole
# suite runs (before collection) or else once collection has selected a test that
# needs it; those tests run last, and every other test runs meanwhile.
# A test that reads what the build writes (docs/generated, .cache, the site)
# must ask for `built_site`, which waits for it.
_SESSION_BUILD: dict = {}


def _needs_build(item: pytest.Item) -> bool:
    return "built_site" in getattr(item, "fixturenames", ())


def pytest_collection_modifyitems(session, config, items):
    # A stable sort: the built-site tests keep their order, after all the others.
    items.sort(key=_needs_build)


# The session's site is built as a recorded machine that is no builder's: an AMD EPYC Zen 3 without
# AVX-512 or any bf16. So the suite sees the same site on every builder, whatever its vendor or
# features; the whole build path runs on a foreign machine (parity, and one small benchmark case
# measured as that machine, into a copy of the store: a recorded machine may not file runs in
# results/); and the page-shape tests see a quick-profile primary beside the committed machines.
FOREIGN_MACHINE = ROOT / "tests" / "fixtures" / "machines" / "amd_epyc_zen3_nobf16.json"
# Not the dispatch probe: it records the kernels the real CPU ran (AVX-512 ones on an AVX-512 builder),
# which a description without AVX-512 rightly calls another machine's, so every later build would
# measure it again, and whether it does would depend on the builder's CPU.
FOREIGN_CASES = "ceiling"


def session_build_env(results: Path) -> dict[str, str]:
    return {"GUIDE_MACHINE_FILE": str(FOREIGN_MACHINE), "GUIDE_RESULTS_DIR": str(results), "GUIDE_BENCH_RUN": "stale",
            "GUIDE_BENCH_CASES": FOREIGN_CASES, "GUIDE_BENCH_QUIET_WAIT": "0"}


def _start_session_build() -> None:
    scratch = Path(tempfile.mkdtemp(prefix="guide-test-"))
    site_dir, results = scratch / "site", scratch / "results"
    shutil.copytree(ROOT / "results", results)
    _SESSION_BUILD.update(site_dir=site_dir, results=results)
    _SESSION_BUILD["running"] = _start_build(site_dir, **session_build_env(results))


def _whole_suite(config) -> bool:
    """The README's `make test` (no paths, no -k/-m): the built-site tests are certainly selected."""
    return (config.args_source == pytest.Config.ArgsSource.TESTPATHS and not config.option.keyword
            and not config.option.markexpr and not config.option.collectonly)


def pytest_sessionstart(session):
    if _whole_suite(session.config):  # start before collection, which imports both frameworks (~12 s)
        _start_session_build()


def pytest_collection_finish(session):
    needed = any(_needs_build(item) for item in session.items) and not session.config.option.collectonly
    if needed and "running" not in _SESSION_BUILD:
        _start_session_build()


def pytest_sessionfinish(session):
    running = _SESSION_BUILD.pop("running", None)
    if running and running[0].poll() is None:  # the session ended early (-x, Ctrl-C): no orphan build
        running[0].terminate()
        running[0].wait()
    if "site_dir" in _SESSION_BUILD:
        shutil.rmtree(_SESSION_BUILD.pop("site_dir").parent, ignore_errors=True)


# --- The browser: Debian's chromium, driven by Playwright ----------------------
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Flags for a root, offline, headless run: without the networking ones Chromium
# keeps trying to reach Google's services from this closed network.
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # one line per request would bury a failing test's output
        pass


@contextlib.contextmanager
def serving(directory: Path):
    """A built site on a loopback port, for the browser; yields its base URL."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(directory)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()


@pytest.fixture(scope="session")
def browser():
    if not shutil.which("chromium") and not shutil.which(CHROMIUM):
        pytest.fail("Debian's chromium is not installed; `make test` installs it")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def built_site(tmp_path_factory) -> Build:
    running = _SESSION_BUILD.pop("running", None)
    if running is None:  # collected without the hook's help (e.g. -p no:...): build now
        scratch = tmp_path_factory.mktemp("site")
        shutil.copytree(ROOT / "results", scratch / "results")
        built = build_site(scratch / "site", **session_build_env(scratch / "results"))
        built.results = scratch / "results"
        return built
    return _finish_build(_SESSION_BUILD["site_dir"], *running, results=_SESSION_BUILD["results"])


@contextlib.contextmanager
def store_lock_held(root: Path):
    """Another process holding the measuring lock of the store at ``root`` (``store.measuring``); yields it."""
    holder = subprocess.Popen([sys.executable, "-c", (
        f"import sys, time, pathlib; sys.path.insert(0, {str(ROOT / 'scripts')!r})\n"
        "from engine.bench import store\n"
        f"with store.measuring(pathlib.Path({str(root)!r})):\n"
        "    print('held', flush=True); time.sleep(600)")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "held\n"
        yield holder
    finally:
        holder.kill()
        holder.wait()
