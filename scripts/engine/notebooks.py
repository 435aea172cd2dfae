"""Builds the end-to-end notebooks: jupytext source -> executed, cached .ipynb.

Each ``snippets/notebooks/*_torch.py`` / ``*_tf.py`` is a jupytext "percent"
script. This build step converts it to a notebook, executes it with nbclient
in a fresh kernel running its framework's interpreter (``envinput.python_for``) (cwd = repository root,
``PYTHONPATH=snippets:scripts``), and writes the result to
``docs/generated/notebooks/<name>.ipynb`` for mkdocs-jupyter to render.

The executed notebook is cached under ``.cache/notebooks/`` with the key it was
made under: a hash of the source, every repository-local module it imports
(transitively), and the installed versions of the frameworks and notebook
tools. ``stale`` reuses a cached notebook while its key matches, ``all``
always executes, ``none`` never executes and fails if nothing is cached.
A cell that raises fails the build with the notebook's name and the error.

The kernel is described by a kernelspec this module writes under
``.cache/jupyter/`` and hands to the kernel manager directly, so a fresh
virtualenv needs no ``jupyter kernelspec install`` and the user's own
Jupyter setup is never consulted or changed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from engine import atomic, keys, paths, procs, sides

NOTEBOOK_SOURCE_DIR = paths.SNIPPETS_DIR / "notebooks"
NOTEBOOK_CACHE_DIR = paths.CACHE_DIR / "notebooks"
GENERATED_NOTEBOOK_DIR = paths.GENERATED_DIR / "notebooks"
KERNEL_DIR = paths.CACHE_DIR / "jupyter" / "kernels"
KERNEL_NAME = "guide-python"
CELL_TIMEOUT_S = 600
MODES = ("stale", "none", "all")
# Bump when the way notebooks are produced changes, so every cache entry is redone.
FORMAT_VERSION = 1
# What readers see in a downloaded notebook: the standard kernel, not ours.
PUBLISHED_KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
# Section markers are for the site's includes; they are noise inside a notebook.
SECTION_MARKER = re.compile(r"^\s*# --8<-- \[(start|end):[\w-]+\]\s*$")

log_default = logging.getLogger("mkdocs.plugins.guide")


class NotebookError(RuntimeError):
    """A notebook could not be produced; the message starts with its name."""


@dataclass(frozen=True)
class Outcome:
    name: str
    executed: bool
    seconds: float


def sources(folder: Path = NOTEBOOK_SOURCE_DIR) -> list[Path]:
    """The notebook sources: every paired example file in the notebooks folder."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob("*.py") if sides.by_suffix(p.name))


def cache_key(source: Path) -> str:
    """The snippet key (source, local helpers, installed packages, device) plus this step's own code."""
    payload = {
        "format": FORMAT_VERSION,
        "builder": hashlib.sha256(Path(__file__).read_bytes()).hexdigest(),
        "snippet": keys.cache_key(source),
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def convert(source: Path):
    """The percent script as an (unexecuted) notebook with deterministic cell ids."""
    import jupytext

    notebook = jupytext.read(source, fmt="py:percent")
    notebook.metadata.pop("jupytext", None)
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "code":
            lines = [line for line in cell.source.splitlines() if not SECTION_MARKER.match(line)]
            cell.source = "\n".join(lines).strip("\n")
        cell.id = f"{source.stem}-{index:03d}"
    notebook.cells = [cell for cell in notebook.cells if cell.source.strip()]
    return notebook


def framework_of(name: str) -> str | None:
    """``torch`` for ``digits_end_to_end_torch``, ``tf`` for ``..._tf``, None otherwise (engine.sides)."""
    side = sides.by_suffix(name)
    return side.id if side else None


def kernel_name(framework: str | None = None) -> str:
    return f"{KERNEL_NAME}-{framework}" if framework else KERNEL_NAME


def ensure_kernelspec(kernel_dir: Path = KERNEL_DIR, framework: str | None = None) -> Path:
    """Write a kernelspec that starts ipykernel with the framework's interpreter (envinput.python_for)."""
    from engine import envinput

    spec = {
        "argv": [envinput.python_for(framework), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (guide build)",
        "language": "python",
        "metadata": {"debugger": False},
    }
    atomic.write_if_changed(kernel_dir / kernel_name(framework) / "kernel.json", json.dumps(spec, indent=1) + "\n")
    return kernel_dir


def kernel_env(output_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(paths.SNIPPETS_DIR), str(paths.SCRIPTS_DIR)]
        + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])
    )
    env["GUIDE_OUTPUT_DIR"] = str(output_dir)  # figures the notebook saves stay out of the repo
    env["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"  # figures become cell outputs
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env.setdefault("TF_FORCE_GPU_ALLOW_GROWTH", "true")  # on a GPU, TF would otherwise take the whole card
    env["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"  # silences a debugger warning on frozen modules
    return env


def execute(notebook, name: str, timeout: int = CELL_TIMEOUT_S, cwd: Path = paths.ROOT):
    """Run every cell in a fresh kernel; raise NotebookError naming the notebook on failure."""
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    framework = framework_of(name)
    kernel_dir = ensure_kernelspec(framework=framework)
    km = KernelManager(
        kernel_name=kernel_name(framework),
        kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(kernel_dir)]),
    )
    client = NotebookClient(
        notebook,
        km=km,
        timeout=timeout,
        record_timing=False,  # no wall-clock timestamps in cell metadata
        allow_errors=False,
        resources={"metadata": {"path": str(cwd)}},
    )
    # jupyter_client starts the kernel, not engine.procs: the token still marks it and all it
    # starts, so what a cell leaves running is stopped once the kernel is shut down, and the
    # watchdog stops it all if the engine dies first.
    token = procs.new_token()
    procs.watch_tokens()
    leftovers: list[str] = []
    with tempfile.TemporaryDirectory(prefix="guide-notebook-") as scratch:
        try:
            client.execute(env=procs.with_token(kernel_env(Path(scratch)), token))
        except CellExecutionError as error:
            raise NotebookError(f"{name}: a cell failed\n{_trim(str(error))}") from None
        except (CellTimeoutError, DeadKernelError, TimeoutError) as error:
            raise NotebookError(f"{name}: {type(error).__name__}: {_trim(str(error))}") from None
        finally:
            # We own this kernel manager, so nbclient leaves the kernel to us.
            kernel_pid = getattr(km.provisioner, "pid", None) or 0
            if km.has_kernel:
                km.shutdown_kernel(now=True)
            leftovers = procs.stop_leftovers(token, kernel_pid)
    if leftovers:
        raise NotebookError(procs.leftover_line(name, leftovers))
    return notebook


def _trim(message: str, lines: int = 30) -> str:
    kept = [re.sub(r"\x1b\[[0-9;]*m", "", line) for line in message.strip().splitlines()]
    return "\n".join(kept[-lines:])


# Native-library log lines (TensorFlow's C++ / absl logging) that ipykernel
# forwards from file descriptor 2: environment noise, not notebook content.
NATIVE_LOG_LINE = re.compile(
    r"^(WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    r"|[IWEF]\d{4} [\d:.]+ +\d+ [\w./-]+:\d+\] .*)$"
)


def _tidy_outputs(outputs: list) -> list:
    """Join consecutive stream chunks (their split depends on timing) and drop native log lines."""
    import nbformat

    tidy: list = []
    for output in outputs:
        if output.get("output_type") == "stream":
            if output.get("name") == "stderr":
                kept = [line for line in output.text.splitlines(keepends=True)
                        if not NATIVE_LOG_LINE.match(line.rstrip("\n"))]
                output.text = "".join(kept)
                if not output.text:
                    continue
            previous = tidy[-1] if tidy else None
            if previous is not None and previous.get("output_type") == "stream" \
                    and previous.get("name") == output.get("name"):
                previous.text += output.text
                continue
            output = nbformat.v4.new_output("stream", name=output.name, text=output.text)
        tidy.append(output)
    return tidy


def normalise(notebook) -> str:
    """The notebook as text with nothing that differs between identical executions."""
    import nbformat

    notebook.metadata["kernelspec"] = dict(PUBLISHED_KERNELSPEC)
    notebook.metadata.get("language_info", {}).pop("version", None)
    notebook.metadata.pop("widgets", None)
    notebook.metadata.pop("papermill", None)
    for cell in notebook.cells:
        cell.metadata.pop("execution", None)
        cell.metadata.pop("collapsed", None)
        if cell.cell_type == "code":
            cell.outputs = _tidy_outputs(cell.outputs)
            for output in cell.outputs:
                output.get("metadata", {}).pop("execution", None)
    nbformat.validate(notebook)
    return nbformat.writes(notebook) + "\n"


def build(
    source: Path,
    mode: str = "stale",
    cache_dir: Path = NOTEBOOK_CACHE_DIR,
    generated_dir: Path = GENERATED_NOTEBOOK_DIR,
    timeout: int = CELL_TIMEOUT_S,
    log: logging.Logger = log_default,
) -> Outcome:
    """Bring one notebook up to date in the cache and in ``generated_dir``."""
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}; expected one of {', '.join(MODES)}")
    name = source.stem
    cached_notebook = cache_dir / f"{name}.ipynb"
    record_path = cache_dir / f"{name}.json"
    record = _load_record(record_path)
    key = cache_key(source)
    started = time.perf_counter()

    reuse = (
        mode == "none" or (mode == "stale" and record is not None and record.get("key") == key)
    ) and cached_notebook.is_file()
    if mode == "none" and not cached_notebook.is_file():
        raise NotebookError(
            f"{name}: no executed notebook in {cached_notebook.parent} "
            f"(build once without GUIDE_RUN=none)"
        )
    if reuse:
        text = cached_notebook.read_text(encoding="utf-8")
        executed = False
    else:
        log.info(f"notebooks: executing {name}")
        text = normalise(execute(convert(source), name, timeout=timeout))
        atomic.write_if_changed(cached_notebook, text)
        atomic.write_json_atomic(record_path, {"key": key, "source": _rel(source)})
        executed = True
    atomic.write_if_changed(generated_dir / f"{name}.ipynb", text)
    return Outcome(name=name, executed=executed, seconds=time.perf_counter() - started)


def _load_record(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None  # a missing or damaged record is a cache miss


def _rel(path: Path) -> str:
    try:
        return path.resolve().relative_to(paths.ROOT).as_posix()
    except ValueError:
        return str(path)


def refresh(mode: str, log: logging.Logger = log_default) -> None:
    """Build step (see hook.BUILD_STEPS): every notebook, failures collected then raised."""
    failures = []
    for source in sources():
        try:
            outcome = build(source, mode=mode, log=log)
        except NotebookError as error:
            failures.append(str(error))
            log.error(f"notebooks: FAILED {source.stem}")
            continue
        verb = "executed" if outcome.executed else "reused"
        log.info(f"notebooks: {verb} {outcome.name} in {outcome.seconds:.1f} s")
    if failures:
        raise NotebookError("\n\n".join(failures))
