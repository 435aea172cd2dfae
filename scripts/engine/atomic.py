"""File writes that never leave a half-written file behind.

Every write goes to a temporary file in the same folder and is moved into place
with ``os.replace``, which is atomic on POSIX: a crash or Ctrl-C leaves either
the old file or the new one. ``write_if_changed`` also skips identical content,
so ``mkdocs serve`` does not see generated files change and rebuild forever.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> None:
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as error:
        # Name the file the caller asked for, not the temporary one beside it.
        raise type(error)(error.errno, f"cannot write {path}: {error.strerror}") from error
    try:
        # mkstemp creates 0600; published files must stay readable by a web server.
        os.chmod(tmp_name, path.stat().st_mode & 0o777 if path.exists() else 0o644)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException as error:
        # Includes KeyboardInterrupt: the old file stays untouched.
        Path(tmp_name).unlink(missing_ok=True)
        if isinstance(error, OSError) and error.errno is not None:
            raise type(error)(error.errno, f"cannot write {path}: {error.strerror}") from error
        raise


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    write_bytes_atomic(path, text.encode("utf-8"))


def write_json_atomic(path: str | os.PathLike, obj: Any) -> None:
    write_text_atomic(path, json.dumps(obj, indent=2, sort_keys=True) + "\n")


def write_if_changed(path: str | os.PathLike, data: str | bytes) -> bool:
    """Write ``data`` atomically unless the file already holds exactly it.

    Returns True when the file was written.
    """
    path = Path(path)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    if path.exists() and path.read_bytes() == payload:
        return False
    write_bytes_atomic(path, payload)
    return True
