"""Runs every example in its own process and caches what it printed.

Each snippet runs as ``python snippets/<page>/<name>.py`` in a fresh process
(so torch and TensorFlow never share one), with a timeout. Its stdout and the
files it wrote are stored under ``.cache/snippets/<page>/`` together with the
key they were produced under (see ``engine.keys``); the next build reuses them
while the key is unchanged. Failures are never cached: they fail the build
with the snippet's path and the end of its traceback, and run again next time.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from engine import atomic, environment, keys, paths
from engine.snippets import Snippet, discover

RECORD_SCHEMA = 1
MODES = ("stale", "none", "all")
DEFAULT_TIMEOUT_S = 600
TIMEOUT_RE = re.compile(r"#\s*guide:\s*timeout\s*=\s*(\d+)")
# A snippet that measures something (scaling, throughput) asks to run alone,
# after the others, with every core: `# guide: exclusive`.
EXCLUSIVE_RE = re.compile(r"#\s*guide:\s*exclusive\b")
# Files a snippet writes that pages may show; everything else stays in the cache.
PUBLISHED_SUFFIXES = {".png", ".svg", ".csv", ".json", ".md", ".txt"}
TRACEBACK_LINES = 25

log_default = logging.getLogger("mkdocs.plugins.guide")


class SnippetFailure(RuntimeError):
    """One or more snippets failed; the message names each and ends with its traceback."""


@dataclass
class RunSummary:
    ran: list[str] = field(default_factory=list)
    reused: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0

    def line(self) -> str:
        return (
            f"snippets: {len(self.ran)} ran, {len(self.reused)} reused, "
            f"{len(self.failed)} failed, in {self.seconds:.1f} s"
        )


def record_path(snippet: Snippet) -> Path:
    return paths.SNIPPET_CACHE_DIR / snippet.page / f"{snippet.stem}.json"


def files_dir(page: str, stem: str) -> Path:
    """Where the files a snippet wrote to ``output_dir()`` are kept between builds."""
    return paths.SNIPPET_CACHE_DIR / page / stem / "files"


def output_text_path(snippet: Snippet) -> Path:
    return paths.SNIPPET_OUTPUT_DIR / snippet.page / f"{snippet.stem}.txt"


def load_record(snippet: Snippet) -> dict | None:
    path = record_path(snippet)
    if not path.exists():
        return None
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None  # a damaged cache entry is just a miss
    return record if record.get("schema") == RECORD_SCHEMA else None


def timeout_for(snippet: Snippet) -> int:
    match = TIMEOUT_RE.search(snippet.path.read_text(encoding="utf-8"))
    return int(match.group(1)) if match else DEFAULT_TIMEOUT_S


def is_exclusive(snippet: Snippet) -> bool:
    return bool(EXCLUSIVE_RE.search(snippet.path.read_text(encoding="utf-8")))


def snippet_env(output_dir: Path, jobs: int = 1) -> dict[str, str]:
    env = dict(os.environ)
    # Snippets running side by side share the cores instead of each grabbing
    # all of them (oversubscribed thread pools slow everyone down). These are
    # examples, not benchmarks: the benchmark harness pins threads itself.
    threads = str(max(1, environment.usable_cores() // max(1, jobs)))
    for name in ("OMP_NUM_THREADS", "TF_NUM_INTRAOP_THREADS"):
        env.setdefault(name, threads)
    python_path = [str(paths.SNIPPETS_DIR), str(paths.SCRIPTS_DIR)]
    if env.get("PYTHONPATH"):
        python_path.append(env["PYTHONPATH"])
    env.update(
        PYTHONPATH=os.pathsep.join(python_path),
        GUIDE_OUTPUT_DIR=str(output_dir),
        PYTHONUNBUFFERED="1",
        PYTHONHASHSEED="0",
        MPLBACKEND="Agg",
        TF_CPP_MIN_LOG_LEVEL=env.get("TF_CPP_MIN_LOG_LEVEL", "2"),
        KERAS_BACKEND="tensorflow",  # the TF examples are about TF, whatever the reader's shell says
    )
    return env


def _tail(text: str, lines: int = TRACEBACK_LINES) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:])


def run_one(snippet: Snippet, key: str, jobs: int = 1) -> dict:
    """Run one snippet in a fresh process; return its record or raise SnippetFailure."""
    timeout = timeout_for(snippet)
    with tempfile.TemporaryDirectory(prefix=f"guide-{snippet.stem}-") as scratch:
        output_dir = Path(scratch) / "files"
        output_dir.mkdir()
        started = time.perf_counter()
        # A new session makes the snippet its own process group, so a timeout
        # kills the workers it spawned too (DataLoader, multi-process demos).
        process = subprocess.Popen(
            [sys.executable, str(snippet.path)],
            cwd=paths.ROOT,
            env=snippet_env(output_dir, jobs),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            stdout, stderr = process.communicate()
            raise SnippetFailure(
                f"{snippet.rel}: timed out after {timeout} s\n{_tail(stderr or stdout)}"
            ) from None
        seconds = time.perf_counter() - started
        if process.returncode != 0:
            raise SnippetFailure(
                f"{snippet.rel}: exited with status {process.returncode}\n{_tail(stderr or stdout)}"
            )
        kept = files_dir(snippet.page, snippet.stem)
        if kept.exists():
            shutil.rmtree(kept)
        shutil.copytree(output_dir, kept)
    return {
        "schema": RECORD_SCHEMA,
        "key": key,
        "path": snippet.rel,
        "page": snippet.page,
        "stem": snippet.stem,
        "framework": snippet.framework,
        "stdout": stdout,
        "stderr_tail": _tail(stderr, 40),
        "seconds": round(seconds, 3),
        "ran_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "device": environment.detect_device(),
        "versions": environment.framework_versions(),
        "files": sorted(p.relative_to(kept).as_posix() for p in kept.rglob("*") if p.is_file()),
    }


def publish(snippet: Snippet, record: dict) -> None:
    """Write a snippet's stdout and showable files into docs/generated/output/."""
    text = record["stdout"].rstrip() + "\n" if record["stdout"].strip() else "(no output)\n"
    atomic.write_if_changed(output_text_path(snippet), text)
    kept = files_dir(snippet.page, snippet.stem)
    for name in record.get("files", []):
        source = kept / name
        if source.suffix.lower() in PUBLISHED_SUFFIXES and source.is_file():
            target = paths.SNIPPET_OUTPUT_DIR / snippet.page / snippet.stem / name
            atomic.write_if_changed(target, source.read_bytes())


def default_jobs() -> int:
    configured = os.environ.get("GUIDE_JOBS")
    if configured:
        return max(1, int(configured))
    # Two at a time keeps a 2-core builder busy while TF is still importing.
    return max(1, min(2, environment.usable_cores()))


def refresh(
    mode: str = "stale",
    log: logging.Logger = log_default,
    snippets: list[Snippet] | None = None,
    jobs: int | None = None,
) -> RunSummary:
    """Bring every snippet's stored output up to date and publish it.

    ``stale`` runs snippets whose key changed or that have no stored output,
    ``all`` runs every snippet, ``none`` runs nothing and uses stored output
    (failing if some is missing). Raises SnippetFailure naming every snippet
    that failed, after the others have finished.
    """
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}; expected one of {', '.join(MODES)}")
    started = time.perf_counter()
    snippets = discover() if snippets is None else snippets
    summary = RunSummary()
    device = environment.detect_device()
    to_run: list[tuple[Snippet, str]] = []
    for snippet in snippets:
        key = keys.cache_key(snippet.path, device)
        record = load_record(snippet)
        if mode == "none":
            if record is None:
                summary.failed[snippet.rel] = "no stored output (build once without GUIDE_RUN=none)"
            else:
                publish(snippet, record)
                summary.reused.append(snippet.rel)
        elif mode == "stale" and record is not None and record.get("key") == key:
            publish(snippet, record)
            summary.reused.append(snippet.rel)
        else:
            to_run.append((snippet, key))

    if to_run:
        jobs = jobs or default_jobs()
        shared = [(s, k) for s, k in to_run if not is_exclusive(s)]
        alone = [(s, k) for s, k in to_run if is_exclusive(s)]
        log.info(
            f"snippets: running {len(to_run)} of {len(snippets)} "
            f"({jobs} at a time, then {len(alone)} alone)"
        )
        progress = iter(range(1, len(to_run) + 1))

        def finished(snippet: Snippet, future) -> None:
            done = next(progress)
            try:
                record = future.result()
            except SnippetFailure as failure:
                summary.failed[snippet.rel] = str(failure)
                log.error(f"snippets: [{done}/{len(to_run)}] FAILED {snippet.rel}")
                return
            atomic.write_json_atomic(record_path(snippet), record)
            publish(snippet, record)
            summary.ran.append(snippet.rel)
            log.info(f"snippets: [{done}/{len(to_run)}] ran {snippet.rel} in {record['seconds']:.1f} s")

        for batch, width in ((shared, jobs), (alone, 1)):
            if not batch:
                continue
            with ThreadPoolExecutor(max_workers=width) as pool:
                futures = {pool.submit(run_one, snippet, key, width): snippet for snippet, key in batch}
                for future in as_completed(futures):
                    finished(futures[future], future)

    summary.seconds = time.perf_counter() - started
    log.info(summary.line())
    if summary.failed:
        details = "\n\n".join(
            message if message.startswith(rel) else f"{rel}: {message}"
            for rel, message in sorted(summary.failed.items())
        )
        raise SnippetFailure(f"{len(summary.failed)} snippet(s) failed:\n\n{details}")
    return summary
