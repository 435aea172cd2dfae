"""Where a snippet writes the files (figures, logs, exports) it produces.

The engine runs every snippet in a fresh process with ``GUIDE_OUTPUT_DIR``
pointing at a scratch folder it collects afterwards; run by hand, a snippet
writes into ``./snippet-output/<name>`` instead.

>>> import os, tempfile
>>> os.environ["GUIDE_OUTPUT_DIR"] = tempfile.mkdtemp()
>>> output_dir().is_dir()
True
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def output_dir() -> Path:
    """Return (and create) the folder this snippet should write its files to."""
    configured = os.environ.get("GUIDE_OUTPUT_DIR")
    if configured:
        path = Path(configured)
    else:
        name = Path(sys.argv[0]).stem or "interactive"
        path = Path("snippet-output") / name
    path.mkdir(parents=True, exist_ok=True)
    return path
