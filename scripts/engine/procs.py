"""Child processes that never outlive the engine, and interrupts that stop it cleanly.

Every child the engine starts (a snippet, a timed benchmark job, a cross-check)
runs in its own process group, so it and the workers it spawns stop together.
Each group, and each scratch folder, is also registered with a watchdog: a tiny
separate process reading a pipe whose write end only the engine holds. When
the engine dies by any means, SIGKILL included, the pipe closes and the
watchdog kills every group still registered and removes the folders.
(Linux's PR_SET_PDEATHSIG would cover only the direct child, not its workers,
and setting it from ``preexec_fn`` is unsafe in the threaded snippet runner.)

SIGTERM is turned into the same exception as Ctrl-C (``Interrupted``) while
the engine runs children, so both take the same clean-up path.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

# How long a child may take to exit after SIGTERM before its group gets SIGKILL.
GRACE_S = 2.0

_WATCHDOG_SOURCE = r"""
import os, shutil, signal, sys
groups, folders = set(), set()
for line in sys.stdin:  # EOF: the engine is gone, however it died
    op, _, arg = line.rstrip("\n").partition(" ")
    if op == "G":
        groups.add(int(arg))
    elif op == "g":
        groups.discard(int(arg))
    elif op == "D":
        folders.add(arg)
    elif op == "d":
        folders.discard(arg)
for pgid in groups:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except OSError:
        pass
for folder in folders:
    shutil.rmtree(folder, ignore_errors=True)
"""


class Interrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM; ``str()`` says what was kept once the engine has cleaned up."""

    def __init__(self, signum: int = signal.SIGINT, message: str = "") -> None:
        super().__init__(message)
        self.signum = signum
        self.message = message

    @property
    def exit_code(self) -> int:
        return 128 + self.signum  # the shell's convention: 130 for Ctrl-C, 143 for SIGTERM

    def __str__(self) -> str:
        return self.message or f"interrupted by {signal.Signals(self.signum).name}"


def interrupted(error: BaseException, message: str) -> Interrupted:
    """``error`` (a KeyboardInterrupt) as an Interrupted carrying ``message``."""
    return Interrupted(getattr(error, "signum", signal.SIGINT), message)


class _Watchdog:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._proc: subprocess.Popen | None = None
        self._owner = 0

    def send(self, op: str, arg: object) -> None:
        with self._lock:
            if self._proc is None or self._owner != os.getpid() or self._proc.poll() is not None:
                # Its own session: a Ctrl-C at the terminal must not take the watchdog down first.
                self._proc = subprocess.Popen(
                    [sys.executable, "-I", "-S", "-c", _WATCHDOG_SOURCE],
                    stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                    text=True, start_new_session=True,
                )
                self._owner = os.getpid()
            try:
                self._proc.stdin.write(f"{op} {arg}\n")
                self._proc.stdin.flush()
            except OSError:
                self._proc = None  # it died; the next call starts another

    def close(self) -> None:
        with self._lock:
            if self._proc is not None and self._owner == os.getpid():
                with contextlib.suppress(OSError):
                    self._proc.stdin.close()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self._proc.wait(timeout=5)
            self._proc = None


_watchdog = _Watchdog()
atexit.register(_watchdog.close)
_live: dict[int, subprocess.Popen] = {}
_live_lock = threading.Lock()


def spawn(args: list[str], **popen_kwargs) -> subprocess.Popen:
    """Start ``args`` as the leader of a new process group that dies with the engine."""
    proc = subprocess.Popen(args, start_new_session=True, **popen_kwargs)
    with _live_lock:
        _live[proc.pid] = proc
    _watchdog.send("G", proc.pid)
    return proc


def _signal_group(pgid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)


def _exited(pid: int) -> bool:
    """Whether ``pid`` has exited, without reaping it (the harness reaps with wait4 for its rusage)."""
    try:
        return os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    except ChildProcessError:
        return True  # already reaped by whoever waits for it


def kill(proc: subprocess.Popen) -> None:
    """SIGKILL the whole group of ``proc`` (a timeout, or leftovers after it exited)."""
    _signal_group(proc.pid, signal.SIGKILL)


def stop(procs: list[subprocess.Popen], grace_s: float = GRACE_S) -> None:
    """SIGTERM each group, give them ``grace_s`` to exit, then SIGKILL what is left."""
    for proc in procs:
        _signal_group(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline and not all(_exited(p.pid) for p in procs):
        time.sleep(0.05)
    for proc in procs:
        kill(proc)


def stop_all(grace_s: float = GRACE_S) -> int:
    """Stop every child still running; return how many there were."""
    with _live_lock:
        running = [p for p in _live.values() if not _exited(p.pid)]
    stop(running, grace_s)
    return len(running)


def release(proc: subprocess.Popen) -> None:
    """After ``proc`` was reaped: kill any workers it left in its group and forget it."""
    kill(proc)
    with _live_lock:
        _live.pop(proc.pid, None)
    _watchdog.send("g", proc.pid)


def run(args: list[str], timeout_s: float, **popen_kwargs) -> tuple[subprocess.CompletedProcess, bool]:
    """Run ``args`` to the end with its output captured; return it and whether it timed out.

    At the timeout the whole group is killed; on Ctrl-C or SIGTERM in this
    thread it is stopped (SIGTERM, grace, SIGKILL) before the exception goes on.
    """
    proc = spawn(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen_kwargs)
    timed_out = False
    try:
        try:
            stdout, stderr = proc.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            timed_out = True
            kill(proc)
            stdout, stderr = proc.communicate()
    except BaseException:
        with shielded():
            stop([proc])
            proc.wait()
        raise
    finally:
        release(proc)
    return subprocess.CompletedProcess(args, proc.returncode, stdout, stderr), timed_out


def describe_exit(returncode: int) -> str:
    """``exit status 3`` or ``killed by SIGSEGV``, never a negative status."""
    if returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exit status {returncode}"


@contextlib.contextmanager
def scratch_dir(prefix: str, parent: Path | None = None) -> Iterator[Path]:
    """A temporary folder removed afterwards, and by the watchdog if the engine is killed."""
    if parent is not None:
        parent.mkdir(parents=True, exist_ok=True)
    path = tempfile.mkdtemp(prefix=prefix, dir=parent)
    _watchdog.send("D", path)
    try:
        yield Path(path)
    finally:
        shutil.rmtree(path, ignore_errors=True)
        _watchdog.send("d", path)


def _raise_interrupted(signum, frame) -> None:
    raise Interrupted(signum)


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """While inside, SIGTERM raises Interrupted in the main thread, as Ctrl-C does."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_interrupted)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def shielded() -> Iterator[None]:
    """Ignore further Ctrl-C and SIGTERM while cleaning up after the first one (a few seconds)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.signal(s, signal.SIG_IGN) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
