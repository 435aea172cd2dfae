"""Synthetic result files for the tests: every case, plausible shapes, no timing involved.

The numbers are made up on purpose (seeded random draws around fixed
centres) and never reach the site: only tests call this.
"""

from __future__ import annotations

import numpy as np

from common import tiers
from engine import environment, machine
from engine.bench import cases as cases_mod
from engine.bench import harness, store, timed_env
from engine.bench.cases import CASES

_CENTRES_MS = {("torch", "eager"): 10.0, ("torch", "compile"): 8.0, ("torch", "autotune"): 8.5,
               ("torch", "cudagraphs"): 6.0, ("tf", "eager"): 20.0, ("tf", "function"): 9.0,
               ("tf", "xla"): 7.0, ("tf", "fit"): 12.0}
# How a layout or precision moves the fixture's centre (made up, like the centres).
_CHANNELS_LAST, _BF16 = 0.8, 0.6


def centre_ms(fw: str, mode: str) -> float:
    tier = tiers.parse(mode) if mode != "-" else tiers.Tier("-", False, "fp32")
    centre = _CENTRES_MS.get((fw, tier.execution), 10.0)
    return centre * (_CHANNELS_LAST if tier.channels_last else 1.0) * (_BF16 if tier.precision == "bf16" else 1.0)


# Under glibc's malloc defaults (the allocator case's first variant) PyTorch eager is
# made slower, as measured; TF is left alone.
_DEFAULT_MALLOC_SLOWDOWN = {("torch", "eager"): 1.5}


def _run(fw, mode, batch, width, repeat, rng, kind, slowdown=1.0, described=None) -> dict:
    run = {"framework": fw, "mode": mode, "batch_size": batch, "width": width, "repeat": repeat,
           "ok": True, "wall_s": 1.0, "peak_rss_bytes": int((300 + 50 * width**2) * 2**20)}
    centre = centre_ms(fw, mode) * max(batch, 1) / 32 * width * slowdown
    samples = [int(x * 1e6) for x in rng.normal(centre, centre * 0.02, size=30).clip(centre * 0.5)]
    if kind == "train":
        run["result"] = {"params": described.trainable_params(width), "first_step_ns": 10**9,
                         "train_step_flops": described.train_step_flops(batch, width),
                         "items_per_sample": described.items_per_sample(width),
                         "samples_ns": samples, "rss_baseline_bytes": 250 * 2**20, "import_ns": 10**9,
                         "build_ns": 10**8, "loss_first": 2.3, "loss_last": 2.0}
    elif kind == "infer":
        run["result"] = {"params": described.trainable_params(width), "import_ns": 10**9, "build_ns": 10**8,
                         "first_call_ns": 10**7, "samples_ns": samples}
    elif kind == "profile":
        run["result"] = _recorded_profile(fw, mode, batch)
    elif kind == "probe":
        run["result"] = {"framework": fw, "raw": ["fixture line"],
                         "matmul_fp32": {"library": "MKL" if fw == "torch" else "oneDNN", "primitive": "gemm",
                                         "isa": "AVX-512"}}
    elif kind == "accuracy":
        run["result"] = {"reached": True, "target": 0.95, "test_accuracy": 0.96, "steps": 200, "epochs": 9,
                         "train_seconds": centre / 2, "dataset": "fixture digits", "batch_size": batch}
    else:
        run["result"] = {"matmul_size": 1024, "matmul_float32_flops": 1.0e11 if fw == "tf" else 0.9e11,
                         "conv_float32_flops": 0.8e11, "matmul_bfloat16_flops": 3.0e11,
                         "conv_bfloat16_flops": 2.5e11, "copy_bytes_per_s": 1.0e10}
    return run


def _recorded_profile(fw: str, mode: str, batch: int) -> dict:
    """A profile shaped like the real ones: conv, optimizer and loss ops whose times follow the centre."""
    centre = centre_ms(fw, mode) * batch / 32 * 1e6
    names = {"torch": ("aten::mkldnn_convolution", "aten::convolution_backward", "aten::_foreach_add_",
                       "aten::relu"),
             "tf": ("_MklNativeFusedConv2D", "Conv2DBackpropFilter", "ResourceApplyAdam", "Relu")}[fw]
    shares = (0.3, 0.4, 0.1, 0.1)
    return {"framework": fw, "mode": mode, "batch_size": batch, "steps": 5, "wall_ns": int(5 * centre),
            "ops": [{"name": n, "scope": "", "self_ns": int(5 * centre * s), "count": 5}
                    for n, s in zip(names, shares, strict=True)]}


def synthetic_result(case_name: str, machine_id: str | None = None, seed: int = 0, profile: str = "default",
                     repeats: int = 4, capabilities: dict | None = None, fingerprint: dict | None = None) -> dict:
    """A result of ``repeats`` processes per configuration of ``profile`` on a CPU with ``capabilities``.

    Measured on this machine by default; on the machine of ``fingerprint`` (engine.machine) where given.
    A ``machine_id`` alone names another machine whose manifest predates fingerprints.
    """
    case = CASES[case_name]
    rng = np.random.default_rng(seed)
    capabilities = capabilities or environment.capabilities("cpu", flags=frozenset({"avx512_bf16"}))
    runs = []
    for repeat in range(1 if case.kind in ("profile", "probe") else repeats):  # as the cases run them
        for config in case.configs(profile, capabilities):
            for variant in case.variants or [None]:
                default_malloc = variant == cases_mod.GLIBC_DEFAULTS
                run = _run(*config, repeat, rng, case.kind,
                           slowdown=_DEFAULT_MALLOC_SLOWDOWN.get(config[:2], 1.0) if default_malloc else 1.0,
                           described=case.description)
                runs.append({**run, "variant": variant} if variant else run)
    manifest = environment.manifest("cpu")
    if fingerprint is not None:
        manifest["fingerprint"] = fingerprint
        machine_id = machine_id or machine.machine_id(fingerprint)
    elif machine_id and machine_id != manifest["machine_id"]:
        del manifest["fingerprint"]
    manifest.update({"machine_id": machine_id or environment.machine_id("cpu"),
                     "timestamp": "2026-01-01T00:00:00+00:00", "versions": store.current_versions(),
                     "threads": {"intra_op": 2, "inter_op": 2, "OMP_NUM_THREADS": 2},
                     "load_average_before": [0.1, 0.1, 0.1], "git_commit": "0" * 40,
                     "child_env": timed_env.recorded("cpu", 2), "capabilities": capabilities})
    if case.variants:
        manifest["child_env_variants"] = harness.recorded_variants("cpu", 2, case.variants)
    return {"schema_version": store.SCHEMA_VERSION, "case": case_name, "title": case.title, "kind": case.kind,
            "claims": list(case.claims), "profile": profile, "status": "ok", "manifest": manifest,
            "code_hash": store.case_code_hash(case), "runs": runs}


def write_all(root, machine_id: str | None = None) -> str:
    machine_id = machine_id or environment.machine_id("cpu")
    for name in CASES:
        store.save(synthetic_result(name, machine_id), store.result_path(name, machine_id, root))
    return machine_id


FRAMEWORKS = cases_mod.FRAMEWORKS
