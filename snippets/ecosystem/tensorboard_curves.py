"""The Ecosystem page's build step: read both TensorBoard runs back and chart them on one figure.

The Ecosystem page's two snippets (``snippets/ecosystem/tensorboard_log_*.py``)
each log the same training run to TensorBoard event files. After the snippets
have run, this step reads both runs with TensorBoard's own reader
(``EventAccumulator``) and writes:

* ``docs/generated/ecosystem/tensorboard_curves.svg``: training loss per step
  and test accuracy per epoch, PyTorch and TensorFlow on the same axes;
* ``docs/generated/ecosystem/tensorboard_tags.md``: every tag found in each
  run, how it is stored, and how many points it holds.

Both are pure functions of the event files and the snippets' run records, so
the same runs give the same bytes. ``read_run`` is the reader the tests call.

TensorBoard's reader imports TensorFlow when it is installed (on the first
``Reload``), and the MkDocs process must hold neither framework, so the build
step reads the runs in a child process (``read_runs_in_child``: ``python -m
ecosystem.tensorboard_curves read DIR...`` under TensorFlow's interpreter,
``envinput.python_for("tf")``) and only charts in the build process.
"""

from __future__ import annotations

import io
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

# --8<-- [start:reader]
from tensorboard.backend.event_processing import event_accumulator
from tensorboard.util import tensor_util


@dataclass
class TagInfo:
    tag: str
    storage: str  # how the event file holds it: "scalar (simple_value)", "tensor, scalars plugin", ...
    points: int


@dataclass
class Run:
    scalars: dict[str, list[tuple[int, float]]] = field(default_factory=dict)
    tags: list[TagInfo] = field(default_factory=list)


KEEP_ALL = {  # 0 = keep every event; the default samples long runs down
    event_accumulator.SCALARS: 0,
    event_accumulator.TENSORS: 0,
    event_accumulator.HISTOGRAMS: 0,
}


def read_run(run_dir: str | Path) -> Run:
    """Every scalar series in one TensorBoard run folder, whichever framework wrote it."""
    reader = event_accumulator.EventAccumulator(str(run_dir), size_guidance=KEEP_ALL)
    reader.Reload()
    tags = reader.Tags()
    run = Run()
    # PyTorch's SummaryWriter writes scalars the TF 1 way: a float in `simple_value`.
    for tag in tags["scalars"]:
        events = reader.Scalars(tag)
        run.scalars[tag] = [(e.step, float(e.value)) for e in events]
        run.tags.append(TagInfo(tag, "scalar (simple_value)", len(events)))
    for tag in tags["histograms"]:
        run.tags.append(TagInfo(tag, "histogram (HistogramProto)", len(reader.Histograms(tag))))
    # TF 2's tf.summary writes everything as a tensor, labelled with the plugin that shows it.
    for tag in tags["tensors"]:
        events = reader.Tensors(tag)
        plugin = reader.SummaryMetadata(tag).plugin_data.plugin_name
        run.tags.append(TagInfo(tag, f"tensor, {plugin} plugin", len(events)))
        if plugin == "scalars":
            run.scalars[tag] = [
                (e.step, float(tensor_util.make_ndarray(e.tensor_proto))) for e in events
            ]
    run.tags.sort(key=lambda info: info.tag)
    return run
# --8<-- [end:reader]


PAGE = "ecosystem"
RUNS = {  # framework label -> (snippet stem, run folder inside its output_dir())
    "PyTorch": ("tensorboard_log_torch", "runs/torch"),
    "TensorFlow": ("tensorboard_log_tf", "runs/tf"),
}
COLORS = {"PyTorch": "#ee4c2c", "TensorFlow": "#1a73e8"}
BANNER = (
    "snippets/ecosystem/tensorboard_curves.py, a step of `mkdocs build` "
    "(alone: `PYTHONPATH=snippets:scripts python -m ecosystem.tensorboard_curves`)"
)
EVENT_GLOB = "events.out.tfevents.*"


def find_run_dir(files_dir: Path, relative: str) -> Path:
    """The folder holding the run's event files; fails loudly when there are none."""
    run_dir = files_dir / relative
    if not run_dir.is_dir() or not any(run_dir.glob(EVENT_GLOB)):
        raise FileNotFoundError(
            f"no TensorBoard event files in {run_dir}: the snippet did not run or wrote elsewhere"
        )
    return run_dir


def render_svg(runs: dict[str, Run], caption: str) -> bytes:
    """Loss and accuracy from both runs on shared axes, as deterministic SVG bytes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with plt.rc_context({"svg.hashsalt": "guide", "svg.fonttype": "path", "font.size": 9}):
        fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(9, 3.6), constrained_layout=True)
        for label, run in runs.items():
            steps, values = zip(*run.scalars["train/loss"], strict=True)
            ax_loss.plot(steps, values, color=COLORS[label], label=label, linewidth=1.4)
            steps, values = zip(*run.scalars["test/accuracy"], strict=True)
            ax_acc.plot(steps, values, color=COLORS[label], label=label, marker="o", linewidth=1.4)
        ax_loss.set(title="train/loss (every step)", xlabel="step", ylabel="cross-entropy")
        ax_acc.set(title="test/accuracy (end of each epoch)", xlabel="step", ylabel="accuracy")
        for ax in (ax_loss, ax_acc):
            ax.grid(True, alpha=0.3)
            ax.legend(frameon=False)
        fig.suptitle("Read back from the TensorBoard event files each framework wrote", fontsize=10)
        fig.text(0.5, -0.02, caption, ha="center", va="top", fontsize=8, color="#555555")
        buffer = io.BytesIO()
        fig.savefig(
            buffer,
            format="svg",
            bbox_inches="tight",
            metadata={"Date": None, "Description": f"generated by {BANNER}; do not edit"},
        )
        plt.close(fig)
    return buffer.getvalue()


def render_tags(runs: dict[str, Run]) -> str:
    """A Markdown table: each tag, and how each framework's event file stores it."""
    labels = list(runs)
    by_tag: dict[str, dict[str, TagInfo]] = {}
    for label, run in runs.items():
        for info in run.tags:
            by_tag.setdefault(info.tag, {})[label] = info
    lines = [
        f"<!-- generated by {BANNER}; do not edit -->",
        "",
        "| Tag | " + " | ".join(labels) + " |",
        "|---|" + "---|" * len(labels),
    ]
    for tag in sorted(by_tag):
        cells = []
        for label in labels:
            info = by_tag[tag].get(label)
            cells.append(f"{info.storage}, {info.points} points" if info else "not logged")
        lines.append(f"| `{tag}` | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _record(page: str, stem: str) -> dict:
    """The snippet runner's record for a run (device, versions, date), if stored."""
    from engine import paths

    path = paths.SNIPPET_CACHE_DIR / page / f"{stem}.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return {}


def caption_for(records: dict[str, dict]) -> str:
    from engine.environment import device_label

    parts = []
    for label, record in records.items():
        versions = record.get("versions", {})
        version = versions.get("torch") if label == "PyTorch" else (
            versions.get("tensorflow") or versions.get("tensorflow-cpu")
        )
        ran_at = (record.get("ran_at") or "unknown date")[:10]
        device = device_label(record["device"]) if record.get("device") else "unknown device"
        parts.append(f"{label} {version or '?'} on {device}, run {ran_at}")
    return "; ".join(parts)


def run_to_json(run: Run) -> dict:
    return {"scalars": {tag: [list(point) for point in points] for tag, points in run.scalars.items()},
            "tags": [[info.tag, info.storage, info.points] for info in run.tags]}


def run_from_json(data: dict) -> Run:
    return Run(scalars={tag: [(int(step), float(value)) for step, value in points]
                        for tag, points in data["scalars"].items()},
               tags=[TagInfo(tag, storage, int(points)) for tag, storage, points in data["tags"]])


READ_TIMEOUT_S = 300


def read_runs_in_child(run_dirs: list[Path], python: str | None = None) -> list[Run]:
    """``read_run`` of each folder, done in a child process so this one never imports TensorFlow."""
    import os
    import subprocess

    from engine import envinput, paths

    python = python or envinput.python_for("tf")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(paths.SNIPPETS_DIR), str(paths.SCRIPTS_DIR),
                                                         os.environ.get("PYTHONPATH", "")]),
           "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""}  # reading files needs no GPU
    done = subprocess.run([python, "-m", "ecosystem.tensorboard_curves", "read", *map(str, run_dirs)],
                          capture_output=True, text=True, timeout=READ_TIMEOUT_S, env=env, cwd=paths.ROOT)
    if done.returncode != 0:
        tail = "\n".join(done.stderr.strip().splitlines()[-8:])
        raise RuntimeError(f"reading the TensorBoard runs under {python} failed (exit {done.returncode}):\n{tail}")
    return [run_from_json(item) for item in json.loads(done.stdout.strip().splitlines()[-1])]


def inputs_key(run_dirs: list[Path], records: dict[str, dict]) -> str:
    """A hash of everything the chart and tag table depend on: event files, run records, this code."""
    import hashlib

    import matplotlib

    digest = hashlib.sha256()
    digest.update(Path(__file__).read_bytes())
    digest.update(matplotlib.__version__.encode())
    digest.update(json.dumps(records, sort_keys=True, default=str).encode())
    for run_dir in run_dirs:
        for event_file in sorted(run_dir.rglob("*")):
            if event_file.is_file():
                digest.update(event_file.relative_to(run_dir).as_posix().encode())
                digest.update(event_file.read_bytes())
    return digest.hexdigest()


def refresh(mode: str, log: logging.Logger) -> None:
    """Chart both runs from the snippets' stored files (every mode: reading is cheap)."""
    from engine import atomic, paths
    from engine.snippet_runner import files_dir

    records: dict[str, dict] = {}
    dirs = [find_run_dir(files_dir(PAGE, stem), relative) for stem, relative in RUNS.values()]
    out = paths.GENERATED_DIR / PAGE
    for label, (stem, _relative) in RUNS.items():
        records[label] = _record(PAGE, stem)
    # Reading the runs starts a TensorFlow process (seconds); skip it when nothing it reads has changed.
    key = inputs_key(dirs, records)
    stamp = paths.CACHE_DIR / "tensorboard_curves.key"
    outputs = (out / "tensorboard_curves.svg", out / "tensorboard_tags.md")
    if mode != "all" and all(p.exists() for p in outputs) and stamp.is_file() and stamp.read_text() == key:
        log.info("tensorboard_curves: event files unchanged, chart and tag table reused")
        return
    runs: dict[str, Run] = dict(zip(RUNS, read_runs_in_child(dirs), strict=True))
    for label in RUNS:
        for tag in ("train/loss", "test/accuracy"):
            if not runs[label].scalars.get(tag):
                raise ValueError(f"{stem}: no '{tag}' scalars in its TensorBoard run")
    wrote_svg = atomic.write_if_changed(out / "tensorboard_curves.svg", render_svg(runs, caption_for(records)))
    wrote_md = atomic.write_if_changed(out / "tensorboard_tags.md", render_tags(runs))
    atomic.write_if_changed(stamp, key)
    log.info(f"tensorboard_curves: chart {'written' if wrote_svg else 'unchanged'}, "
             f"tag table {'written' if wrote_md else 'unchanged'}")


if __name__ == "__main__":
    import sys

    if sys.argv[1:2] == ["read"]:  # the child side of read_runs_in_child: one JSON line
        print(json.dumps([run_to_json(read_run(folder)) for folder in sys.argv[2:]]))
    else:
        logging.basicConfig(level=logging.INFO, format="%(message)s")
        refresh("stale", logging.getLogger("guide.tensorboard_curves"))
