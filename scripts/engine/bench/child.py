"""The timed process: runs one (framework, configuration, repeat), or one block of them, and writes JSON.

Started by the harness as ``python -m engine.bench.child SPEC.json OUT.json``
in a fresh interpreter. It imports exactly one framework (through the
workload snippet) and never the other one. Everything that keeps the
comparison fair lives here, once, for both frameworks: the same warm-up, a
device sync at every timing boundary, ``perf_counter_ns``, every sample kept.

A spec with a ``block`` (docs/method.md#noise-blocks) lists several modes of
one framework, batch and size: each is configured, warmed up, gated and
timed in turn, in the listed order (drawn by the harness), and the
process-wide settings a tier may change are put back after it and recorded
before and after, so the next tier starts from the same state.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time

from common import tiers

_PROCESS_START_NS = time.perf_counter_ns()


def _rss_bytes() -> int | None:
    """Current resident set size (a baseline; the peak comes from the parent's wait4)."""
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _nvml_process_memory() -> int | None:
    """Device memory NVML attributes to this process (CUDA only, best effort)."""
    try:
        import pynvml

        pynvml.nvmlInit()
        handle = pynvml.nvmlDeviceGetHandleByIndex(0)
        for proc in pynvml.nvmlDeviceGetComputeRunningProcesses(handle):
            if proc.pid == os.getpid():
                return int(proc.usedGpuMemory or 0)
    except Exception:  # noqa: BLE001 - NVML is optional and often absent
        return None
    return None


def _timed_loop(fn, sync, steps: int) -> list[int]:
    samples = []
    for _ in range(steps):
        start = time.perf_counter_ns()
        sync(fn())
        samples.append(time.perf_counter_ns() - start)
    return samples


def _call(fn, spec: dict, *args, **options):
    """Call a workload function with the spec's mode and the case's options it takes (engine.bench.workload)."""
    return tiers.call(fn, spec["mode"], *args, **spec.get("options", {}), **options)


def _processes_and_threads() -> dict:
    """Child processes and threads of this process: a tier that leaves a worker pool behind shows here."""
    try:
        tasks = os.listdir("/proc/self/task")
        children = set()
        for task in tasks:
            with open(f"/proc/self/task/{task}/children") as handle:
                children.update(handle.read().split())
        return {"threads": len(tasks), "child_processes": len(children)}
    except OSError:
        return {}


def _state(work) -> dict:
    """The process-wide settings a tier may change (Keras policy, XLA's JIT flag, matmul precision, autocast)."""
    return work.global_state()


def run_block(spec: dict, work, save) -> dict:
    """Each mode of ``spec["block"]`` in turn, as a process of its own would run it; ``save`` keeps
    the tiers done so far, so a crash or a timeout later in the block loses only the tiers after it."""
    if not (hasattr(work, "global_state") and hasattr(work, "restore_state")):
        raise TypeError(f"{spec['module']}: a workload measured in blocks defines global_state() and "
                        "restore_state(state), so each tier starts from the state the first one did")
    baseline = _state(work)
    done: list[dict] = []
    for position, mode in enumerate(spec["block"]):
        tier_spec = {**spec, "mode": mode}
        entry = {"mode": mode, "position": position, "before": _processes_and_threads(),
                 "state_before": _state(work)}
        start = time.perf_counter_ns()
        try:
            entry["settings"] = _call(work.configure, tier_spec, spec["threads"])
            entry["state_during"] = _state(work)
            entry["result"] = KINDS[spec["kind"]](tier_spec, work)
            entry["ok"] = True
        except Exception as error:  # noqa: BLE001 - one tier failing its gate does not sink the block
            entry["ok"], entry["reason"] = False, f"{type(error).__name__}: {error}"[:400]
        entry["tier_ns"] = time.perf_counter_ns() - start
        if hasattr(work, "restore_state"):
            work.restore_state(baseline)
        entry["state_after"] = _state(work)
        done.append(entry)
        save({"block": done, "baseline_state": baseline})
        if entry["state_after"] != baseline:  # the next tier would not start where this one did
            raise RuntimeError(f"{mode} left the process changed: {entry['state_after']} != {baseline}")
    return {"block": done, "baseline_state": baseline}


def run_train(spec: dict, work) -> dict:
    t0 = time.perf_counter_ns()
    model = _call(work.build, spec, spec["width"])
    params = work.count_trainable_params(model)
    if params != spec["expected_params"]:  # the workload's description says what to build
        raise AssertionError(f"{params} trainable parameters, expected {spec['expected_params']}")
    X, y = _call(work.make_batch, spec, spec["batch_size"], size=spec["width"])
    out = model(X)
    device_used = work.device_of(out)  # where the model really ran, checked against the table's label
    out_shape = tuple(work.to_numpy(out).shape)
    if list(out_shape) != spec["expected_output_shape"]:
        raise AssertionError(f"output shape {out_shape}, expected {tuple(spec['expected_output_shape'])}")
    if tiers.parse(spec["mode"]).execution in getattr(work, "LOOP_MODES", ()):
        fit = work.make_fit(model, X, y)
        build_ns = time.perf_counter_ns() - t0
        rss_baseline = _rss_bytes()
        timed = _time_framework_loop(fit, work, spec["warmup"], spec["steps"])
    else:
        train_step = work.make_train_step(model, spec["mode"])
        build_ns = time.perf_counter_ns() - t0
        rss_baseline = _rss_bytes()
        timed = _time_step_function(lambda: train_step(X, y), work, spec["warmup"], spec["steps"])
    if not timed["loss_last"] < timed["loss_first"]:
        raise AssertionError(f"loss did not fall: {timed['loss_first']:.4f} -> {timed['loss_last']:.4f}")
    return {
        "params": params,
        "output_shape": list(out_shape),
        "train_step_flops": spec["train_step_flops"],
        "device_used": device_used,
        "items_per_sample": spec["items_per_sample"],
        "build_ns": build_ns,
        **timed,
        "rss_baseline_bytes": rss_baseline,
        **work.memory_stats(),
    }


def _time_step_function(step, work, warmup: int, steps: int) -> dict:
    """The harness owns the loop: call the step, sync, read the clock."""
    start = time.perf_counter_ns()
    loss_first = work.sync(step())  # includes tracing / compilation
    first_ns = time.perf_counter_ns() - start
    for _ in range(warmup - 1):
        work.sync(step())
    work.reset_memory_stats()
    samples = _timed_loop(step, work.sync, steps)
    loss_last = work.sync(step())
    return {"first_step_ns": first_ns, "warmup_steps": warmup, "samples_ns": samples,
            "loss_first": loss_first, "loss_last": loss_last}


def _time_framework_loop(fit, work, warmup: int, steps: int) -> dict:
    """The framework owns the loop (Keras fit): the same clock, read in its per-batch hooks.

    ``fit(n, begin, end)`` runs n batches, calling ``begin()`` before each and
    ``end(loss)`` after it with the loss already materialized (the sync).
    Batch 0 is the first step, the next ``warmup - 1`` are warm-up, then
    ``steps`` timed ones and one more for the final loss, as in the other modes.
    """
    starts, samples, losses = [], [], []

    def begin():
        if len(samples) == warmup:
            work.reset_memory_stats()  # peaks after warm-up, as for the other modes
        starts.append(time.perf_counter_ns())

    def end(loss):
        samples.append(time.perf_counter_ns() - starts[-1])
        losses.append(loss)

    fit(warmup + steps + 1, begin, end)
    if len(samples) != warmup + steps + 1:
        raise AssertionError(f"the framework's loop ran {len(samples)} batches, expected {warmup + steps + 1}")
    return {"first_step_ns": samples[0], "warmup_steps": warmup, "samples_ns": samples[warmup:warmup + steps],
            "loss_first": losses[0], "loss_last": losses[-1]}


def run_infer(spec: dict, work) -> dict:
    t0 = time.perf_counter_ns()
    model = _call(work.build, spec, spec["width"])
    X, _ = _call(work.make_batch, spec, spec["batch_size"], size=spec["width"])
    predict = work.make_predict(model, spec["mode"])
    build_ns = time.perf_counter_ns() - t0
    rss_baseline = _rss_bytes()
    start = time.perf_counter_ns()
    out = predict(X)
    work.to_numpy(out)
    first_ns = time.perf_counter_ns() - start
    for _ in range(spec["warmup"] - 1):
        work.to_numpy(predict(X))
    samples = _timed_loop(lambda: predict(X), work.to_numpy, spec["steps"])
    return {
        "params": work.count_trainable_params(model),
        "build_ns": build_ns,
        "first_call_ns": first_ns,
        "device_used": work.device_of(out),
        "samples_ns": samples,
        "rss_baseline_bytes": rss_baseline,
    }


def run_accuracy(spec: dict, work) -> dict:
    return work.train_to_accuracy(
        mode=spec["mode"], target=spec["target"], batch_size=spec["batch_size"],
        max_epochs=spec["max_epochs"],
    )


def run_ceiling(spec: dict, work) -> dict:
    return work.measure(matmul_size=spec["matmul_size"], copy_mb=spec["copy_mb"], repeats=spec["steps"],
                        bf16=spec.get("bf16", False))


def run_profile(spec: dict, work) -> dict:
    """An op-level profile of the step (its own process: a profiler perturbs what it watches)."""
    return work.profile_steps(mode=spec["mode"], batch_size=spec["batch_size"], width=spec["width"],
                              warmup=spec["warmup"], steps=spec["steps"], threads=spec["threads"])


def run_probe(spec: dict, work) -> dict:
    """Which library and instruction set the framework's matmul and convolution dispatch to."""
    return work.dispatch_probe()


KINDS = {"train": run_train, "infer": run_infer, "accuracy": run_accuracy, "ceiling": run_ceiling,
         "profile": run_profile, "probe": run_probe}


def _write(out_path: str, result: dict) -> None:
    tmp = out_path + ".tmp"
    with open(tmp, "w") as handle:
        json.dump(result, handle)
    os.replace(tmp, out_path)


def main(spec_path: str, out_path: str) -> int:
    with open(spec_path) as handle:
        spec = json.load(handle)
    t_import = time.perf_counter_ns()
    work = importlib.import_module(spec["module"])  # imports one framework, only this one
    import_ns = time.perf_counter_ns() - t_import
    # Threads are pinned once, before any work. A block's process starts in the workload's default
    # precision (the state each tier is restored to); its tiers then configure their own.
    if not hasattr(work, "configure"):
        settings = {}
    elif "block" in spec:
        settings = work.configure(spec["threads"])
    else:
        settings = _call(work.configure, spec, spec["threads"])
    result = {
        "settings": settings,
        "interpreter_start_to_import_ns": t_import - _PROCESS_START_NS,
        "import_ns": import_ns,
        # What the C library's allocator was told (set by the harness, see timed_env.py).
        "glibc_tunables": os.environ.get("GLIBC_TUNABLES"),
    }
    if "block" in spec:
        result.update(run_block(spec, work, save=lambda so_far: _write(out_path, {**result, **so_far})))
    else:
        result.update(KINDS[spec["kind"]](spec, work))
    if settings.get("device") == "cuda":
        result["nvml_process_bytes"] = _nvml_process_memory()
    _write(out_path, {**result, "complete": True})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
