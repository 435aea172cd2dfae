"""A third side, proven on a fixture (issue 26 §3): one registry entry plus the side's own files.

A temporary copy of the repository gets one more ``Side`` at the end of ``SIDES`` in
scripts/engine/sides.py, a toy NumPy-only "framework", and that side's own files:
``snippets/graphs/eager_np.py`` beside the graphs page's eager pair, and a page folder
``snippets/toy/`` whose one benchmark case times a NumPy workload (a linear classifier
trained by hand-written gradient descent, keeping the contract of engine.bench.workload).
Nothing else in the copy changes (the first test checks it). There, with no other edit:

* the graphs page's pair mark gives the side a tab, after PyTorch's and TensorFlow's;
* the snippet runner runs the side's snippet under its interpreter and publishes its output;
* ``regen.py list`` lists the side's case, ``regen.py run --framework np`` times it into a
  scratch results store, and ``regen.py render`` writes its table with a NumPy row;
* the figures that go per side (the ceiling rows) give the side its own row;
* ``regen.py new`` still writes the required pair and leaves the optional side's file out.

Every command runs in a subprocess against the copy, so each module reads the registry at
import as a build would. The copy's run is the quick profile of one tiny configuration;
the whole file takes under ten seconds on two cores.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conftest import copy_of_the_repository

ROOT = Path(__file__).resolve().parents[1]

# The one registry entry (appended to SIDES, so it comes last in every order).
SIDE_ENTRY = '''    Side(
        id="np", label="NumPy", module="numpy", python_var="GUIDE_PYTHON_NP",
        packages=("numpy",), executions={"eager": "NumPy"}, out_of_the_box=("eager",), required=False,
    ),
'''
END_OF_SIDES = "\n)\n\nIDS: tuple[str, ...]"

# The side's own files, beside the pairs they join or in their own page folder.
OWN_FILES = {
    "snippets/graphs/eager_np.py": '''\
"""Eager execution in NumPy, the toy third side: every operation runs the moment Python reaches it.

NumPy records nothing: the gradient PyTorch's autograd derives is written out
by hand (d/dx of sum(x @ x + 1) is ones @ x.T + x.T @ ones).

>>> import numpy as np
>>> x = np.array([[1.0, 2.0], [3.0, 4.0]])
>>> (x @ x + 1).tolist()
[[8.0, 11.0], [16.0, 23.0]]
"""

import numpy as np

if __name__ == "__main__":
    # --8<-- [start:eager]
    x = np.array([[1.0, 2.0], [3.0, 4.0]])
    y = x @ x + 1  # computed right here, like every NumPy expression
    print("y is a value:", y.tolist())
    # --8<-- [end:eager]

    # --8<-- [start:autograd]
    ones = np.ones_like(y)  # no tape: the gradient of y.sum() by hand
    print("dy/dx summed:", (ones @ x.T + x.T @ ones).tolist())
    # --8<-- [end:autograd]
''',
    "snippets/toy/toy_cases.py": '''\
"""The toy page's benchmark case: the NumPy side's linear classifier (tests/test_toy_side.py)."""

from __future__ import annotations

from engine.bench.cases import PROFILES, Case

CASES: list[Case] = [Case(
    name="toy_linear",
    kind="train",
    title="Toy linear classifier: training step time, NumPy",
    workload="linear",
    grid={p: [("np", "eager", 64, 1)] for p in PROFILES},
    steps={p: (3, 10) for p in PROFILES},
)]
''',
    "snippets/toy/linear.py": '''\
"""What the ``linear`` workload is, for the engine: a linear softmax classifier (no framework imported)."""

TITLE = "A linear softmax classifier"
DATA = "synthetic batches (random features and labels): throughput only"
UNIT = "samples"
DEFAULT_SIZE = 1
FEATURES, CLASSES = 8, 3


def size_label(size: int) -> str:
    return f"{FEATURES} features"


def trainable_params(size: int = 1) -> int:
    return FEATURES * CLASSES + CLASSES


def forward_flops(batch_size: int, size: int = 1) -> int:
    return 2 * batch_size * FEATURES * CLASSES


def train_step_flops(batch_size: int, size: int = 1) -> int:
    return 2 * forward_flops(batch_size, size)  # forward and the weight gradient (no input gradient)


def output_shape(batch_size: int, size: int = 1) -> tuple[int, ...]:
    return (batch_size, CLASSES)


def items_per_sample(size: int = 1) -> int:
    return 1
''',
    "snippets/toy/linear_np.py": '''\
"""The ``linear`` benchmark workload, NumPy side: gradient descent written by hand.

>>> settings = configure(threads=1)
>>> model = build(1)
>>> X, y = make_batch(16)
>>> train_step = make_train_step(model, "eager")
>>> first = sync(train_step(X, y))
>>> [sync(train_step(X, y)) for _ in range(5)][-1] < first
True
"""

from __future__ import annotations

import numpy as np

from toy.linear import CLASSES, FEATURES

MODES = ("eager",)
DEVICE = "cpu"


def configure(threads: int, mode: str = "eager") -> dict:
    return {"device": DEVICE, "threads": threads}  # BLAS threads come from the harness's OMP_NUM_THREADS


class Linear:
    def __init__(self, rng):
        self.W = (0.1 * rng.standard_normal((FEATURES, CLASSES))).astype(np.float32)
        self.b = np.zeros(CLASSES, np.float32)

    def __call__(self, X):
        return X @ self.W + self.b


def build(size: int = 1, mode: str = "eager") -> Linear:
    return Linear(np.random.default_rng(0))


def make_batch(batch_size: int, seed: int = 0, mode: str = "eager"):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((batch_size, FEATURES), dtype=np.float32), rng.integers(0, CLASSES, batch_size)


def count_trainable_params(model: Linear) -> int:
    return model.W.size + model.b.size


def make_train_step(model: Linear, mode: str, learning_rate: float = 0.1):
    def train_step(X, y):
        logits = model(X)
        p = np.exp(logits - logits.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        rows = np.arange(len(y))
        loss = -np.log(p[rows, y]).mean()
        p[rows, y] -= 1  # the cross-entropy's gradient with respect to the logits, times the batch
        model.W -= learning_rate * (X.T @ p) / len(y)
        model.b -= learning_rate * p.sum(axis=0) / len(y)
        return loss
    return train_step


def make_predict(model: Linear, mode: str):
    return model


def sync(loss) -> float:
    return float(loss)


def device_of(tensor) -> str:
    return DEVICE


def to_numpy(outputs):
    return np.asarray(outputs, dtype=np.float32)


def memory_stats() -> dict:
    return {}


def reset_memory_stats() -> None:
    pass
''',
}


def _env(repo: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("GUIDE_RESULTS_DIR", "GUIDE_PYTHON_NP")}
    return {**env, "PYTHONPATH": os.pathsep.join([str(repo / "snippets"), str(repo / "scripts")]),
            "PYTHONDONTWRITEBYTECODE": "1"}


def _run(repo: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, *args], cwd=repo, env=_env(repo), capture_output=True, text=True,
                          timeout=300)
    if check:
        assert done.returncode == 0, f"{args}: exit {done.returncode}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


def _python(repo: Path, code: str):
    """Run ``code`` in the copy; it prints one JSON line, returned decoded."""
    return json.loads(_run(repo, "-c", textwrap.dedent(code)).stdout.strip().splitlines()[-1])


def _tree(repo: Path) -> dict[str, bytes]:
    return {p.relative_to(repo).as_posix(): p.read_bytes() for p in sorted(repo.rglob("*"))
            if p.is_file() and "__pycache__" not in p.parts}


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    """The copy with the NumPy side registered, and what changed in it."""
    repo = copy_of_the_repository(tmp_path_factory.mktemp("toy") / "repo")
    before = _tree(repo)
    registry = repo / "scripts" / "engine" / "sides.py"
    text = registry.read_text(encoding="utf-8")
    assert text.count(END_OF_SIDES) == 1, "SIDES no longer ends as this test expects"
    at = text.index(END_OF_SIDES) + 1
    registry.write_text(text[:at] + SIDE_ENTRY + text[at:], encoding="utf-8")
    for rel, body in OWN_FILES.items():
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_text(body, encoding="utf-8")
    after = _tree(repo)
    changed = sorted(name for name in set(before) | set(after) if before.get(name) != after.get(name))
    return repo, changed, before["scripts/engine/sides.py"].decode()


def test_only_the_registry_entry_and_the_sides_own_files_change(toy):
    repo, changed, old_registry = toy
    assert changed == sorted(["scripts/engine/sides.py", *OWN_FILES])
    new_registry = (repo / "scripts/engine/sides.py").read_text()
    assert new_registry.replace(SIDE_ENTRY, "", 1) == old_registry  # the entry is the registry's only change
    assert _python(repo, "import json; from engine import sides; print(json.dumps(sides.IDS))") == \
        ["torch", "tf", "np"]


def test_the_graphs_page_gives_the_side_a_tab_after_the_others(toy):
    repo, _, _ = toy
    tabs = _python(repo, """
        import json
        from engine import tabs
        print(json.dumps(tabs.expand('<!-- md:pair graphs/eager eager autograd output -->', check=False)))
    """)
    labels = [line.split('"')[1] for line in tabs.splitlines() if line.startswith("=== ")]
    assert labels == ["PyTorch", "TensorFlow", "NumPy"]
    numpy_tab = tabs[tabs.index('=== "NumPy"'):]
    for include in ('"snippets/graphs/eager_np.py:eager"', '"snippets/graphs/eager_np.py:autograd"',
                    '"docs/generated/output/graphs/eager_np.txt"'):
        assert include in numpy_tab


def test_the_sides_snippet_runs_and_its_output_is_published(toy):
    repo, _, _ = toy
    done = _python(repo, """
        import json, logging
        from engine import paths, sides, snippet_runner, tabs
        from engine.snippets import Snippet, discover
        snippet = Snippet(paths.SNIPPETS_DIR / "graphs" / "eager_np.py")
        assert snippet in discover() and snippet.framework == "np"
        summary = snippet_runner.refresh("all", logging.getLogger("toy"), snippets=[snippet], jobs=1)
        # The side's tab alone, its includes checked (check=True) now that its output exists.
        tab = tabs.expand("<!-- md:pair graphs/eager eager autograd output -->", sides=[sides.by_id("np")])
        print(json.dumps({"ran": summary.ran, "tab": tab,
                          "output": (paths.SNIPPET_OUTPUT_DIR / "graphs" / "eager_np.txt").read_text()}))
    """)
    assert done["ran"] == ["snippets/graphs/eager_np.py"]
    assert done["tab"].startswith('=== "NumPy"')
    assert done["output"] == "y is a value: [[8.0, 11.0], [16.0, 23.0]]\ndy/dx summed: [[7.0, 11.0], [9.0, 13.0]]\n"


@pytest.fixture(scope="module")
def measured(toy):
    """The side's case listed, then run (quick profile, NumPy only) into a scratch store and rendered."""
    repo, _, _ = toy
    results = repo.parent / "results"
    listed = _run(repo, "scripts/regen.py", "list", "--profile", "quick", "--results-dir", str(results),
                  check=False)
    ran = _run(repo, "scripts/regen.py", "run", "toy_linear", "--profile", "quick", "--framework", "np",
               "--results-dir", str(results), "--no-render")
    rendered = _run(repo, "scripts/regen.py", "render", "--results-dir", str(results))
    return repo, results, listed, ran, rendered


def test_regen_list_shows_the_sides_case(measured):
    _, _, listed, _, _ = measured
    assert listed.returncode == 1, listed.stderr  # its result is missing until the run
    lines = listed.stdout.splitlines()
    line = next(line for line in lines if line.startswith("toy_linear"))
    assert "train" in line and "1 configs" in line and "[missing]" in line
    assert "Toy linear classifier: training step time, NumPy" in listed.stdout


def test_a_run_of_the_side_is_stored_and_its_table_has_a_numpy_row(measured):
    repo, results, _, ran, rendered = measured
    stored = list(results.glob("*/toy_linear.json"))
    assert len(stored) == 1, ran.stdout + ran.stderr
    result = json.loads(stored[0].read_text())
    runs = result["runs"]
    assert {(r["framework"], r["mode"], r["ok"]) for r in runs} == {("np", "eager", True)}, runs
    assert result["manifest"]["versions"]["numpy"]  # the side's own package is recorded
    table = (repo / "docs" / "generated" / "bench" / "toy_linear.md").read_text()
    rows = [line for line in table.splitlines() if line.startswith("| NumPy |")]
    assert len(rows) == 1 and "| 64 | 8 features |" in rows[0], table
    # The store's staleness check sees the side too: the run is fresh for `list` now.
    listed = _run(repo, "scripts/regen.py", "list", "--profile", "quick", "--results-dir", str(results),
                  check=False)
    assert "[fresh]" in next(line for line in listed.stdout.splitlines() if line.startswith("toy_linear"))


def test_the_per_side_figures_give_the_side_its_own_row(toy):
    repo, _, _ = toy
    rows = _python(repo, """
        import json
        from engine.bench import summarize as S
        runs = [{"framework": fw, "mode": "-", "batch_size": 0, "width": 0, "repeat": 0, "ok": True,
                 "result": {"matmul_size": 64, "matmul_float32_flops": flops, "copy_bytes_per_s": 1e9}}
                for fw, flops in (("np", 3e9), ("tf", 2e9), ("torch", 1e9))]
        print(json.dumps([(r["framework"], r["fp32"]) for r in S.ceiling_rows({"runs": runs})]))
    """)
    assert rows == [["torch", 1e9], ["tf", 2e9], ["np", 3e9]]  # registry order, whatever the file's


def test_regen_new_writes_the_required_sides_and_leaves_the_optional_one_to_its_contributor(toy):
    repo, _, _ = toy
    done = _run(repo, "scripts/regen.py", "new", "scaffolded", "first")
    created = sorted(line.split()[-1] for line in done.stdout.splitlines() if line.startswith("created snippets/"))
    assert created == ["snippets/scaffolded/first_tf.py", "snippets/scaffolded/first_torch.py",
                       "snippets/scaffolded/page.md"]
