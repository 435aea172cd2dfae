"""The results store: one JSON file per case under ``results/<machine-id>/``.

Files are schema-versioned and written atomically (temp file + ``os.replace``),
so a crash or Ctrl-C leaves the previous file intact. A result is *stale* when
the code it timed, the framework versions or the device differ from now, or
when its last run failed (then the last good runs are kept and shown as stale).

Every file read is checked against one schema (``schema.py``); a file that
fails it is a ``StoreError`` naming the file and the field at fault. A save
that fails (full disk, read-only folder) keeps the measured runs in a
recovery file and says where.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import fcntl
import hashlib
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from engine import atomic, envinput, environment, keys, machine, paths, sides
from engine.bench import schema
from engine.bench.cases import PROFILES, Case

SCHEMA_VERSION = 1
# The versions that make a result stale: these, and each other side's framework (its first package).
VERSION_KEYS = tuple(dict.fromkeys(("torch", "tensorflow", "tensorflow-cpu", "keras", "numpy", "python")
                                   + tuple(side.packages[0] for side in sides.SIDES)))
HARNESS_FILES = (Path(__file__).with_name("child.py"), Path(__file__).with_name("timed_env.py"))


class StoreError(Exception):
    """A result file that cannot be trusted (corrupt, foreign, or from a newer schema)."""


class StoreBusy(StoreError):
    """Another process is measuring into this store, and the caller chose not to wait."""


def results_root() -> Path:
    return envinput.results_dir() or paths.RESULTS_DIR


def machine_dir(machine_id: str, root: Path | None = None) -> Path:
    return (root or results_root()) / machine_id


def result_path(case_name: str, machine_id: str, root: Path | None = None) -> Path:
    return machine_dir(machine_id, root) / f"{case_name}.json"


def case_code_hash(case: Case) -> str:
    """Hash of the workload pair, every local helper they import, the timing child and its environment."""
    digest = hashlib.sha256()
    digest.update(json.dumps(case.variants or None, sort_keys=True).encode())
    if case.options:  # what the workload is fed (the Transformer's real text or synthetic ids)
        digest.update(json.dumps(case.options, sort_keys=True).encode())
    if case.block or case.adaptive_cap:  # how processes are shared and rounds allocated (method.md#noise-blocks)
        digest.update(json.dumps({"block": case.block, "adaptive_cap": case.adaptive_cap}, sort_keys=True).encode())
    for file in case.files():
        digest.update(keys.code_hash(file).encode())
    for file in HARNESS_FILES:
        digest.update(file.read_bytes())
    return digest.hexdigest()


def current_versions() -> dict:
    """Versions the timed processes see: each framework's own from its interpreter (GUIDE_PYTHON_*)."""
    versions = environment.framework_versions()
    for framework, names in environment.FRAMEWORK_OWN_PACKAGES.items():
        own = environment.versions_for(framework)
        for name in names:
            versions.pop(name, None)
            if name in own:
                versions[name] = own[name]
    return {k: versions[k] for k in VERSION_KEYS if k in versions}


def validate(data: object, source: str) -> dict:
    version = data.get("schema_version") if isinstance(data, dict) else None
    if isinstance(version, int) and not isinstance(version, bool) and version > SCHEMA_VERSION:
        # Said before the schema check: a newer file may differ anywhere, and the fix is the same.
        raise StoreError(f"{source}: schema version {version} is newer than this engine's "
                         f"{SCHEMA_VERSION}; update the engine")
    problems = schema.problems(data)
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise StoreError(f"{source}: not a valid result file: {problems[0]}{more}")
    return data


def _read_bounded(path: Path) -> bytes:
    """The file's bytes; past schema.MAX_RESULT_BYTES a StoreError, having read no more than that."""
    with open(path, "rb") as handle:  # one read, bounded: a file that grows, or /dev/zero, stops too
        data = handle.read(schema.MAX_RESULT_BYTES + 1)
    if len(data) > schema.MAX_RESULT_BYTES:
        raise StoreError(f"{path}: larger than {schema.MAX_RESULT_BYTES:,} bytes, the limit of a result "
                         "file (schema.MAX_RESULT_BYTES, docs/method.md#result-files); not read")
    return data


def load(path: Path) -> dict:
    try:
        data = json.loads(_read_bounded(Path(path)).decode("utf-8"))
    except UnicodeDecodeError as error:
        raise StoreError(f"{path}: not a result file (not UTF-8 text: byte {error.start})") from error
    except json.JSONDecodeError as error:
        raise StoreError(f"{path}: corrupt JSON ({error.msg}: line {error.lineno}, "
                         f"column {error.colno})") from error
    except OSError as error:
        raise StoreError(f"{path}: cannot read ({error.strerror})") from error
    return validate(data, str(path))


def refuse_recorded_machine(path: Path) -> None:
    """A recorded machine description (GUIDE_MACHINE_FILE) changes what the engine believes, not the CPU
    the timed code runs on: its measurements must never be filed in the repository's results/."""
    recorded = machine.recorded_path()
    if recorded and Path(path).resolve().is_relative_to(paths.RESULTS_DIR.resolve()):
        raise StoreError(f"GUIDE_MACHINE_FILE={recorded} is set, so these runs would be filed as that machine's "
                         f"in {paths.RESULTS_DIR}, though they ran on this CPU; set GUIDE_RESULTS_DIR to a scratch "
                         "folder (nothing was saved)")


def unknown_keys_line(path: Path, data: dict) -> str:
    """The one line that names a file's unknown top-level keys (``regen.py check`` warns, CI rejects)."""
    names = schema.unknown_keys(data)
    shown = ", ".join(map(repr, names[:5])) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
    return (f"{path}: unknown top-level key{'s' if len(names) > 1 else ''} {shown}; a result file holds only "
            "the keys engine/bench/schema.py names (docs/method.md#result-files)")


def save(data: dict, path: Path) -> None:
    validate(data, str(path))
    refuse_recorded_machine(path)
    atomic.write_json_atomic(path, data)


def save_or_recover(data: dict, path: Path) -> None:
    """``save``; if the write fails, keep ``data`` in a recovery file and raise StoreError saying where."""
    try:
        save(data, path)
        return
    except OSError as error:
        failure = f"could not save {path} ({error.strerror or error})"
    stamp = _dt.datetime.now(_dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    name = f"{Path(path).stem}.recovered-{stamp}.json"
    # Beside the target first (the natural place to look), else the temp folder.
    for folder in (Path(path).parent, Path(tempfile.gettempdir())):
        recovery = folder / name
        try:
            atomic.write_json_atomic(recovery, data)
        except OSError:
            continue
        raise StoreError(f"{failure}; the {len(data['runs'])} measured run(s) are kept in {recovery}: "
                         f"move it to {path} once that can be written")
    raise StoreError(f"{failure}, nor a recovery file beside it or in {tempfile.gettempdir()}; "
                     "the measurements are lost")


def profile_rank(profile: str) -> int:
    """Weakest first (quick < default < full); an unknown profile ranks below all."""
    return PROFILES.index(profile) if profile in PROFILES else -1


def downgrade(previous: dict | None, profile: str) -> str | None:
    """Why replacing ``previous`` with a ``profile`` result would be a downgrade, or None."""
    if previous is None or profile_rank(previous["profile"]) <= profile_rank(profile):
        return None
    return f"its stored result is {previous['profile']}-profile; a {profile} run would replace it"


def result_files(root: Path | None = None) -> list[Path]:
    root = root or results_root()
    return sorted(p for p in root.glob("*/*.json") if ".recovered-" not in p.name) if root.is_dir() else []


def load_all(root: Path | None = None) -> dict[str, dict[str, dict]]:
    """Every result under ``root``: {machine_id: {case: result}}. Raises on a bad file."""
    found: dict[str, dict[str, dict]] = {}
    for path in result_files(root):
        found.setdefault(path.parent.name, {})[path.stem] = load(path)
    return found


def require_results(root: Path | None = None) -> None:
    """Refuse to render from a store that is missing or empty: that would blank every fragment."""
    root = root or results_root()
    if not root.is_dir():
        raise StoreError(f"results folder {root} does not exist (nothing was rendered)")
    if not result_files(root):
        raise StoreError(f"results folder {root} holds no result files (<machine>/<case>.json); "
                         "rendering it would blank every fragment, so nothing was rendered")


def measured_on(result: dict) -> str:
    """The id of the machine that measured ``result``: from the fingerprint its manifest records, or,
    for a result older than fingerprints, from what its manifest allows (engine.machine)."""
    return machine.machine_id(machine.fingerprint_from_manifest(result["manifest"]))


def is_this_machine(result: dict, machine_id: str | None = None) -> bool:
    return measured_on(result) == (machine_id or environment.machine_id())


# The instruction sets a dispatch probe's kernel names imply, and the CPU flag each needs.
ISA_IN_KERNEL_NAMES = (("amx", "amx_tile"), ("avx512_core_bf16", "avx512_bf16"), ("avx512_bf16", "avx512_bf16"),
                       ("avx512_core_fp16", "avx512_fp16"), ("avx512_core_vnni", "avx512_vnni"),
                       ("avx10", "avx512f"), ("avx512", "avx512f"), ("avx2", "avx2"))


def lacking_isa(result: dict, flags: frozenset[str] | None = None) -> list[str]:
    """The instruction sets a dispatch result's kernels name that this CPU lacks (``["amx_tile"]``): such
    a result was measured on another machine, whatever folder it is filed in.

    >>> lacking_isa({"case": "dispatch", "runs": [{"ok": True, "result": {"matmul_bf16": {"impl": "brg_matmul:avx10_1_512_amx"}}}]},
    ...             flags=frozenset({"avx512f", "avx512_bf16"}))
    ['amx_tile']
    """
    if result.get("case") != "dispatch" or result.get("manifest", {}).get("device", "cpu") != "cpu":
        return []
    flags = environment.cpu_flags() if flags is None else flags
    named = " ".join(text.lower() for run in result.get("runs", []) if run.get("ok")
                     for key, text in _walk(run.get("result")) if key in ("impl", "isa"))
    needed = []
    for token, flag in ISA_IN_KERNEL_NAMES:
        if token in named and flag not in flags and flag not in needed:
            needed.append(flag)
    return needed


def _walk(value, key: str = ""):
    """(key, text) for every string in a nested probe record."""
    if isinstance(value, dict):
        for name, item in value.items():
            yield from _walk(item, name)
    elif isinstance(value, list):
        for item in value:
            yield from _walk(item, key)
    elif isinstance(value, str):
        yield key, value


def code_reasons(result: dict | None, case: Case) -> list[str]:
    """Why ``result`` no longer describes the code of now, on whatever machine it was measured."""
    if result is None:
        return ["missing"]
    reasons = []
    if result.get("status") == "failed":
        reasons.append(f"last run failed: {result.get('failure', {}).get('reason', '?')}")
    if result["code_hash"] != case_code_hash(case):
        reasons.append(f"workload code changed since it was measured on {result['manifest'].get('timestamp', '?')[:10]}"
                       f" (code {result['code_hash'][:12]})")
    return reasons


def stale_reasons(result: dict | None, case: Case, machine_id: str | None = None) -> list[str]:
    """Why ``result`` no longer describes the code and machine of now; empty when fresh."""
    reasons = code_reasons(result, case)
    if result is None:
        return reasons
    recorded = result["manifest"].get("versions", {})
    now = current_versions()
    changed = sorted(k for k in set(recorded) | set(now) if k in VERSION_KEYS and recorded.get(k) != now.get(k))
    if changed:
        reasons.append("versions changed: " + ", ".join(
            f"{k} {recorded.get(k, '-')} -> {now.get(k, '-')}" for k in changed))
    machine_id = machine_id or environment.machine_id()
    source = measured_on(result)
    if source != machine_id:
        reasons.append(f"measured on another machine ({source})")
    lacking = lacking_isa(result)
    if lacking:
        reasons.append(f"its kernels need {', '.join(lacking)}, which this CPU lacks: measured on another machine")
    return reasons


def check_writable(folder: Path) -> None:
    """Fail before running anything if results cannot be written (nothing is overwritten).

    Probes by creating and removing a file in the folder (or the nearest part
    of it that exists): permission bits say nothing to root, nor about a
    read-only mount or /proc.
    """
    probe_dir = folder
    while not probe_dir.exists():
        probe_dir = probe_dir.parent
    if not probe_dir.is_dir():
        raise StoreError(f"results folder {folder} is not writable ({probe_dir} is not a folder)")
    try:
        fd, probe = tempfile.mkstemp(dir=probe_dir, prefix=".write-probe-")
        os.close(fd)
        os.unlink(probe)
    except OSError as error:
        raise StoreError(f"results folder {folder} is not writable ({error.strerror or error})") from None


# --- One measuring run per store ---------------------------------------------
# Two runs timing at once would each time the other's load. Whatever measures (``regen.py
# run``, a build that will run benchmark cases) holds this advisory lock on the store for as
# long as it measures; whatever only reads (render, check, list, a GUIDE_RUN=none build,
# mkdocs serve) never takes it. It is flock(2) on a file in the store: the kernel drops it
# when its holder exits, however it died, so a lock left by a dead process never blocks.
# The file names its holder for the message a second run prints; git ignores it.
LOCK_NAME = ".measuring.lock"


def _holder(path: Path) -> str:
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
        return f"pid {int(info['pid'])} ({info['command']})"
    except (OSError, ValueError, KeyError, TypeError):
        return "a process that has not yet said which"  # between its flock and its note


def _command() -> str:
    words = [Path(sys.argv[0]).name, *sys.argv[1:]] if sys.argv and sys.argv[0] else ["python"]
    text = " ".join(words)
    return text if len(text) <= 120 else text[:117] + "..."


@contextlib.contextmanager
def measuring(root: Path, if_busy: str = "wait", say: Callable[[str], None] = print,
              poll_s: float = 0.5) -> Iterator[bool]:
    """Hold the measuring lock of the store at ``root``; yield whether it had to wait for it.

    When another process holds it: ``wait`` says so once (naming the holder's
    pid and command) and waits; ``refuse`` raises StoreBusy saying the same.
    """
    root = Path(root)
    path = root / LOCK_NAME
    try:
        root.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)  # not inherited by children (PEP 446)
    except OSError as error:
        # A full disk: the run may still measure, and its save keeps the runs in a recovery file.
        say(f"cannot create {path} ({error.strerror or error}); measuring without the store's lock")
        yield False
        return
    try:
        waited = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                busy = f"results store {root} is being measured into by {_holder(path)}"
                if if_busy == "refuse":
                    raise StoreBusy(f"{busy}; refusing to measure beside it (nothing was run; "
                                    "wait for it, or let this one wait: --if-busy wait / GUIDE_IF_BUSY=wait)") from None
                if not waited:
                    say(f"{busy}; waiting for it to finish, so neither times the other's load (Ctrl-C stops)")
                    waited = True
                time.sleep(poll_s)
        os.ftruncate(fd, 0)
        with contextlib.suppress(OSError):  # the note is for messages; a full disk keeps the lock without it
            os.pwrite(fd, json.dumps({"pid": os.getpid(), "command": _command()}).encode(), 0)
        try:
            yield waited
        finally:
            os.ftruncate(fd, 0)  # a later waiter must not name this process once it is gone
    finally:
        os.close(fd)  # releases the lock
