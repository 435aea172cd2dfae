"""The results store: one JSON file per case under ``results/<machine-id>/``.

Files are schema-versioned and written atomically (temp file + ``os.replace``),
so a crash or Ctrl-C leaves the previous file intact. A result is *stale* when
the code it timed, the framework versions or the device differ from now, or
when its last run failed (then the last good runs are kept and shown as stale).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from engine import atomic, environment, keys, paths
from engine.bench.cases import Case

SCHEMA_VERSION = 1
VERSION_KEYS = ("torch", "tensorflow", "tensorflow-cpu", "keras", "numpy", "python")
REQUIRED_KEYS = ("schema_version", "case", "status", "manifest", "code_hash", "runs")
HARNESS_FILES = (Path(__file__).with_name("child.py"), Path(__file__).with_name("timed_env.py"))


class StoreError(Exception):
    """A result file that cannot be trusted (corrupt, foreign, or from a newer schema)."""


def results_root() -> Path:
    return Path(os.environ.get("GUIDE_RESULTS_DIR", paths.RESULTS_DIR))


def machine_dir(machine_id: str, root: Path | None = None) -> Path:
    return (root or results_root()) / machine_id


def result_path(case_name: str, machine_id: str, root: Path | None = None) -> Path:
    return machine_dir(machine_id, root) / f"{case_name}.json"


def case_code_hash(case: Case) -> str:
    """Hash of the workload pair, every local helper they import, the timing child and its environment."""
    digest = hashlib.sha256()
    digest.update(json.dumps(case.variants or None, sort_keys=True).encode())
    for file in case.files():
        digest.update(keys.code_hash(file).encode())
    for file in HARNESS_FILES:
        digest.update(file.read_bytes())
    return digest.hexdigest()


def current_versions() -> dict:
    versions = environment.framework_versions()
    return {k: versions[k] for k in VERSION_KEYS if k in versions}


def validate(data: object, source: str) -> dict:
    if not isinstance(data, dict):
        raise StoreError(f"{source}: not a result object")
    version = data.get("schema_version")
    if not isinstance(version, int):
        raise StoreError(f"{source}: no schema_version")
    if version > SCHEMA_VERSION:
        raise StoreError(f"{source}: schema version {version} is newer than this engine's "
                         f"{SCHEMA_VERSION}; update the engine")
    missing = [key for key in REQUIRED_KEYS if key not in data]
    if missing:
        raise StoreError(f"{source}: missing {', '.join(missing)}")
    if not isinstance(data["runs"], list):
        raise StoreError(f"{source}: runs is not a list")
    return data


def load(path: Path) -> dict:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise StoreError(f"{path}: corrupt JSON ({error.msg} at line {error.lineno})") from error
    except OSError as error:
        raise StoreError(f"{path}: cannot read ({error.strerror})") from error
    return validate(data, str(path))


def save(data: dict, path: Path) -> None:
    validate(data, str(path))
    atomic.write_json_atomic(path, data)


def load_all(root: Path | None = None) -> dict[str, dict[str, dict]]:
    """Every result under ``root``: {machine_id: {case: result}}. Raises on a bad file."""
    root = root or results_root()
    found: dict[str, dict[str, dict]] = {}
    if not root.is_dir():
        return found
    for path in sorted(root.glob("*/*.json")):
        found.setdefault(path.parent.name, {})[path.stem] = load(path)
    return found


def stale_reasons(result: dict | None, case: Case, machine_id: str | None = None) -> list[str]:
    """Why ``result`` no longer describes the code and machine of now; empty when fresh."""
    if result is None:
        return ["missing"]
    reasons = []
    if result.get("status") == "failed":
        reasons.append(f"last run failed: {result.get('failure', {}).get('reason', '?')}")
    if result["code_hash"] != case_code_hash(case):
        reasons.append("workload code changed")
    recorded = result["manifest"].get("versions", {})
    now = current_versions()
    changed = sorted(k for k in set(recorded) | set(now) if k in VERSION_KEYS and recorded.get(k) != now.get(k))
    if changed:
        reasons.append("versions changed: " + ", ".join(
            f"{k} {recorded.get(k, '-')} -> {now.get(k, '-')}" for k in changed))
    machine_id = machine_id or environment.machine_id()
    if result["manifest"].get("machine_id") != machine_id:
        reasons.append(f"different device ({result['manifest'].get('machine_id')})")
    return reasons


def check_writable(folder: Path) -> None:
    """Fail before running anything if results cannot be written (nothing is overwritten)."""
    probe_dir = folder
    while not probe_dir.exists():
        probe_dir = probe_dir.parent
    if not probe_dir.is_dir():
        raise StoreError(f"results folder {folder} is not writable ({probe_dir} is not a folder)")
    if not os.access(probe_dir, os.W_OK | os.X_OK) or (folder.exists() and not os.access(folder, os.W_OK)):
        raise StoreError(f"results folder {folder} is not writable")
