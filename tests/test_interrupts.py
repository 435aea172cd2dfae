"""Ctrl-C, SIGTERM and SIGKILL, sent for real to a real build step, ``regen.py run`` and ``crosscheck``.

Each test starts the engine in its own process, waits until its children are
running, signals it, and checks what is left: no child or grandchild alive,
no scratch folder, every snippet cache entry complete or absent, the stored
benchmark result untouched, and a message saying what was kept.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from engine import environment
from engine.bench import fixtures, store

ROOT = Path(__file__).resolve().parents[1]

# Writes its pid and a grandchild's, leaves a file in its output folder, then hangs.
HANGING = """\
# guide: timeout=600
import os, pathlib, signal, subprocess, sys, time
{ignore_term}
out = pathlib.Path(os.environ["GUIDE_OUTPUT_DIR"])
(out / "partial.txt").write_text("half done")
worker = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
pathlib.Path({pids!r}, "{name}").write_text(f"{{os.getpid()}} {{worker.pid}}")
time.sleep(600)
"""

FINISHING = """\
import os, pathlib
(pathlib.Path(os.environ["GUIDE_OUTPUT_DIR"]) / "kept.txt").write_text("complete")
print("done")
"""

# The build as MkDocs runs it (hook.on_pre_build), on the fixture tree only.
DRIVER = """\
import logging, sys
sys.path[:0] = [{scripts!r}, {here!r}]
logging.basicConfig(level=logging.INFO, format="%(message)s")
from pathlib import Path
from engine import hook, paths
paths.SNIPPETS_DIR = Path({snippets!r})
paths.SNIPPET_CACHE_DIR = Path({cache!r})
paths.SNIPPET_OUTPUT_DIR = Path({generated!r})
import fixture_step
hook.build_steps = lambda: [fixture_step.refresh]
hook.on_pre_build(config=None)
"""

STEP = """\
from engine import paths, snippet_runner
from engine.snippets import discover


def refresh(mode, log):
    snippet_runner.refresh(mode, log, snippets=discover(paths.SNIPPETS_DIR), jobs=2)
"""


def alive(pid: int) -> bool:
    """Running (a zombie nobody has reaped yet counts as dead)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def descendants(pid: int) -> list[int]:
    """Every live process below ``pid``, from /proc (children first)."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    found, frontier = [], [pid]
    while frontier:
        current = frontier.pop()
        for child, parent in parents.items():
            if parent == current and alive(child):
                found.append(child)
                frontier.append(child)
    return found


def cmdline(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return []


def wait_until(condition, timeout_s: float, what: str):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    pytest.fail(f"timed out after {timeout_s} s waiting for {what}")


def assert_all_dead(pids: list[int], within_s: float = 6.0) -> None:
    wait_until(lambda: not [p for p in pids if alive(p)], within_s, f"processes {pids} to die")


@pytest.fixture
def build(tmp_path):
    """A fixture snippet tree and a driver that builds it as the hook does; returns a starter."""
    snippets, pids = tmp_path / "snippets", tmp_path / "pids"
    (snippets / "demo").mkdir(parents=True)
    pids.mkdir()
    for framework in ("torch", "tf"):
        (snippets / "demo" / f"a_fast_{framework}.py").write_text(FINISHING)
        # The TF one ignores SIGTERM, so stopping it needs the SIGKILL after the grace period.
        (snippets / "demo" / f"b_hang_{framework}.py").write_text(HANGING.format(
            pids=str(pids), name=framework,
            ignore_term="signal.signal(signal.SIGTERM, signal.SIG_IGN)" if framework == "tf" else ""))
        (snippets / "demo" / f"c_later_{framework}.py").write_text(FINISHING)
    (tmp_path / "fixture_step.py").write_text(STEP)
    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER.format(scripts=str(ROOT / "scripts"), here=str(tmp_path), snippets=str(snippets),
                                    cache=str(tmp_path / "cache"), generated=str(tmp_path / "generated")))

    def start():
        env = {k: v for k, v in os.environ.items() if not k.startswith("GUIDE_")}
        process = subprocess.Popen([sys.executable, str(driver)], cwd=tmp_path, env=env, text=True,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
        # Both hanging snippets running, with their grandchildren: the fast ones have finished.
        wait_until(lambda: len(list(pids.iterdir())) == 2, 60, "both hanging snippets to start")
        started = [int(p) for f in pids.iterdir() for p in f.read_text().split()]
        return process, started

    return start


def assert_cache_complete_or_absent(cache: Path) -> None:
    for record_file in cache.glob("*/*.json"):
        record = json.loads(record_file.read_text())
        files = cache / record["page"] / record["stem"] / "files"
        missing = [name for name in record["files"] if not (files / name).is_file()]
        assert not missing, f"{record_file} lists files that are not there: {missing}"
        assert record["stem"].startswith(("a_fast", "c_later")), f"a stopped snippet was cached: {record_file}"
    assert not list(cache.glob("*/.*")), f"staging or retired folders left: {list(cache.glob('*/.*'))}"


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_interrupting_the_build_stops_everything_and_keeps_what_finished(build, tmp_path, signum):
    process, started = build()
    sent = time.monotonic()
    process.send_signal(signum)
    output, _ = process.communicate(timeout=20)
    assert time.monotonic() - sent < 10, "the build took too long to stop"
    assert process.returncode != 0
    assert "interrupted during fixture_step:refresh" in output, output
    assert "kept 2 finished snippet(s) in the cache, stopped 2 running, 2 never started" in output, output
    assert_all_dead(started, within_s=1)  # the build only exits once they are gone
    assert_cache_complete_or_absent(tmp_path / "cache")
    assert sorted(p.stem for p in (tmp_path / "cache" / "demo").glob("*.json")) == ["a_fast_tf", "a_fast_torch"]


def test_killing_the_build_takes_its_children_and_scratch_folders_with_it(build, tmp_path):
    process, started = build()
    staging = list((tmp_path / "cache" / "demo").glob(".*.staging-*"))
    assert len(staging) == 2  # the two hanging snippets' output folders
    process.kill()  # SIGKILL: no handler runs in the build itself
    process.communicate(timeout=10)
    assert_all_dead(started)  # snippets and their grandchildren alike
    wait_until(lambda: not any(p.exists() for p in staging), 6, "the watchdog to remove scratch folders")
    assert_cache_complete_or_absent(tmp_path / "cache")


@pytest.fixture
def results(tmp_path):
    """Fixture results; the inference one in the quick profile the tests rerun it with."""
    fixtures.write_all(tmp_path / "results")
    path = store.result_path("inference", environment.machine_id(), tmp_path / "results")
    path.write_text(json.dumps({**json.loads(path.read_text()), "profile": "quick"}))
    return tmp_path / "results"


def _start_regen(*args: str, cwd: Path) -> subprocess.Popen:
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("GUIDE_")}, "GUIDE_BENCH_QUIET_WAIT": "0"}
    return subprocess.Popen([sys.executable, str(ROOT / "scripts" / "regen.py"), *args], cwd=cwd, env=env,
                            text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)


def _timed_child(process: subprocess.Popen) -> tuple[int, list[int], Path]:
    """The timed child of a regen process once it runs: its pid, every descendant, its scratch folder."""
    def find():
        for pid in descendants(process.pid):
            args = cmdline(pid)
            if "engine.bench.child" in args or "engine.bench.crosscheck" in args:
                return pid
        return None

    pid = wait_until(find, 60, "a timed child process")
    args = cmdline(pid)
    scratch = Path(args[args.index("engine.bench.child") + 1]).parent if "engine.bench.child" in args else None
    return pid, descendants(process.pid), scratch


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_interrupting_regen_run_stops_the_job_and_leaves_the_stored_result(results, tmp_path, signum):
    path = store.result_path("inference", environment.machine_id(), results)
    before = path.read_bytes()
    process = _start_regen("run", "inference", "--force", "--profile", "quick", "--no-render",
                           "--results-dir", str(results), cwd=tmp_path)
    child, below, scratch = _timed_child(process)
    sent = time.monotonic()
    process.send_signal(signum)
    output, _ = process.communicate(timeout=20)
    assert time.monotonic() - sent < 8
    assert process.returncode == 128 + signum, output
    assert "interrupted; no new result was saved; inference's stored result is unchanged" in output
    assert "Traceback" not in output
    assert_all_dead(below, within_s=1)
    assert not scratch.exists()
    assert path.read_bytes() == before


def test_killing_regen_run_takes_the_timed_child_and_its_scratch_folder(results, tmp_path):
    process = _start_regen("run", "inference", "--force", "--profile", "quick", "--no-render",
                           "--results-dir", str(results), cwd=tmp_path)
    child, below, scratch = _timed_child(process)
    process.kill()
    process.communicate(timeout=10)
    assert_all_dead(below)
    wait_until(lambda: not scratch.exists(), 6, "the watchdog to remove the scratch folder")


def test_interrupting_crosscheck_stops_its_processes(tmp_path):
    process = _start_regen("crosscheck", "--rounds", "1", cwd=tmp_path)
    child, below, _ = _timed_child(process)
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=20)
    assert process.returncode == 130, output
    assert "crosscheck: interrupted" in output and "Traceback" not in output
    assert_all_dead(below, within_s=1)


def test_a_second_ctrl_c_during_clean_up_does_not_cut_it_short(build, tmp_path):
    process, started = build()
    process.send_signal(signal.SIGINT)
    time.sleep(0.3)  # inside the grace period the TF snippet needs (it ignores SIGTERM)
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=20)
    assert "kept 2 finished snippet(s)" in output, output
    assert_all_dead(started, within_s=1)
    assert_cache_complete_or_absent(tmp_path / "cache")


def test_the_watchdog_is_what_kills_the_group(tmp_path):
    # Unit-level: a process group registered by procs.spawn dies when its spawner is SIGKILLed.
    script = tmp_path / "spawner.py"
    script.write_text(textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {str(ROOT / 'scripts')!r})
        from engine import procs
        child = procs.spawn([sys.executable, "-c", "import time; time.sleep(600)"])
        print(child.pid, flush=True)
        time.sleep(600)
    """))
    spawner = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    pid = int(spawner.stdout.readline())
    assert alive(pid)
    spawner.kill()
    spawner.wait()
    assert_all_dead([pid])


# --- What a child leaves behind: processes in their own session ---------------------------
# A launcher or a server (TensorBoard, a model server) starts one with start_new_session=True;
# it keeps the child's stdout and stderr open and sits outside the child's process group.
LEAVER = """\
# guide: timeout=600
import os, pathlib, subprocess, sys, time
escaped = subprocess.Popen(["sleep", "{seconds}"], start_new_session=True)
pathlib.Path({pids!r}, "{name}").write_text(f"{{escaped.pid}} {{time.time()}}")
print("started a server")
{then}
"""


@pytest.fixture
def leaving_build(tmp_path):
    """A fixture tree whose snippets leave a ``sleep`` in its own session; returns (start, pids folder)."""
    snippets, pids = tmp_path / "snippets", tmp_path / "pids"
    (snippets / "demo").mkdir(parents=True)
    pids.mkdir()
    (tmp_path / "fixture_step.py").write_text(STEP)
    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER.format(scripts=str(ROOT / "scripts"), here=str(tmp_path), snippets=str(snippets),
                                    cache=str(tmp_path / "cache"), generated=str(tmp_path / "generated")))

    def start(then: str = "", watchdog: bool = True) -> subprocess.Popen:
        if not watchdog:  # what the build stops itself, not what its watchdog stops after it exited
            driver.write_text(driver.read_text().replace(
                "hook.on_pre_build(", "from engine import procs\nprocs._watchdog.send = lambda op, arg: None\n"
                "hook.on_pre_build(", 1))
        for framework, seconds in (("torch", 1235), ("tf", 1236)):
            (snippets / "demo" / f"zzfork_{framework}.py").write_text(
                LEAVER.format(seconds=seconds, pids=str(pids), name=framework, then=then))
        env = {k: v for k, v in os.environ.items() if not k.startswith("GUIDE_")}
        return subprocess.Popen([sys.executable, str(driver)], cwd=tmp_path, env=env, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)

    return start, pids


def _escaped(pids: Path) -> dict[str, tuple[int, float]]:
    found = {}
    for file in pids.iterdir():
        pid, when = file.read_text().split()
        found[file.name] = (int(pid), float(when))
    return found


def test_a_snippet_that_leaves_a_process_in_its_own_session_fails_within_seconds(leaving_build):
    start, pids = leaving_build
    process = start()
    try:
        output, _ = process.communicate(timeout=60)  # before the fix: no end until the sleeps did
    except subprocess.TimeoutExpired:
        process.kill()
        pytest.fail("the build hung on the processes its snippets left behind")
    ended = time.time()
    escaped = _escaped(pids)
    assert len(escaped) == 2
    assert process.returncode != 0, output
    for framework, (pid, exited_at) in escaped.items():
        assert (f"snippets/demo/zzfork_{framework}.py left 1 process running "
                f"(pid {pid}: sleep {1235 if framework == 'torch' else 1236}, own session); stopped it") in output, output
        assert not alive(pid), f"the escaped sleep {pid} is still running"
        assert ended - exited_at < 20, "the build took far too long to fail the snippet"


def test_sigterm_stops_a_build_whose_snippet_left_a_process_holding_its_output(leaving_build, tmp_path):
    start, pids = leaving_build
    process = start(then="time.sleep(600)", watchdog=False)  # still running, its escaped sleep holding stdout
    wait_until(lambda: len(list(pids.iterdir())) == 2, 60, "both snippets to start their sleeps")
    escaped = [pid for pid, _ in _escaped(pids).values()]
    snippets = [p for p in descendants(process.pid) if "zzfork" in " ".join(cmdline(p))]
    sent = time.monotonic()
    process.send_signal(signal.SIGTERM)
    try:
        output, _ = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        pytest.fail("SIGTERM did not stop the build")
    assert time.monotonic() - sent < 10, "the build took too long to stop"
    assert "stopped 2 running" in output, output
    try:
        assert_all_dead(escaped + snippets, within_s=1)  # the build only exits once they are gone
    finally:
        for pid in escaped:  # no watchdog here to take them if the build did not
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    assert_cache_complete_or_absent(tmp_path / "cache")


def test_the_watchdog_also_kills_what_escaped_the_group(tmp_path):
    # The engine SIGKILLed while its child's escaped process runs: no handler of the engine runs.
    script = tmp_path / "spawner.py"
    script.write_text(textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {str(ROOT / 'scripts')!r})
        from engine import procs
        procs.spawn([sys.executable, "-c", "import subprocess, time; "
                     "p = subprocess.Popen(['sleep', '1237'], start_new_session=True); print(p.pid, flush=True); "
                     "time.sleep(600)"], stdout=sys.stdout)
        time.sleep(600)
    """))
    spawner = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    pid = int(spawner.stdout.readline())
    assert alive(pid) and os.getsid(pid) == pid  # its own session: the group kill does not reach it
    spawner.kill()
    spawner.wait()
    assert_all_dead([pid])


# --- One measuring run per results store ------------------------------------------------
def _read_until(process: subprocess.Popen, needle: str, timeout_s: float) -> str:
    """Lines of ``process`` up to the first holding ``needle`` (fails the test on timeout or EOF)."""
    import selectors

    seen, deadline = [], time.monotonic() + timeout_s
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        while time.monotonic() < deadline:
            if selector.select(timeout=0.2):
                line = process.stdout.readline()
                if not line:
                    break
                seen.append(line)
                if needle in line:
                    return "".join(seen)
    pytest.fail(f"no line with {needle!r} within {timeout_s} s; got:\n{''.join(seen)}")


def test_a_second_measuring_run_refuses_or_waits_and_a_dead_holder_never_blocks(results, tmp_path):
    first = _start_regen("run", "inference", "--force", "--profile", "quick", "--no-render",
                         "--results-dir", str(results), cwd=tmp_path)
    try:
        _timed_child(first)  # measuring now
        refused = _start_regen("run", "dispatch", "--force", "--profile", "quick", "--no-render",
                               "--if-busy", "refuse", "--results-dir", str(results), cwd=tmp_path)
        output, _ = refused.communicate(timeout=60)
        assert refused.returncode == 2, output
        lines = output.strip().splitlines()
        assert len(lines) == 1, output
        assert (f"is being measured into by pid {first.pid} (regen.py run inference --force --profile quick"
                in lines[0]) and "refusing to measure beside it (nothing was run" in lines[0], output

        waiting = _start_regen("run", "ceiling", "--force", "--profile", "quick", "--no-render",
                               "--results-dir", str(results), cwd=tmp_path)
        try:
            said = _read_until(waiting, "waiting for it to finish", 60)
            assert f"by pid {first.pid} (regen.py run inference" in said, said
            time.sleep(1)
            assert waiting.poll() is None and not [p for p in descendants(waiting.pid)
                                                   if "engine.bench.child" in cmdline(p)], "it measured anyway"
            first.kill()  # the holder dies without a word: its lock must not outlive it
            first.communicate(timeout=10)
            _read_until(waiting, "case(s),", 30)  # the plan line: it took the lock and goes on
        finally:
            waiting.kill()
            waiting.communicate(timeout=10)
    finally:
        first.kill()
        first.communicate(timeout=10)
