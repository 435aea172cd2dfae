"""Child processes that never outlive the engine, and interrupts that stop it cleanly.

Every child the engine starts (a snippet, a timed benchmark job, a cross-check)
runs in its own process group, so it and the workers it spawns stop together.
Each group, and each scratch folder, is also registered with a watchdog: a tiny
separate process reading a pipe whose write end only the engine holds. When
the engine dies by any means, SIGKILL included, the pipe closes and the
watchdog kills every group still registered and removes the folders.
(Linux's PR_SET_PDEATHSIG would cover only the direct child, not its workers,
and setting it from ``preexec_fn`` is unsafe in the threaded snippet runner.)

A child may also leave processes outside its group: a launcher or a server
(TensorBoard, a model server) starts one with ``start_new_session=True`` and
exits. Each child the engine starts carries a token in its environment
(``TOKENS_VAR``), which every process below it inherits whatever its session
or group; when the child ends, ``release`` finds every process still carrying
the token, stops it, and says so (``leftover_line``), and the watchdog does the
same for the whole engine when the engine dies. Output goes to files, not
pipes, so a process that escaped with the child's stdout open cannot make
the engine wait: there is no pipe to drain, and ``run`` returns as soon as the
child itself has exited and its leftovers are stopped.

What escapes even that: a process that clears its environment (``env={}``)
and leaves its session carries no token. The engine, a child subreaper,
reaps it when it exits, but nothing stops it early; the README says so.

SIGTERM is turned into the same exception as Ctrl-C (``Interrupted``) while
the engine runs children, so both take the same clean-up path.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import locale
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

# How long a child may take to exit after SIGTERM before its group gets SIGKILL.
GRACE_S = 2.0
# How often ``run`` looks at its child (exit, timeout, output size).
POLL_S = 0.05
# Names the engine children a process descends from, space-separated (a snippet that runs the
# engine itself adds its own): ``<engine id>.<child number>`` each.
TOKENS_VAR = "GUIDE_ENGINE_CHILD"

_WATCHDOG_SOURCE = r"""
import os, shutil, signal, sys
groups, folders = set(), set()
var, engine = sys.argv[1].encode() + b"=", sys.argv[2].encode() + b"."
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
# Then whatever escaped its group and still carries one of this engine's tokens (read from /proc).
for _ in range(3):  # what was being killed may have started more
    found = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as handle:
                environ = handle.read().split(b"\0")
        except OSError:
            continue
        tokens = [e[len(var):].split() for e in environ if e.startswith(var)]
        if tokens and any(t.startswith(engine) for t in tokens[0]):
            found += 1
            try:
                os.kill(int(entry), signal.SIGKILL)
            except OSError:
                pass
    if not found:
        break
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
                    [sys.executable, "-I", "-S", "-c", _WATCHDOG_SOURCE, TOKENS_VAR, engine_id()],
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
_engine = {"pid": 0, "id": "", "children": 0}


def engine_id() -> str:
    """This engine process's part of every token it hands out (a new one after a fork)."""
    with _live_lock:
        if _engine["pid"] != os.getpid():
            _engine.update(pid=os.getpid(), id=f"{os.getpid()}-{secrets.token_hex(4)}", children=0)
        return _engine["id"]


def new_token() -> str:
    """A token naming one child: ``with_token`` puts it in the environment it and its descendants inherit."""
    engine = engine_id()
    with _live_lock:
        _engine["children"] += 1
        return f"{engine}.{_engine['children']}"


def with_token(env: dict[str, str] | None, token: str) -> dict[str, str]:
    """``env`` (default: this process's) with ``token`` added to TOKENS_VAR."""
    env = dict(os.environ if env is None else env)
    env[TOKENS_VAR] = " ".join([*env.get(TOKENS_VAR, "").split(), token])
    return env


# Finding what escaped: the token, not a cgroup. A cgroup would also catch a process that
# clears its environment, but creating one needs a writable, delegated cgroup v2 tree, which
# an unprivileged builder, a container (no /sys/fs/cgroup/cgroup.controllers on the machine
# this was written on) or a CI runner rarely has, and a macOS laptop never; the environment
# works everywhere, unprivileged. Holding it: the engine makes itself a child subreaper
# (Linux 3.4+, unprivileged), so what a child leaves is re-parented to the engine instead of
# PID 1, and the engine can reap what it stops (a container's PID 1 often never reaps, and
# the zombies would stay). Where prctl is missing the tokens still find and stop everything.
_PR_SET_CHILD_SUBREAPER = 36
_subreaper = {"pid": 0}


def _become_subreaper() -> None:
    if _subreaper["pid"] == os.getpid() or not sys.platform.startswith("linux"):
        return
    _subreaper["pid"] = os.getpid()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def watch_tokens() -> None:
    """Start the watchdog if it is not running, for tokens handed to children the engine did not spawn."""
    _become_subreaper()
    _watchdog.send("T", "")  # an op it ignores: the token scan at its end covers every child's token


def spawn(args: list[str], env: dict[str, str] | None = None, **popen_kwargs) -> subprocess.Popen:
    """Start ``args`` as the leader of a new process group that dies with the engine.

    Its environment carries a fresh token (``proc.guide_token``), so ``release``
    finds whatever it leaves behind, in any session or group.
    """
    _become_subreaper()
    token = new_token()
    proc = subprocess.Popen(args, start_new_session=True, env=with_token(env, token), **popen_kwargs)
    proc.guide_token = token
    with _live_lock:
        _live[proc.pid] = proc
    _watchdog.send("G", proc.pid)
    return proc


@dataclass(frozen=True)
class Leftover:
    """A process still running with a child's token: what a message says about it."""

    pid: int
    command: str
    pgid: int
    sid: int

    def describe(self, leader: int) -> str:
        where = ("own session" if self.sid != leader else "own process group") if self.pgid != leader \
            else "the child's process group"
        return f"pid {self.pid}: {self.command}, {where}"


def _stat(pid: int) -> tuple[str, int, int, int] | None:
    """State, parent, group and session of ``pid`` from /proc (None when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return fields[0], int(fields[1]), int(fields[2]), int(fields[3])
    except (OSError, IndexError, ValueError):
        return None


def _command(pid: int, width: int = 60) -> str:
    try:
        words = Path(f"/proc/{pid}/cmdline").read_bytes().rstrip(b"\0").split(b"\0")
    except OSError:
        return "?"
    text = " ".join(w.decode(errors="replace") for w in words)
    return text if len(text) <= width else text[:width - 3] + "..."


def carrying(token: str) -> list[Leftover]:
    """Every live process whose environment carries ``token`` (the child's own included, while it runs)."""
    needle = f"{TOKENS_VAR}=".encode()
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            environ = Path(entry.path, "environ").read_bytes().split(b"\0")
        except OSError:
            continue  # gone, or not ours to read (then not ours to stop either)
        values = [e[len(needle):].decode(errors="replace").split() for e in environ if e.startswith(needle)]
        if values and token in values[0]:
            stat = _stat(int(entry.name))
            if stat is not None and stat[0] not in ("Z", "X"):
                found.append(Leftover(int(entry.name), _command(int(entry.name)), stat[2], stat[3]))
    return found


def _reap(pids: list[int], within_s: float = 1.0) -> None:
    """Collect the killed processes the subreaper inherited, so none stays a zombie."""
    deadline = time.monotonic() + within_s
    waiting = set(pids)
    while waiting and time.monotonic() < deadline:
        for pid in list(waiting):
            try:
                if os.waitpid(pid, os.WNOHANG)[0]:
                    waiting.discard(pid)
            except ChildProcessError:  # not our child (an older kernel, no subreaper): init reaps it
                state = _stat(pid)
                if state is None or state[0] in ("Z", "X"):
                    waiting.discard(pid)
        if waiting:
            time.sleep(0.01)


def stop_leftovers(token: str, leader: int) -> list[str]:
    """SIGKILL every process carrying ``token``; describe those outside ``leader``'s group.

    Those in the group (a DataLoader's workers, compile workers) go as they
    always have, without a word: stopping the group is the contract. Those
    that left it are what a message must name.
    """
    escaped: dict[int, str] = {}
    for _ in range(5):  # what is being stopped may be starting more
        found = carrying(token)
        if not found:
            break
        for leftover in found:
            if leftover.pgid != leader:
                escaped.setdefault(leftover.pid, leftover.describe(leader))
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(leftover.pid, signal.SIGKILL)
        _reap([leftover.pid for leftover in found])
    return list(escaped.values())


def leftover_line(who: str, leftovers: list[str]) -> str:
    """``graphs/x_torch.py left 1 process running (pid 7: sleep 1235, own session); stopped it``."""
    count = f"{len(leftovers)} process{'es' if len(leftovers) > 1 else ''}"
    return f"{who} left {count} running ({'; '.join(leftovers)}); stopped {'them' if len(leftovers) > 1 else 'it'}"


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
    """Stop every child still running and what each left outside its group; return how many were running."""
    with _live_lock:
        every = list(_live.values())
    running = [p for p in every if not _exited(p.pid)]
    stop(running, grace_s)
    for proc in every:
        stop_leftovers(proc.guide_token, proc.pid)
    return len(running)


def release(proc: subprocess.Popen) -> list[str]:
    """After ``proc`` exited: stop what it left, in its group or outside it, and forget it.

    Returns a description of each process that had left its group (for
    ``leftover_line``); empty when it left nothing, or only group members.
    """
    kill(proc)
    escaped = stop_leftovers(proc.guide_token, proc.pid)
    with _live_lock:
        _live.pop(proc.pid, None)
    _watchdog.send("g", proc.pid)
    return escaped


class OutputTooLarge(RuntimeError):
    """A child printed past its bound; it was stopped (``stream``, ``reached`` and ``limit`` in bytes)."""

    def __init__(self, stream: str, reached: int, limit: int) -> None:
        super().__init__(f"printed {reached:,} bytes to {stream} before it was stopped, past the bound "
                         f"of {limit:,} bytes ({human_bytes(limit)})")
        self.stream, self.reached, self.limit = stream, reached, limit


def human_bytes(size: int) -> str:
    """``512 bytes``, ``3.0 KiB``, ``4.0 MiB``."""
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size} bytes"


class Completed(subprocess.CompletedProcess):
    """A finished child's output, plus what it left running outside its group (stopped since)."""

    def __init__(self, args, returncode: int, stdout: str, stderr: str, leftovers: list[str]) -> None:
        super().__init__(args, returncode, stdout, stderr)
        self.leftovers = leftovers


def _text(handle, limit: int | None = None) -> str:
    """What a child wrote to ``handle`` (its last ``limit`` bytes), decoded as text mode would."""
    size = os.fstat(handle.fileno()).st_size
    handle.seek(max(0, size - limit) if limit else 0)
    data = handle.read()
    text = data.decode(locale.getpreferredencoding(False), errors="replace")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def run(args: list[str], timeout_s: float, max_output_bytes: int | None = None,
        stderr_tail_bytes: int | None = None, **popen_kwargs) -> tuple[Completed, bool]:
    """Run ``args`` to the end with its output captured; return it and whether it timed out.

    stdout and stderr go to unnamed temporary files, read once the child has
    exited (stderr: only its last ``stderr_tail_bytes``). At the timeout the
    whole group is killed; past ``max_output_bytes`` on either stream, too, and
    OutputTooLarge is raised; on Ctrl-C or SIGTERM in this thread it is
    stopped (SIGTERM, grace, SIGKILL) before the exception goes on. Whatever
    it left running is stopped, and named in ``.leftovers``.
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = spawn(args, stdout=out, stderr=err, **popen_kwargs)
        timed_out, too_large = False, None
        deadline = time.monotonic() + timeout_s
        try:
            while True:
                try:
                    proc.wait(timeout=POLL_S)
                    break
                except subprocess.TimeoutExpired:
                    pass
                if max_output_bytes is not None:
                    sizes = {"stdout": os.fstat(out.fileno()).st_size, "stderr": os.fstat(err.fileno()).st_size}
                    over = [(name, size) for name, size in sizes.items() if size > max_output_bytes]
                    if over:
                        too_large = OutputTooLarge(*over[0], max_output_bytes)
                if too_large or time.monotonic() > deadline:
                    timed_out = too_large is None
                    kill(proc)
                    proc.wait()
                    break
        except BaseException:
            with shielded():
                stop([proc])
                proc.wait()
                release(proc)
            raise
        leftovers = release(proc)
        if too_large is not None:
            raise too_large
        done = Completed(args, proc.returncode, _text(out), _text(err, stderr_tail_bytes), leftovers)
    return done, timed_out


def failure(done: Completed, timed_out: bool, timeout_s: float, who: str = "it") -> str | None:
    """Why a ``run`` failed, in words (timed out, its exit, what it left running); None when it did not."""
    reasons = []
    if timed_out:
        reasons.append(f"timed out after {timeout_s:.0f} s")
    elif done.returncode != 0:
        reasons.append(describe_exit(done.returncode))
    if done.leftovers:
        reasons.append(leftover_line(who, done.leftovers))
    return "; ".join(reasons) or None


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
