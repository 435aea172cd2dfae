"""The project's own code passes its linter (config in pyproject.toml)."""

from __future__ import annotations

import subprocess
import sys

from engine import paths


def test_ruff_finds_nothing():
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "snippets", "scripts", "tests"],
                            cwd=paths.ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
