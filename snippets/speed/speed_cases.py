"""The Speed page's benchmark cases (the engine finds them here: ``engine.pages``).

Each case times a workload pair of this folder; the claims it tests are the
ones whose ``cases`` name it in the claims table (``claims.toml``). The CNN, the Transformer and
the ResNet are measured in blocks (docs/method.md#noise-blocks): six screening rounds in the default
profile, more for the contenders up to each case's cap (#noise-adaptive); trend points and side
cases run fewer rounds, each of which says so with its ``repeats``.

>>> [case.name for case in CASES][:3]
['ceiling', 'headline', 'allocator']
>>> all(case.workload + "_torch.py" in {p.name for p in HERE.iterdir()} for case in CASES)
True
"""

from __future__ import annotations

from pathlib import Path

from engine.bench.cases import ALLOCATOR_VARIANTS, PROFILES, Case, grid

HERE = Path(__file__).resolve().parent

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
CASES: list[Case] = []  # in the order the build runs them


CASES.append(Case(
    name="ceiling",
    kind="ceiling",
    title="Machine ceiling: matmul and convolution throughput, copy bandwidth",
    workload="ceiling",
    model=None,
    grid={p: [("torch", "-", 0, 0), ("tf", "-", 0, 0)] for p in PROFILES},
    steps={"quick": (1, 5), "default": (1, 10), "full": (1, 20)},
    repeats={"default": 3},  # best-of figures, not medians: three processes per framework
    extra={"matmul_size": {"quick": 1024, "default": 2048, "full": 2048}, "copy_mb": 256},
))

CASES.append(Case(
    name="headline",
    kind="train",
    title="MNIST CNN training step: every tier of both frameworks, batch 128 and 512",
    workload="cnn_workload",
    grid={
        "quick": grid(BEST_MODES, (128, 512), (1,))
        + [("torch", "eager-cl-bf16", 128, 1), ("tf", "function-bf16", 128, 1)],
        "default": grid(TUNED_TIERS, (128,), (1,)) + grid(LARGE_BATCH_TIERS, (512,), (1,)),
        "full": grid(TUNED_TIERS, (32, 128, 256, 512), (1,)),
    },
    # Short processes, more of them (docs/method.md#noise): the warm-up stays at ten steps.
    steps={"quick": (10, 15), "default": (10, 15), "full": (20, 60)},
    # Blocks (docs/method.md#noise-blocks): each round, one process per framework and batch measures
    # all of its tiers. Six screening rounds (the fewest the paired rule can decide on), then more
    # only for each framework's best and runner-up per precision (#noise-adaptive), up to the cap.
    block=True,
    repeats={"default": 6, "full": 9},
    adaptive_cap={"default": 10, "full": 15},
    # Fidelity (#noise-blocks): each framework's fastest fp32 tier at batch 128, one tier per process.
    extra={"fidelity_rounds": {"default": 4, "full": 6}},
))

# The harness serves large blocks from the heap (see timed_env.py); this case runs the same steps
# under glibc's own defaults and under the harness's setting (cases.ALLOCATOR_VARIANTS).
CASES.append(Case(
    name="allocator",
    kind="train",
    title="Memory allocator: glibc's defaults vs the harness's setting",
    workload="cnn_workload",
    grid={
        # Quick: only the mode the setting was found to matter for; the default profile adds TF.
        "quick": [("torch", "eager", 512, 1)],
        "default": grid([("torch", "eager"), ("tf", "function")], (512,), (1,)),
        "full": grid([("torch", "eager"), ("tf", "function"), ("torch", "compile"), ("tf", "fit")],
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

def model_case(name: str, title: str, workload: str, tiers: list[tuple[str, str]], batches: tuple[int, int],
               size: int, quick: list[tuple[str, str]], steps: dict[str, tuple[int, int]], **options) -> Case:
    """A model's tier comparison at its default size (the Transformer, the ResNet): each framework's tiers
    at ``batches[0]``, in blocks of all of a framework's tiers (docs/method.md#noise-blocks), six
    screening rounds (the fewest the paired rule can decide on), more for the contenders up to the cap
    (#noise-adaptive). Each tier still pays its own tracing or compilation. The full profile adds TF
    eager and XLA in bf16 and a second batch."""
    return Case(
        name=name, kind="train", title=title, workload=workload,
        grid={"quick": grid(quick, batches[:1], (size,)),
              "default": grid(tiers, batches[:1], (size,)),
              "full": grid(tiers + [("tf", "eager"), ("tf", "xla-bf16")], batches, (size,))},
        steps=steps, block=True, repeats={"default": 6, "full": 9}, adaptive_cap={"default": 8, "full": 12},
        options=options,
    )


CASES.append(model_case(
    "transformer", "Transformer language model training step: each framework's tiers, real text",
    "transformer_workload", TRANSFORMER_TIERS, (8, 16), 2, quick=[("torch", "eager"), ("tf", "function")],
    steps={"quick": (2, 3), "default": (2, 5), "full": (5, 20)}, data="text"))

CASES.append(model_case(
    "resnet", "ResNet (CIFAR-shaped) training step: each framework's tiers, channels_last for PyTorch",
    "resnet_workload", RESNET_TIERS, (32, 128), 2, quick=[("torch", "eager-cl"), ("tf", "function")],
    steps={"quick": (2, 3), "default": (2, 6), "full": (5, 20)}))

# Memory and per-step overhead as the model grows (C02, C09, C16): the Transformer from 1.5 M to
# 29 M parameters, eager against each framework's compiled step, on synthetic ids (the sizes'
# shapes matter, not the text). Trend points, not decisive comparisons: fewer processes.
SWEEP_MODES = [("torch", "eager"), ("tf", "eager"), ("torch", "compile"), ("tf", "function")]

CASES.append(Case(
    name="size_sweep",
    kind="train",
    title="Model-size sweep: Transformer memory and step time, eager vs compiled",
    workload="transformer_workload",
    grid={
        "quick": grid([("torch", "eager"), ("tf", "function")], (8,), (1, 2)),
        "default": grid(SWEEP_MODES, (8,), (1, 2, 3)),
        "full": grid(SWEEP_MODES, (8,), (1, 2, 3)),
    },
    steps={"quick": (2, 3), "default": (2, 3), "full": (3, 15)},
    repeats={"default": 1, "full": 4},  # trend points, not decisive comparisons (the page says so)
    options={"data": "synthetic"},
))

CASES.append(Case(
    name="inference",
    kind="infer",
    title="Inference latency at batch 1",
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
    block=True,  # one process per framework and round (docs/method.md#noise-blocks)
))

CASES.append(Case(
    name="input_pipeline",
    kind="train",
    title="Training step fed by each framework's input pipeline (DataLoader vs tf.data)",
    workload="input_pipeline",
    model="cnn_workload",
    grid={
        "quick": [("torch", "eager", 128, 1), ("tf", "function", 128, 1)],
        "default": [("torch", "eager", 128, 1), ("tf", "function", 128, 1), ("torch", "compile-cl", 128, 1),
                    ("tf", "fit", 128, 1)],
        "full": grid(BEST_MODES, (32, 128, 512), (1,)),
    },
    steps={"quick": (10, 15), "default": (10, 20), "full": (20, 60)},
    repeats={"default": 3},  # read beside the headline rows, not decided on its own
    block=True,  # one process per framework and round (docs/method.md#noise-blocks)
))

CASES.append(Case(
    name="time_to_accuracy",
    kind="accuracy",
    title="Time to accuracy on real digits",
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
CASES.append(Case(
    name="op_profile",
    kind="profile",
    title="Op-level profile of one training step, each framework's own profiler",
    workload="op_profile",
    model="cnn_workload",
    grid={
        "quick": [("torch", "eager", 128, 1), ("tf", "fit", 128, 1)],
        "default": grid(FP32_TIERS + BF16_TIERS, (128,), (1,)),
        "full": grid(TUNED_TIERS, (128,), (1,)),
    },
    steps={"quick": (10, 5), "default": (10, 10), "full": (10, 20)},
    repeats={"quick": 1, "default": 1, "full": 1},  # a breakdown, not a timing: one process per tier
))

# Which library and instruction set each framework's kernels dispatch to: evidence for the ceilings.
CASES.append(Case(
    name="dispatch",
    kind="probe",
    title="Kernel dispatch: the library and instruction set behind each framework's matmul and convolution",
    workload="op_profile",
    model=None,
    grid={p: [("torch", "-", 0, 0), ("tf", "-", 0, 0)] for p in PROFILES},
    steps={p: (0, 0) for p in PROFILES},
    repeats={"quick": 1, "default": 1, "full": 1},
))
