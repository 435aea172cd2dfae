"""Runs every example in its own process and caches what it printed.

Each snippet runs as ``python snippets/<page>/<name>.py`` in a fresh process
(so torch and TensorFlow never share one), with a timeout, under its
framework's interpreter (``envinput.python_for``: ``*_torch.py`` under
GUIDE_PYTHON_TORCH, ``*_tf.py`` under GUIDE_PYTHON_TF, both defaulting to the
build's own). Its stdout and the
files it wrote are stored under ``.cache/snippets/<page>/`` together with the
key they were produced under (see ``engine.keys``); the next build reuses them
while the key is unchanged. Failures are never cached: they fail the build
with the snippet's path and the end of its traceback, and run again next time.

A cache entry is complete or absent, whatever stops the build: a snippet writes
into a staging folder beside its entry, which is renamed into place with the
old record removed first and the new one written last, and a record is reused
only while every file it lists exists. Ctrl-C or SIGTERM cancels queued
snippets, stops the running ones (``engine.procs``), keeps what had finished,
and raises ``procs.Interrupted`` saying so.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from concurrent.futures import wait as wait_futures
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from engine import atomic, envinput, environment, keys, paths, procs
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
# The most a snippet may print, on stdout or on stderr; past it the snippet is stopped and fails,
# and nothing is cached. Set from the 48 real snippets (all run at once, `regen.py snippets`, when
# this was set; README "Bounds"): the largest stdout was 2,107 bytes (debugging/shape_bug_torch.py),
# the largest stderr 4,024 bytes (deployment/export_roundtrip_torch.py). 1 MiB is 250 times the
# larger: only a runaway loop gets there, and the engine never holds more than this in memory.
MAX_OUTPUT_BYTES = 1 << 20
# Of stderr, only the end is read back (the traceback a failure shows, the record's tail).
STDERR_TAIL_BYTES = 64 << 10
# What a page shows of an output: longer ones are cut, visibly, with the whole output beside it
# (``shown_text``). The longest real one was 49 lines (debugging/breakpoint_torch.py): four times that.
SHOWN_LINES = 200
SHOWN_TAIL_LINES = 20

log_default = logging.getLogger("mkdocs.plugins.guide")


class SnippetFailure(RuntimeError):
    """One or more snippets failed; the message names each and ends with its traceback."""


class _Cancelled(Exception):
    """A snippet stopped because the build was interrupted; nothing of it is kept."""


# Held while an entry is swapped into place; the interrupt path takes it to set
# the cancel flag, so no swap is ever cut short by a cancellation.
_commit_lock = threading.Lock()


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


def entry_dir(page: str, stem: str) -> Path:
    return paths.SNIPPET_CACHE_DIR / page / stem


def files_dir(page: str, stem: str) -> Path:
    """Where the files a snippet wrote to ``output_dir()`` are kept between builds."""
    return entry_dir(page, stem) / "files"


def output_text_path(snippet: Snippet) -> Path:
    return paths.SNIPPET_OUTPUT_DIR / snippet.page / f"{snippet.stem}.txt"


def load_record(snippet: Snippet) -> dict | None:
    path = record_path(snippet)
    if not path.exists():
        return None
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None  # a damaged cache entry is just a miss
    if not isinstance(record, dict) or record.get("schema") != RECORD_SCHEMA:
        return None
    listed = record.get("files")
    kept = files_dir(snippet.page, snippet.stem)
    if not isinstance(listed, list) or not all(isinstance(n, str) and (kept / n).is_file() for n in listed):
        return None  # an entry whose files are gone is incomplete: run it again
    return record


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
    # On a GPU, TensorFlow otherwise reserves nearly the whole card at start-up (also in the snippet that
    # runs beside it); growing on demand is what the examples that set it in code do too.
    env.setdefault("TF_FORCE_GPU_ALLOW_GROWTH", "true")
    return env


def _tail(text: str, lines: int = TRACEBACK_LINES) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:])


def _commit(snippet: Snippet, staging: Path, record: dict) -> None:
    """Swap ``staging`` in as the snippet's entry; at every step the entry is complete or absent."""
    entry, record_file = entry_dir(snippet.page, snippet.stem), record_path(snippet)
    record_file.unlink(missing_ok=True)  # from here on the old entry no longer counts
    retired = None
    if entry.exists():
        retired = entry.with_name(f".{snippet.stem}.old-{staging.name}")
        entry.rename(retired)
    staging.rename(entry)
    atomic.write_json_atomic(record_file, record)  # last: the entry counts only now
    if retired is not None:
        shutil.rmtree(retired, ignore_errors=True)


def run_one(snippet: Snippet, key: str, jobs: int = 1, cancel: threading.Event | None = None) -> dict:
    """Run one snippet in a fresh process, store its entry; return its record or raise SnippetFailure."""
    timeout = timeout_for(snippet)
    cancel = cancel or threading.Event()
    page_dir = paths.SNIPPET_CACHE_DIR / snippet.page
    with procs.scratch_dir(prefix=f".{snippet.stem}.staging-", parent=page_dir) as staging:
        output_dir = staging / "files"
        output_dir.mkdir()
        started = time.perf_counter()
        # Its own process group, so a timeout or an interrupt stops the workers it
        # spawned too (DataLoader, multi-process demos); they die with the build.
        # Under its framework's interpreter (GUIDE_PYTHON_TORCH / GUIDE_PYTHON_TF; default this one).
        # Its output streams into files, bounded (MAX_OUTPUT_BYTES); what it left running is stopped.
        try:
            done, timed_out = procs.run([envinput.python_for(snippet.framework), str(snippet.path)], timeout,
                                        max_output_bytes=MAX_OUTPUT_BYTES, stderr_tail_bytes=STDERR_TAIL_BYTES,
                                        cwd=paths.ROOT, env=snippet_env(output_dir, jobs))
        except procs.OutputTooLarge as error:
            if cancel.is_set():
                raise _Cancelled from None
            raise SnippetFailure(f"{snippet.rel}: {error} on a snippet's output (MAX_OUTPUT_BYTES in "
                                 "scripts/engine/snippet_runner.py; README, Bounds); nothing was cached") from None
        stdout, stderr = done.stdout, done.stderr
        if cancel.is_set():
            raise _Cancelled
        seconds = time.perf_counter() - started
        why = procs.failure(done, timed_out, timeout, snippet.rel)
        if why:
            # The leftovers' line alone when the snippet itself succeeded, so its name starts it.
            line = why if why.startswith(snippet.rel) else f"{snippet.rel}: {why}"
            raise SnippetFailure(line if done.leftovers and not timed_out and done.returncode == 0
                                 else f"{line}\n{_tail(stderr or stdout)}")
        record = _record(snippet, key, stdout, stderr, seconds, output_dir)
        with _commit_lock:
            if cancel.is_set():
                raise _Cancelled
            _commit(snippet, staging, record)
    return record


def _record(snippet: Snippet, key: str, stdout: str, stderr: str, seconds: float, kept: Path) -> dict:
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
        "versions": environment.versions_for(snippet.framework),  # as its own interpreter sees them
        "files": sorted(p.relative_to(kept).as_posix() for p in kept.rglob("*") if p.is_file()),
    }


def full_output_path(snippet: Snippet) -> Path:
    """Where the whole of an output too long to show is published, beside the cut one."""
    return paths.SNIPPET_OUTPUT_DIR / snippet.page / f"{snippet.stem}.full.txt"


def shown_text(text: str, whole: str, lines: int = SHOWN_LINES, tail: int = SHOWN_TAIL_LINES) -> str:
    """``text`` as a page shows it: past ``lines`` lines, its start and end around a line saying what was cut.

    >>> print(shown_text("\\n".join(map(str, range(10))), "out.full.txt", lines=4, tail=1))
    0
    1
    ... 7 lines cut; the whole output is in out.full.txt
    9
    """
    kept = text.splitlines()
    if len(kept) <= lines:
        return text
    head = lines - tail - 1
    cut = len(kept) - head - tail
    return "\n".join([*kept[:head], f"... {cut} lines cut; the whole output is in {whole}", *kept[len(kept) - tail:]])


def publish(snippet: Snippet, record: dict) -> None:
    """Write a snippet's stdout and showable files into docs/generated/output/."""
    text = record["stdout"].rstrip() + "\n" if record["stdout"].strip() else "(no output)\n"
    full = full_output_path(snippet)
    named = full.relative_to(paths.ROOT).as_posix() if full.is_relative_to(paths.ROOT) else str(full)
    shown = shown_text(text.rstrip("\n"), named) + "\n"
    if shown != text:
        atomic.write_if_changed(full, text)
    else:
        full.unlink(missing_ok=True)  # it got short again: no stale whole output beside it
    atomic.write_if_changed(output_text_path(snippet), shown)
    kept = files_dir(snippet.page, snippet.stem)
    for name in record.get("files", []):
        source = kept / name
        if source.suffix.lower() in PUBLISHED_SUFFIXES and source.is_file():
            target = paths.SNIPPET_OUTPUT_DIR / snippet.page / snippet.stem / name
            atomic.write_if_changed(target, source.read_bytes())


def default_jobs() -> int:
    return envinput.jobs()


def _cancel_all(pool: ThreadPoolExecutor, futures: dict, cancel: threading.Event) -> int:
    """Cancel queued snippets, stop the running ones and wait (briefly) for their threads."""
    with _commit_lock:  # an entry being swapped in finishes first; none starts after
        cancel.set()
    pool.shutdown(wait=False, cancel_futures=True)
    running = [f for f in futures if f.running()]
    procs.stop_all()
    wait_futures(running, timeout=procs.GRACE_S + 10)


def _outcome(future) -> str:
    if future.cancelled():
        return "not started"
    if not future.done() or isinstance(future.exception(), _Cancelled):
        return "stopped"
    return "failed" if future.exception() else "kept"


def _remove_retired_entries() -> None:
    """Old entries a killed build had moved aside but not yet deleted."""
    for retired in paths.SNIPPET_CACHE_DIR.glob("*/.*.old-*"):
        shutil.rmtree(retired, ignore_errors=True)


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
    that failed, after the others have finished; procs.Interrupted on Ctrl-C
    or SIGTERM, after stopping every snippet and keeping those that finished.
    """
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}; expected one of {', '.join(MODES)}")
    started = time.perf_counter()
    snippets = discover() if snippets is None else snippets
    _remove_retired_entries()
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
        if device == "cuda" and jobs > 1:
            # Two examples on one card compete for its memory and its timing; one at a time on a GPU.
            log.info(f"snippets: one at a time on the GPU (GUIDE_JOBS would allow {jobs})")
            jobs = 1
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
            summary.ran.append(snippet.rel)  # its entry is in the cache already
            publish(snippet, record)
            log.info(f"snippets: [{done}/{len(to_run)}] ran {snippet.rel} in {record['seconds']:.1f} s")

        cancel = threading.Event()
        with procs.sigterm_as_interrupt():
            for batch, width in ((shared, jobs), (alone, 1)):
                if not batch:
                    continue
                pool = ThreadPoolExecutor(max_workers=width)
                futures = {pool.submit(run_one, snippet, key, width, cancel): snippet for snippet, key in batch}
                try:
                    for future in as_completed(futures):
                        finished(futures[future], future)
                except BaseException as error:  # Ctrl-C, SIGTERM or a failed publish: stop every snippet
                    with procs.shielded():
                        _cancel_all(pool, futures, cancel)
                    if not isinstance(error, KeyboardInterrupt):
                        raise
                    outcomes = [_outcome(f) for f in futures]
                    kept = len(set(summary.ran) | {futures[f].rel for f in futures if _outcome(f) == "kept"})
                    raise procs.interrupted(error, (
                        f"snippets: interrupted; kept {kept} finished snippet(s) in the cache, stopped "
                        f"{outcomes.count('stopped')} running, {len(to_run) - kept - len(summary.failed) - outcomes.count('stopped')}"
                        " never started; no cache entry was left half-written")) from None
                finally:
                    pool.shutdown(wait=True)

    summary.seconds = time.perf_counter() - started
    log.info(summary.line())
    if summary.failed:
        details = "\n\n".join(
            message if message.startswith(rel) else f"{rel}: {message}"
            for rel, message in sorted(summary.failed.items())
        )
        raise SnippetFailure(f"{len(summary.failed)} snippet(s) failed:\n\n{details}")
    return summary
