"""What a cached result depends on, boiled down to one hash.

A snippet's result is reused only while its own source, the source of every
repository-local module it imports (transitively), the installed packages
(framework versions by name, everything else by one hash) and the device are
all unchanged. Anything else changes, it runs again. So is the data named by
an input variable (``GUIDE_MNIST``) for the snippets whose code reads it.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import json
from pathlib import Path

from engine import envinput, environment, paths, sides

# Variables naming input data: a snippet whose code (or a helper's) mentions one
# is keyed by the content of what it names, so pointing it elsewhere reruns it.
DATA_VARIABLES = {"GUIDE_MNIST": envinput.mnist_path}


def import_roots() -> tuple[Path, ...]:
    """Folders whose modules count as "local helpers" when a snippet imports them."""
    return (paths.SNIPPETS_DIR, paths.SCRIPTS_DIR)


def _imported_module_names(source: str) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            # `from common import data` imports the submodule common.data
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _resolve_local(module: str) -> list[Path]:
    """Files in this repository that ``import module`` would load (package inits included)."""
    found = []
    parts = module.split(".")
    for root in import_roots():
        for depth in range(1, len(parts) + 1):
            base = root.joinpath(*parts[:depth])
            for candidate in (base / "__init__.py", base.with_suffix(".py")):
                if candidate.is_file():
                    found.append(candidate)
    return found


def local_dependencies(path: Path) -> list[Path]:
    """``path`` plus every repository-local module it imports, transitively, sorted."""
    seen: set[Path] = set()
    pending = [path.resolve()]
    while pending:
        current = pending.pop()
        if current in seen:
            continue
        seen.add(current)
        for module in _imported_module_names(current.read_text(encoding="utf-8")):
            pending.extend(dep.resolve() for dep in _resolve_local(module))
    return sorted(seen)


def code_hash(path: Path) -> str:
    """Hash of a file and its local helpers, by content and repository-relative path."""
    digest = hashlib.sha256()
    for dependency in local_dependencies(path):
        try:
            name = dependency.relative_to(paths.ROOT).as_posix()
        except ValueError:
            name = dependency.name
        digest.update(name.encode() + b"\0" + dependency.read_bytes() + b"\0")
    return digest.hexdigest()


@functools.lru_cache(maxsize=8)
def _content_hash(path: Path, stamp: tuple) -> str:
    digest = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for file in files:
        digest.update(file.name.encode() + b"\0")
        with open(file, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def data_fingerprint(path: Path) -> str:
    """Hash of a data file or folder's content (hashed once per build while unchanged)."""
    path = path.resolve()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    stamp = tuple((str(f), f.stat().st_size, f.stat().st_mtime_ns) for f in files)
    return _content_hash(path, stamp)


def data_inputs(path: Path) -> dict[str, str]:
    """The data variables ``path``'s code reads and that are set now, with their content's hash."""
    sources = "".join(dep.read_text(encoding="utf-8") for dep in local_dependencies(path))
    inputs = {}
    for name, target_of in DATA_VARIABLES.items():
        target = target_of()
        if name in sources and target is not None and target.exists():
            inputs[name] = data_fingerprint(target)
    return inputs


def cache_key(path: Path, device: str | None = None) -> str:
    """The full key: code hash + installed packages + device (+ the data it reads, when set)."""
    # The packages of the interpreter that runs it (GUIDE_PYTHON_TORCH / GUIDE_PYTHON_TF): the same
    # values as before while both are this interpreter, so the default build's keys stay as they were.
    side = sides.by_suffix(path.name)
    framework = side.id if side else None
    packages = environment.interpreter_packages(envinput.python_for(framework))
    payload = {
        "code": code_hash(path),
        "versions": packages["versions"],
        "packages": packages["packages"],
        "device": device or environment.detect_device(),
    }
    inputs = data_inputs(path)
    if inputs:  # only when set, so the default build's keys stay what they were
        payload["inputs"] = inputs
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
