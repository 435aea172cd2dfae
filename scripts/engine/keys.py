"""What a cached result depends on, boiled down to one hash.

A snippet's result is reused only while its own source, the source of every
repository-local module it imports (transitively), the installed packages
(framework versions by name, everything else by one hash) and the device are
all unchanged. Anything else changes, it runs again.
"""

from __future__ import annotations

import ast
import hashlib
import json
from pathlib import Path

from engine import environment, paths


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


def cache_key(path: Path, device: str | None = None) -> str:
    """The full key: code hash + installed packages + device."""
    payload = {
        "code": code_hash(path),
        "versions": environment.framework_versions(),
        "packages": environment.installed_packages_hash(),
        "device": device or environment.detect_device(),
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
