"""Where everything lives, relative to the repository root."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SNIPPETS_DIR = ROOT / "snippets"
HELPERS_DIR = SNIPPETS_DIR / "common"  # importable helpers, not examples themselves
SCRIPTS_DIR = ROOT / "scripts"
DOCS_DIR = ROOT / "docs"
GENERATED_DIR = DOCS_DIR / "generated"
RESULTS_DIR = ROOT / "results"
CACHE_DIR = ROOT / ".cache"
SNIPPET_CACHE_DIR = CACHE_DIR / "snippets"
SNIPPET_OUTPUT_DIR = GENERATED_DIR / "output"
