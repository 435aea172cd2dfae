"""Shared fixtures: the real site, built once per test session."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
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


@dataclass
class Build:
    site_dir: Path
    log: str
    seconds: float


def build_site(site_dir: Path, **env_overrides: str) -> Build:
    """Run the README's strict build into ``site_dir``; fail the test with its log if it fails."""
    env = {**os.environ, **env_overrides}
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site_dir)],
        cwd=ROOT, env=env, capture_output=True, text=True,
    )
    seconds = time.perf_counter() - started
    log = result.stdout + result.stderr
    if result.returncode != 0:
        pytest.fail(f"mkdocs build --strict failed (exit {result.returncode}):\n{log[-6000:]}")
    return Build(site_dir=site_dir, log=log, seconds=seconds)


@pytest.fixture(scope="session")
def built_site(tmp_path_factory) -> Build:
    return build_site(tmp_path_factory.mktemp("site"))
