"""The benchmark cases: which workload, which modes, which sizes, per profile.

A case is a set of configurations of one workload pair in ``snippets/speed``.
Each (framework, configuration, repeat) becomes one job, run in its own
process by the harness. Profiles trade time for confidence:

* ``quick``  one repeat, few steps, the sizes that matter most (<= 5 min on 2 cores);
* ``default`` five repeats (rule 2), every size (<= 30 min on 2 cores);
* ``full``   ten repeats, more steps.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from engine import paths
from engine.bench import flops

PROFILES = ("quick", "default", "full")
FRAMEWORKS = ("torch", "tf")
FRAMEWORK_LABELS = {"torch": "PyTorch", "tf": "TensorFlow"}

# Rule 11: every row names its mode and tier.
MODE_LABELS = {
    ("torch", "eager"): "PyTorch eager",
    ("torch", "compile"): "PyTorch torch.compile",
    ("tf", "eager"): "TF eager (GradientTape, no tf.function)",
    ("tf", "function"): "TF tf.function",
    ("tf", "xla"): "TF tf.function(jit_compile=True) (XLA)",
    ("tf", "fit"): "Keras fit (compile defaults)",
}
TIERS = {
    ("torch", "eager"): "out-of-the-box",
    ("torch", "compile"): "tuned",
    ("tf", "eager"): "out-of-the-box",
    ("tf", "function"): "tuned",
    ("tf", "xla"): "tuned",
    ("tf", "fit"): "out-of-the-box",
}
COMPILED_MODES = {("torch", "compile"), ("tf", "function"), ("tf", "xla"), ("tf", "fit")}

REPEATS = {"quick": 1, "default": 5, "full": 10}
TIMEOUT_S = {"quick": 300, "default": 600, "full": 900}


@dataclass(frozen=True)
class Case:
    name: str
    kind: str  # train | infer | accuracy | ceiling
    title: str
    claims: tuple[str, ...]
    workload: str  # module stem in snippets/speed without the _torch/_tf suffix
    # profile -> list of (framework, mode, batch_size, width)
    grid: dict[str, list[tuple[str, str, int, int]]]
    # profile -> (warmup, steps)
    steps: dict[str, tuple[int, int]]
    noise_configs: tuple[tuple[str, str, int, int], ...] = ()
    # name -> environment overrides for the timed process (None removes a variable). A case
    # with variants runs each configuration once per variant, back to back, so a comparison
    # between variants sees the same machine at the same moment.
    variants: dict[str, dict[str, str | None]] = field(default_factory=dict)
    extra: dict = field(default_factory=dict)

    def module(self, framework: str) -> str:
        return f"speed.{self.workload}_{framework}"

    def files(self) -> list[Path]:
        return [paths.SNIPPETS_DIR / "speed" / f"{self.workload}_{fw}.py" for fw in FRAMEWORKS]

    def configs(self, profile: str) -> list[tuple[str, str, int, int]]:
        return list(self.grid[profile])


def _grid(modes, batches, widths):
    return [(fw, mode, b, w) for w in widths for b in batches for fw, mode in modes]


TORCH_MODES = [("torch", "eager"), ("torch", "compile")]
TF_MODES = [("tf", "eager"), ("tf", "function"), ("tf", "xla"), ("tf", "fit")]
BEST_MODES = [("torch", "eager"), ("tf", "function"), ("torch", "compile"), ("tf", "fit")]
ALL_MODES = [("torch", "eager"), ("tf", "eager"), ("torch", "compile"), ("tf", "function"),
             ("tf", "xla"), ("tf", "fit")]

CASES: dict[str, Case] = {}


def _add(case: Case) -> None:
    CASES[case.name] = case


_add(Case(
    name="ceiling",
    kind="ceiling",
    title="Machine ceiling: fp32 matmul and copy bandwidth",
    claims=("C08", "C19"),
    workload="ceiling",
    grid={p: [("torch", "-", 0, 0), ("tf", "-", 0, 0)] for p in PROFILES},
    steps={"quick": (1, 5), "default": (1, 10), "full": (1, 20)},
    extra={"matmul_size": {"quick": 1024, "default": 2048, "full": 2048}, "copy_mb": 256},
))

_add(Case(
    name="headline",
    kind="train",
    title="MNIST CNN training step vs batch size",
    claims=("C03", "C07", "C08", "C16", "C19"),
    workload="cnn_workload",
    grid={
        "quick": _grid(BEST_MODES, (32, 128, 512), (1,))
        + [("tf", "eager", 128, 1), ("tf", "xla", 128, 1)],
        "default": _grid(ALL_MODES, (32, 128, 512), (1,)),
        "full": _grid(ALL_MODES, (32, 64, 128, 256, 512), (1,)),
    },
    steps={"quick": (10, 20), "default": (15, 40), "full": (20, 100)},
    noise_configs=(("torch", "eager", 128, 1), ("tf", "function", 128, 1)),
))

# The harness serves large blocks from the heap (see timed_env.py); this case runs
# the same steps under glibc's own defaults and under the harness's setting, each
# configuration back to back, so the page can show what the setting changes.
GLIBC_DEFAULTS, HARNESS_SETTING = "glibc-defaults", "harness-setting"
ALLOCATOR_VARIANTS = {GLIBC_DEFAULTS: {"GLIBC_TUNABLES": None}, HARNESS_SETTING: {}}

_add(Case(
    name="allocator",
    kind="train",
    title="Memory allocator: glibc's defaults vs the harness's setting",
    claims=("C07",),
    workload="cnn_workload",
    grid={
        "quick": [("torch", "eager", 512, 1), ("tf", "function", 512, 1)],
        "default": _grid([("torch", "eager"), ("tf", "function")], (128, 512), (1,)),
        "full": _grid([("torch", "eager"), ("tf", "function"), ("torch", "compile"), ("tf", "fit")],
                      (32, 128, 512), (1,)),
    },
    steps={"quick": (10, 20), "default": (15, 40), "full": (20, 100)},
    variants=ALLOCATOR_VARIANTS,
))

_add(Case(
    name="size_sweep",
    kind="train",
    title="Model-size sweep: memory and step time, eager vs compiled",
    claims=("C02", "C09", "C16"),
    workload="cnn_workload",
    grid={
        "quick": _grid([("torch", "eager"), ("tf", "eager"), ("torch", "compile"), ("tf", "function")],
                       (128,), (1, 4)),
        "default": _grid([("torch", "eager"), ("tf", "eager"), ("torch", "compile"), ("tf", "function")],
                         (128,), (1, 2, 4)),
        "full": _grid([("torch", "eager"), ("tf", "eager"), ("torch", "compile"), ("tf", "function")],
                      (128,), (1, 2, 4, 8)),
    },
    steps={"quick": (10, 15), "default": (15, 25), "full": (20, 60)},
))

_add(Case(
    name="inference",
    kind="infer",
    title="Inference latency at batch 1",
    claims=("C07",),
    workload="cnn_workload",
    grid={
        "quick": [("torch", "eager", 1, 1), ("tf", "function", 1, 1)],
        "default": [("torch", "eager", 1, 1), ("tf", "eager", 1, 1), ("torch", "compile", 1, 1),
                    ("tf", "function", 1, 1)],
        "full": [("torch", "eager", 1, 1), ("tf", "eager", 1, 1), ("torch", "compile", 1, 1),
                 ("tf", "function", 1, 1), ("tf", "xla", 1, 1)],
    },
    steps={"quick": (20, 300), "default": (50, 1000), "full": (100, 3000)},
))

_add(Case(
    name="input_pipeline",
    kind="train",
    title="Training step fed by each framework's input pipeline (DataLoader vs tf.data)",
    claims=("C07",),
    workload="input_pipeline",
    grid={
        "quick": [("torch", "eager", 128, 1), ("tf", "function", 128, 1)],
        "default": [("torch", "eager", 128, 1), ("tf", "function", 128, 1), ("torch", "compile", 128, 1),
                    ("tf", "fit", 128, 1)],
        "full": _grid(BEST_MODES, (32, 128, 512), (1,)),
    },
    steps={"quick": (10, 20), "default": (15, 40), "full": (20, 100)},
))

_add(Case(
    name="time_to_accuracy",
    kind="accuracy",
    title="Time to accuracy on real digits",
    claims=("C07",),
    workload="time_to_accuracy",
    grid={
        "quick": [("torch", "eager", 64, 1), ("tf", "function", 64, 1)],
        "default": [("torch", "eager", 64, 1), ("tf", "function", 64, 1)],
        "full": [("torch", "eager", 64, 1), ("tf", "function", 64, 1), ("torch", "compile", 64, 1),
                 ("tf", "xla", 64, 1)],
    },
    steps={p: (0, 0) for p in PROFILES},
    extra={"target": 0.95, "max_epochs": 40},
))


def job_spec(case: Case, config: tuple[str, str, int, int], profile: str, threads: int) -> dict:
    framework, mode, batch_size, width = config
    warmup, steps = case.steps[profile]
    spec = {
        "case": case.name, "kind": case.kind, "framework": framework, "mode": mode,
        "module": case.module(framework), "batch_size": batch_size, "width": width,
        "warmup": warmup, "steps": steps, "threads": threads,
        "expected_params": flops.trainable_params(max(width, 1)),
    }
    if case.kind == "ceiling":
        spec["matmul_size"] = case.extra["matmul_size"][profile]
        spec["copy_mb"] = case.extra["copy_mb"]
    if case.kind == "accuracy":
        spec["target"] = case.extra["target"]
        spec["max_epochs"] = case.extra["max_epochs"]
    return spec


def interleave(configs: list[tuple]) -> list[tuple]:
    """Order configurations A B A B ... across frameworks, so drift hits both (rule 2)."""
    by_fw = {fw: [c for c in configs if c[0] == fw] for fw in FRAMEWORKS}
    ordered = []
    while any(by_fw.values()):
        for fw in FRAMEWORKS:
            if by_fw[fw]:
                ordered.append(by_fw[fw].pop(0))
    return ordered
