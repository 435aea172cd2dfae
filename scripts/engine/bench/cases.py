"""The benchmark cases: which workload, which modes, which sizes, per profile.

A case is a set of configurations of one workload pair in ``snippets/speed``.
Each (framework, configuration, repeat) becomes one job, run in its own
process by the harness. Profiles trade time for confidence:

* ``quick``  one process per configuration, few steps, the sizes that matter most;
* ``default`` nine short processes per CNN configuration at batch 128 (docs/method.md#noise),
  four (the fewest that can decide) for batch 512, the Transformer and the ResNet, fewer for
  trend points and side cases, each of which says so with its ``repeats``;
* ``full``   fifteen, more steps and sizes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from common import tiers
from engine import paths
from engine.bench import workload as workload_contract

PROFILES = ("quick", "default", "full")
FRAMEWORKS = ("torch", "tf")
FRAMEWORK_LABELS = {"torch": "PyTorch", "tf": "TensorFlow"}

# Rule 11: every row names its mode and tier. A mode is "<execution>[-cl][-bf16|-tf32]"
# (common/tiers.py); its label is built from those parts, so every mode has exactly one.
EXECUTION_LABELS = {
    ("torch", "eager"): "PyTorch eager",
    ("torch", "compile"): "PyTorch torch.compile",
    ("torch", "autotune"): "PyTorch torch.compile max-autotune-no-cudagraphs",
    ("torch", "cudagraphs"): "PyTorch torch.compile reduce-overhead (CUDA graphs)",
    ("tf", "eager"): "TF eager (GradientTape, no tf.function)",
    ("tf", "function"): "TF tf.function",
    ("tf", "xla"): "TF tf.function(jit_compile=True) (XLA)",
    ("tf", "fit"): "Keras fit (compile defaults)",
}
PRECISION_LABELS = {
    ("torch", "bf16"): "bf16 autocast", ("tf", "bf16"): "mixed_bfloat16",
    ("torch", "tf32"): "TF32", ("tf", "tf32"): "TF32",
}
# Executions a newcomer's first training loop runs; everything else is tuned.
OUT_OF_THE_BOX = {("torch", "eager"), ("tf", "eager"), ("tf", "fit")}


def mode_label(framework: str, mode: str) -> str:
    tier = tiers.parse(mode)
    parts = [EXECUTION_LABELS[(framework, tier.execution)]]
    if tier.channels_last:
        parts.append("channels_last")
    if tier.precision != "fp32":
        parts.append(PRECISION_LABELS[(framework, tier.precision)])
    return ", ".join(parts)


def tier_of(framework: str, mode: str) -> str:
    """out-of-the-box: a default loop in fp32 and the default layout; tuned: anything the user opts into."""
    tier = tiers.parse(mode)
    default = (framework, tier.execution) in OUT_OF_THE_BOX and not tier.channels_last and tier.precision == "fp32"
    return "out-of-the-box" if default else "tuned"


def is_compiled(framework: str, mode: str) -> bool:
    return tiers.parse(mode).execution != "eager"


def precision_of(mode: str) -> str:
    return tiers.parse(mode).precision


REPEATS = {"quick": 1, "default": 9, "full": 15}  # docs/method.md#noise: at least 9 in the default profile
TIMEOUT_S = {"quick": 300, "default": 600, "full": 900}


@dataclass(frozen=True)
class Case:
    name: str
    kind: str  # train | infer | accuracy | ceiling | profile | probe
    title: str
    claims: tuple[str, ...]
    workload: str  # module stem in snippets/speed without the _torch/_tf suffix
    # profile -> list of (framework, mode, batch_size, width)
    grid: dict[str, list[tuple[str, str, int, int]]]
    # profile -> (warmup, steps)
    steps: dict[str, tuple[int, int]]
    # name -> environment overrides for the timed process (None removes a variable). A case
    # with variants runs each configuration once per variant, back to back, so a comparison
    # between variants sees the same machine at the same moment.
    variants: dict[str, dict[str, str | None]] = field(default_factory=dict)
    # profile -> processes per configuration, where the case departs from REPEATS (the page says so)
    repeats: dict[str, int] = field(default_factory=dict)
    extra: dict = field(default_factory=dict)
    # The model the case times, described in snippets/speed/<model>.py (engine.bench.workload); None
    # for a case that times no model (the ceiling). Defaults to the workload's own description.
    model: str | None = ""
    # Options the workload's functions take beyond the mode (the Transformer's ``data``).
    options: dict = field(default_factory=dict)
    # profile -> processes for configurations at a batch size, where they depart from processes()
    batch_repeats: dict[str, dict[int, int]] = field(default_factory=dict)

    def module(self, framework: str) -> str:
        return f"speed.{self.workload}_{framework}"

    def files(self) -> list[Path]:
        return [paths.SNIPPETS_DIR / "speed" / f"{self.workload}_{fw}.py" for fw in FRAMEWORKS]

    def processes(self, profile: str, batch_size: int | None = None) -> int:
        by_batch = self.batch_repeats.get(profile, {})
        if batch_size in by_batch:
            return by_batch[batch_size]
        return self.repeats.get(profile, REPEATS[profile])

    @property
    def description(self):
        """The model's description module (engine.bench.workload.Description), or None."""
        name = self.workload if self.model == "" else self.model
        return workload_contract.describe(name) if name else None

    def configs(self, profile: str, capabilities: dict | None = None) -> list[tuple[str, str, int, int]]:
        """The profile's configurations the device can run (a bf16 row needs bf16 hardware)."""
        if capabilities is None:
            return list(self.grid[profile])
        return [c for c in self.grid[profile] if supported(c[1], capabilities)]

    def absent(self, profile: str, capabilities: dict) -> list[tuple[tuple[str, str, int, int], str]]:
        """Configurations left out on this device, each with the capability check's reason."""
        return [(c, capabilities[missing]["evidence"]) for c in self.grid[profile]
                if (missing := missing_capability(c[1], capabilities))]


def missing_capability(mode: str, capabilities: dict) -> str | None:
    """The capability ``mode`` needs that the device lacks (None when it can run)."""
    if mode == "-":
        return None
    tier = tiers.parse(mode)
    needs = (["cuda_graphs"] if tier.execution == "cudagraphs" else []) + \
        ([tier.precision] if tier.precision != "fp32" else [])
    return next((need for need in needs if not capabilities.get(need, {}).get("available")), None)


def supported(mode: str, capabilities: dict) -> bool:
    """Whether the device has what ``mode`` needs; capabilities come from environment.capabilities."""
    return missing_capability(mode, capabilities) is None


def _grid(modes, batches, widths):
    return [(fw, mode, b, w) for w in widths for b in batches for fw, mode in modes]


# Each framework at its best (docs/method.md#tiers): the tuning each framework's own guides give for a convnet.
# PyTorch: channels_last and torch.compile (default and max-autotune) on CPUs and GPUs, CUDA graphs
# on GPUs; TensorFlow: tf.function, XLA and Keras fit. Mixed precision on both where the hardware
# has it, TF32 as its own row on GPUs. The renderer picks each framework's fastest from these.
FP32_TIERS = [("torch", "eager"), ("tf", "eager"), ("torch", "eager-cl"), ("tf", "function"),
              ("torch", "compile"), ("tf", "xla"), ("torch", "compile-cl"), ("tf", "fit"),
              ("torch", "autotune-cl")]
BF16_TIERS = [("torch", "eager-cl-bf16"), ("tf", "function-bf16"), ("torch", "compile-cl-bf16"),
              ("tf", "xla-bf16"), ("tf", "fit-bf16")]
GPU_TIERS = [("torch", "cudagraphs-cl"), ("torch", "cudagraphs-cl-bf16"), ("torch", "compile-cl-tf32"),
             ("tf", "function-tf32"), ("tf", "xla-tf32")]
TUNED_TIERS = FP32_TIERS + BF16_TIERS + GPU_TIERS
# At the larger batch every tier that can be a framework's fastest or is its out-of-the-box
# setup. Left out, to keep the default profile in budget: PyTorch's NCHW torch.compile, which
# channels_last supersedes, and TF eager, which is neither; both are measured at batch 128,
# where the eager-vs-compiled question (C03) is asked.
LARGE_BATCH_TIERS = [t for t in TUNED_TIERS if t not in (("torch", "compile"), ("tf", "eager"))]
BEST_MODES = [("torch", "eager"), ("tf", "function"), ("torch", "compile-cl"), ("tf", "fit")]
CASES: dict[str, Case] = {}


def _add(case: Case) -> None:
    CASES[case.name] = case


_add(Case(
    name="ceiling",
    kind="ceiling",
    title="Machine ceiling: matmul and convolution throughput, copy bandwidth",
    claims=("C08", "C19"),
    workload="ceiling",
    model=None,
    grid={p: [("torch", "-", 0, 0), ("tf", "-", 0, 0)] for p in PROFILES},
    steps={"quick": (1, 5), "default": (1, 10), "full": (1, 20)},
    repeats={"default": 3},  # best-of figures, not medians: three processes per framework
    extra={"matmul_size": {"quick": 1024, "default": 2048, "full": 2048}, "copy_mb": 256},
))

_add(Case(
    name="headline",
    kind="train",
    title="MNIST CNN training step: every tier of both frameworks, batch 128 and 512",
    claims=("C03", "C07", "C08", "C16", "C19"),
    workload="cnn_workload",
    grid={
        "quick": _grid(BEST_MODES, (128, 512), (1,))
        + [("torch", "eager-cl-bf16", 128, 1), ("tf", "function-bf16", 128, 1)],
        "default": _grid(TUNED_TIERS, (128,), (1,)) + _grid(LARGE_BATCH_TIERS, (512,), (1,)),
        "full": _grid(TUNED_TIERS, (32, 128, 256, 512), (1,)),
    },
    # Short processes, more of them (docs/method.md#noise): the warm-up stays at ten steps.
    steps={"quick": (10, 15), "default": (10, 15), "full": (20, 60)},
    # Batch 512 asks how the ranking holds as the batch grows; four processes a row, the fewest
    # that can decide (docs/method.md#noise-rule), to leave the default profile's time for the
    # Transformer and the ResNet.
    batch_repeats={"default": {512: 4}},
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
        # Quick: only the mode the setting was found to matter for; the default profile adds TF.
        "quick": [("torch", "eager", 512, 1)],
        "default": _grid([("torch", "eager"), ("tf", "function")], (512,), (1,)),
        "full": _grid([("torch", "eager"), ("tf", "function"), ("torch", "compile"), ("tf", "fit")],
                      (128, 512), (1,)),
    },
    steps={"quick": (10, 15), "default": (10, 20), "full": (20, 60)},
    variants=ALLOCATOR_VARIANTS,
    repeats={"default": 4},  # the fewest that can decide whether the setting matters (docs/method.md#noise-rule)
))

# The models people train now (docs/method.md#workloads): each framework's tiers on a Transformer
# language model and a CIFAR-shaped ResNet, at their default sizes. TF eager is left out here (it
# is neither TensorFlow's out-of-the-box loop, which is Keras fit, nor a candidate for its fastest);
# the CNN measures it.
TRANSFORMER_TIERS = [("torch", "eager"), ("tf", "function"), ("torch", "compile"), ("tf", "xla"),
                     ("torch", "eager-bf16"), ("tf", "fit"), ("torch", "compile-bf16"), ("tf", "function-bf16")]
RESNET_TIERS = [("torch", "eager"), ("tf", "function"), ("torch", "eager-cl"), ("tf", "xla"),
                ("torch", "compile-cl"), ("tf", "fit"), ("torch", "eager-cl-bf16"), ("tf", "function-bf16"),
                ("torch", "compile-cl-bf16")]

_add(Case(
    name="transformer",
    kind="train",
    title="Transformer language model training step: each framework's tiers, real text",
    claims=("C07", "C08", "C19"),
    workload="transformer_workload",
    grid={
        "quick": [("torch", "eager", 8, 2), ("tf", "function", 8, 2)],
        "default": _grid(TRANSFORMER_TIERS, (8,), (2,)),
        "full": _grid(TRANSFORMER_TIERS + [("tf", "eager"), ("tf", "xla-bf16")], (8, 16), (2,)),
    },
    steps={"quick": (2, 3), "default": (2, 5), "full": (5, 20)},
    # Four processes a row, the fewest that can decide (docs/method.md#noise-rule): every process
    # pays TensorFlow's import, and a compiled tier its compilation, before its first timed step.
    repeats={"default": 4},
    options={"data": "text"},
))

_add(Case(
    name="resnet",
    kind="train",
    title="ResNet (CIFAR-shaped) training step: each framework's tiers, channels_last for PyTorch",
    claims=("C07", "C08", "C19"),
    workload="resnet_workload",
    grid={
        "quick": [("torch", "eager-cl", 32, 2), ("tf", "function", 32, 2)],
        "default": _grid(RESNET_TIERS, (32,), (2,)),
        "full": _grid(RESNET_TIERS + [("tf", "eager"), ("tf", "xla-bf16")], (32, 128), (2,)),
    },
    steps={"quick": (2, 3), "default": (2, 6), "full": (5, 20)},
    repeats={"default": 4},  # the fewest that can decide (docs/method.md#noise-rule), as for the Transformer
))

# Memory and per-step overhead as the model grows (C02, C09, C16): the Transformer from 1.5 M to
# 29 M parameters, eager against each framework's compiled step, on synthetic ids (the sizes'
# shapes matter, not the text). Trend points, not decisive comparisons: fewer processes.
SWEEP_MODES = [("torch", "eager"), ("tf", "eager"), ("torch", "compile"), ("tf", "function")]

_add(Case(
    name="size_sweep",
    kind="train",
    title="Model-size sweep: Transformer memory and step time, eager vs compiled",
    claims=("C02", "C09", "C16"),
    workload="transformer_workload",
    grid={
        "quick": _grid([("torch", "eager"), ("tf", "function")], (8,), (1, 2)),
        "default": _grid(SWEEP_MODES, (8,), (1, 2, 3)),
        "full": _grid(SWEEP_MODES, (8,), (1, 2, 3)),
    },
    steps={"quick": (2, 3), "default": (2, 3), "full": (3, 15)},
    repeats={"default": 1, "full": 4},  # trend points, not decisive comparisons (the page says so)
    options={"data": "synthetic"},
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
    repeats={"default": 3},  # a thousand calls per process: latency percentiles, not a ratio test
))

_add(Case(
    name="input_pipeline",
    kind="train",
    title="Training step fed by each framework's input pipeline (DataLoader vs tf.data)",
    claims=("C07",),
    workload="input_pipeline",
    model="cnn_workload",
    grid={
        "quick": [("torch", "eager", 128, 1), ("tf", "function", 128, 1)],
        "default": [("torch", "eager", 128, 1), ("tf", "function", 128, 1), ("torch", "compile-cl", 128, 1),
                    ("tf", "fit", 128, 1)],
        "full": _grid(BEST_MODES, (32, 128, 512), (1,)),
    },
    steps={"quick": (10, 15), "default": (10, 20), "full": (20, 60)},
    repeats={"default": 3},  # read beside the headline rows, not decided on its own
))

_add(Case(
    name="time_to_accuracy",
    kind="accuracy",
    title="Time to accuracy on real digits",
    claims=("C07",),
    workload="time_to_accuracy",
    model=None,
    grid={
        "quick": [("torch", "eager", 64, 1), ("tf", "function", 64, 1)],
        "default": [("torch", "eager", 64, 1), ("tf", "function", 64, 1)],
        "full": [("torch", "eager", 64, 1), ("tf", "function", 64, 1), ("torch", "compile", 64, 1),
                 ("tf", "xla", 64, 1)],
    },
    steps={p: (0, 0) for p in PROFILES},
    repeats={"default": 2},  # beside the step-time rows, not decided on its own
    extra={"target": 0.95, "max_epochs": 40},
))


# Where the time goes (docs/method.md#profile): one profiled process per tier at batch 128, in
# processes of their own because a profiler slows down what it watches. Every CPU tier is
# profiled, so whichever row the renderer finds fastest has its profile beside it.
_add(Case(
    name="op_profile",
    kind="profile",
    title="Op-level profile of one training step, each framework's own profiler",
    claims=("C07", "C08"),
    workload="op_profile",
    model="cnn_workload",
    grid={
        "quick": [("torch", "eager", 128, 1), ("tf", "fit", 128, 1)],
        "default": _grid(FP32_TIERS + BF16_TIERS, (128,), (1,)),
        "full": _grid(TUNED_TIERS, (128,), (1,)),
    },
    steps={"quick": (10, 5), "default": (10, 10), "full": (10, 20)},
    repeats={"quick": 1, "default": 1, "full": 1},  # a breakdown, not a timing: one process per tier
))

# Which library and instruction set each framework's kernels dispatch to: evidence for the ceilings.
_add(Case(
    name="dispatch",
    kind="probe",
    title="Kernel dispatch: the library and instruction set behind each framework's matmul and convolution",
    claims=("C08",),
    workload="op_profile",
    model=None,
    grid={p: [("torch", "-", 0, 0), ("tf", "-", 0, 0)] for p in PROFILES},
    steps={p: (0, 0) for p in PROFILES},
    repeats={"quick": 1, "default": 1, "full": 1},
))


def job_spec(case: Case, config: tuple[str, str, int, int], profile: str, threads: int,
             capabilities: dict | None = None) -> dict:
    framework, mode, batch_size, width = config
    warmup, steps = case.steps[profile]
    spec = {
        "case": case.name, "kind": case.kind, "framework": framework, "mode": mode,
        "module": case.module(framework), "batch_size": batch_size, "width": width,
        "warmup": warmup, "steps": steps, "threads": threads,
        "options": dict(case.options),
    }
    if (described := case.description) is not None and case.kind in ("train", "infer"):
        spec["expected_params"] = described.trainable_params(width)
        spec["expected_output_shape"] = list(described.output_shape(batch_size, width))
        spec["train_step_flops"] = described.train_step_flops(batch_size, width)
        spec["items_per_sample"] = described.items_per_sample(width)
    if case.kind == "ceiling":
        spec["matmul_size"] = case.extra["matmul_size"][profile]
        spec["copy_mb"] = case.extra["copy_mb"]
        spec["bf16"] = bool((capabilities or {}).get("bf16", {}).get("available"))
    if case.kind == "accuracy":
        spec["target"] = case.extra["target"]
        spec["max_epochs"] = case.extra["max_epochs"]
    return spec


def interleave(configs: list[tuple]) -> list[tuple]:
    """Order configurations A B A B ... across frameworks, so drift hits both (docs/method.md#noise-processes)."""
    by_fw = {fw: [c for c in configs if c[0] == fw] for fw in FRAMEWORKS}
    ordered = []
    while any(by_fw.values()):
        for fw in FRAMEWORKS:
            if by_fw[fw]:
                ordered.append(by_fw[fw].pop(0))
    return ordered
