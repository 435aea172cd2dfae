"""Where TensorFlow's step time goes: an op-level profile from TensorFlow's own profiler, and the kernels it dispatches to.

``profile_steps`` runs the benchmark workload's training step under the
TensorFlow profiler (after unprofiled warm-up), reads the trace it writes
(an ``.xplane.pb``, with the protobuf classes that ship inside TensorFlow)
and returns every op's *self* time, so the ops add up without double
counting; the engine reduces both frameworks' ops to the same buckets
(``scripts/engine/bench/op_buckets.py``). ``dispatch_probe`` starts a fresh
interpreter with oneDNN's verbose log on and reports which library and
instruction set fp32 matmul, fp32 convolution and bf16 matmul really run on.
The PyTorch twin is ``op_profile_torch.py``: same section names, same variable names.

>>> profile = profile_steps("eager", batch_size=4, width=1, warmup=1, steps=2, threads=1)
>>> profile["steps"], profile["wall_ns"] > 0
(2, True)
>>> names = {op["name"] for op in profile["ops"]}
>>> {"Conv2D", "Conv2DBackpropFilter"} <= names  # forward and backward conv kernels
True
>>> sum(op["self_ns"] for op in profile["ops"]) <= profile["wall_ns"]  # self times do not double count
True
>>> op_scope("gradient_tape/sequential_1/conv2d_1/convolution/Conv2DBackpropInput"), op_scope("adam/Sqrt_3")
('gradient_tape/sequential_1', 'adam')
>>> op_scope("StatefulPartitionedCall/adam/Sqrt_3")  # inside Keras fit's function call
'adam'
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
import time
from pathlib import Path

# --8<-- [start:profile]
import tensorflow as tf
from tensorflow.compiler.xla.service import hlo_pb2
from tensorflow.tsl.profiler.protobuf import xplane_pb2

from common import tiers  # reads a mode; tiers.call passes it to the workload functions that take one
from speed.profile_helpers import (
    format_dispatch,
    format_profile,
    log_cases,
    parse_probe,
    run_probe,
)


def profile_steps(mode: str, batch_size: int, width: int, warmup: int, steps: int, threads: int) -> dict:
    """Profile `steps` full training steps of the benchmark workload with the TensorFlow profiler."""
    from speed import cnn_workload_tf as work  # the same code the Speed page times

    tiers.call(work.configure, mode, threads)
    model = tiers.call(work.build, mode, width)
    X, y = tiers.call(work.make_batch, mode, batch_size)
    # The mode's execution: "fit-bf16" is Keras fit (common/tiers.py).
    execution = tiers.parse(mode).execution
    if execution in getattr(work, "LOOP_MODES", ()):  # Keras fit owns the loop: profile whole fit calls
        fit = work.make_fit(model, X, y)

        def run(n):
            fit(n, lambda: None, lambda loss: None)
    else:
        train_step = work.make_train_step(model, mode)

        def run(n):
            for _ in range(n):
                work.sync(train_step(X, y))
    run(warmup)  # tracing, XLA compilation and kernel selection happen here, unprofiled
    with tempfile.TemporaryDirectory() as logdir:
        tf.profiler.experimental.start(logdir)
        start = time.perf_counter_ns()
        run(steps)
        wall_ns = time.perf_counter_ns() - start
        tf.profiler.experimental.stop()
        (trace,) = Path(logdir).rglob("*.xplane.pb")  # one host, one trace
        ops = ops_from_xspace(trace.read_bytes())
    return {"framework": "tf", "mode": mode, "batch_size": batch_size, "steps": steps,
            "wall_ns": wall_ns, "ops": ops}


def ops_from_xspace(data: bytes) -> list[dict]:
    """Self time per (op, name scope) from an XSpace trace: an op's time minus the ops nested in it."""
    space = xplane_pb2.XSpace()
    space.ParseFromString(data)
    hlo = _hlo_labels(space)
    totals: dict[tuple[str, str], dict] = {}
    for plane in space.planes:
        stat_names = {key: stat.name for key, stat in plane.stat_metadata.items()}
        for line in plane.lines:  # one line per thread; events on a line nest, lines run side by side
            enclosing: list[tuple[int, dict]] = []
            for event in sorted(line.events, key=lambda e: (e.offset_ps, -e.duration_ps)):
                while enclosing and enclosing[-1][0] <= event.offset_ps:
                    enclosing.pop()
                key = _op_key(plane, event, stat_names, hlo)
                if key is None:  # runtime bookkeeping (executor, eager glue): its time stays in the parent
                    continue
                if enclosing:
                    enclosing[-1][1]["self_ps"] -= event.duration_ps
                op = totals.setdefault(key, {"name": key[0], "scope": key[1], "self_ps": 0, "count": 0})
                op["self_ps"] += event.duration_ps
                op["count"] += 1
                enclosing.append((event.offset_ps + event.duration_ps, op))
    ops = [{"name": op["name"], "scope": op["scope"], "self_ns": op["self_ps"] // 1000, "count": op["count"]}
           for op in totals.values()]
    return sorted(ops, key=lambda op: -op["self_ns"])
# --8<-- [end:profile]


# Kernels that only call a function: the function's own kernels are traced on their own.
CALL_OPS = {"PartitionedCall", "StatefulPartitionedCall", "While", "StatelessWhile", "If", "StatelessIf", "_XlaRun"}


def op_scope(op_name: str) -> str:
    """The part of a TF op name that says what it was for: 'adam', 'sequential_1', 'gradient_tape/<layer stack>'."""
    parts = op_name.split("/")
    while parts and re.fullmatch(r"(Stateful)?PartitionedCall(_\d+)?", parts[0]):
        parts = parts[1:]  # Keras fit calls its step function: the names inside start with the call's
    if len(parts) < 2:
        return ""
    return "/".join(parts[:2]) if parts[0] == "gradient_tape" and len(parts) > 2 else parts[0]


def _stats(plane, event, stat_names) -> dict:
    values = {}
    for stat in list(plane.event_metadata[event.metadata_id].stats) + list(event.stats):
        if stat.HasField("ref_value"):
            value = plane.stat_metadata[stat.ref_value].name
        else:
            value = getattr(stat, stat.WhichOneof("value")) if stat.WhichOneof("value") else None
        values[stat_names.get(stat.metadata_id, "")] = value
    return values


def _op_key(plane, event, stat_names, hlo) -> tuple[str, str] | None:
    """(op name as the trace reports it, scope), or None for an event that is not one op."""
    meta = plane.event_metadata[event.metadata_id]
    if meta.display_name and meta.name.endswith(":" + meta.display_name):
        # A graph kernel (tf.function, Keras fit): "<op name>:<kernel type>", e.g. "..../Relu:_MklNativeFusedConv2D".
        if meta.display_name in CALL_OPS or meta.display_name.startswith("__inference_"):
            return None  # a call of a (compiled) function: its own ops are traced on their own
        return meta.display_name, op_scope(meta.name.rsplit(":", 1)[0])
    stats = _stats(plane, event, stat_names)
    if "eager_op" in stats:
        # An eager op: its type only (eager ops have no names). A tf.function call is not an op (an
        # XLA-compiled one is not marked is_func, but keeps the function's "__inference_" name).
        if stats.get("is_func") or str(stats["eager_op"]).startswith("__inference_"):
            return None
        return str(stats["eager_op"]), ""
    if "hlo_op" in stats:  # an XLA instruction, labelled with the TF op it came from
        return hlo.get((stats.get("program_id"), stats["hlo_op"]), (re.sub(r"\.\d+$", "", stats["hlo_op"]), ""))
    return None


def _hlo_labels(space) -> dict[tuple[int, str], tuple[str, str]]:
    """(program id, instruction) -> ("<opcode or fusion kind> [<TF op type>]", scope), from the HLO in the trace."""
    labels = {}
    for plane in space.planes:
        stat_names = {key: stat.name for key, stat in plane.stat_metadata.items()}
        for program_id, meta in plane.event_metadata.items():  # the metadata plane keys modules by program id
            for stat in meta.stats:
                if stat_names.get(stat.metadata_id) != "Hlo Proto":
                    continue
                module = hlo_pb2.HloProto.FromString(stat.bytes_value).hlo_module
                computations = {computation.id: computation for computation in module.computations}
                for computation in module.computations:
                    for instruction in computation.instructions:
                        origin = instruction.metadata
                        for called in instruction.called_computation_ids:  # a fusion: its parts say
                            origin = origin if origin.op_type else next(
                                (inner.metadata for inner in computations[called].instructions
                                 if inner.metadata.op_type), origin)
                        kind = (re.sub(r"\.\d+$", "", instruction.name) if instruction.opcode == "fusion"
                                else instruction.opcode)
                        label = f"{kind} [{origin.op_type}]" if origin.op_type else kind
                        labels[(program_id, instruction.name)] = (label, op_scope(origin.op_name))
    return labels


# --8<-- [start:dispatch]
# Set before TensorFlow loads (oneDNN reads it once): every oneDNN primitive logs a line; log level 0
# keeps TF's own line saying whether its oneDNN custom ops are on.
VERBOSE_ENV = {"ONEDNN_VERBOSE": "1", "DNNL_VERBOSE": "1", "MKL_VERBOSE": "1", "TF_CPP_MIN_LOG_LEVEL": "0"}


def dispatch_probe() -> dict:
    """Which library and instruction set fp32 matmul, fp32 conv and bf16 matmul run on, from their own logs."""
    result = parse_tf_probe(run_probe(__file__, VERBOSE_ENV))
    result["onednn_opts"] = os.environ.get("TF_ENABLE_ONEDNN_OPTS", "unset (TensorFlow's default)")
    return result


def parse_tf_probe(lines) -> dict:
    """The oneDNN facts every probe has, plus what TensorFlow itself says about oneDNN and its own kernels."""
    result = parse_probe(lines, framework="tf")
    said = [line for line in lines if "oneDNN custom operations are" in line]
    result["onednn_custom_ops"] = "on" if any("are on" in line for line in said) else "off or not reported"
    # TF's own (non-oneDNN) kernels are compiled for a baseline ISA; it names the instructions they skip.
    guard = [line for line in lines if "To enable the following instructions" in line]
    result["tf_kernels_not_built_for"] = (
        guard[0].split("instructions:", 1)[1].split(", in other")[0].strip() if guard else "")
    result["raw"] = said[:1] + guard[:1] + result["raw"]
    return result


def _probe() -> None:
    """The probe's child: one small op of each kind, each after a marker line."""
    print("## onednn_opts_env", os.environ.get("TF_ENABLE_ONEDNN_OPTS", "unset"))
    a = tf.random.normal((512, 512))
    x = tf.random.normal((8, 28, 28, 32))  # NHWC, TensorFlow's layout on CPUs
    kernel = tf.random.normal((3, 3, 32, 64))
    matmul = tf.function(lambda a: tf.matmul(a, a))
    conv = tf.function(lambda x: tf.nn.conv2d(x, kernel, strides=1, padding="VALID"))
    cases = {
        "matmul_fp32": lambda: tf.matmul(a, a).numpy(),  # eager, as the ceiling case calls it
        "matmul_fp32_function": lambda: matmul(a).numpy(),  # in a graph, as a Dense layer in a step
        "conv_fp32": lambda: conv(x).numpy(),  # in a graph, as a training step runs it
    }
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists() and "avx512_bf16" in cpuinfo.read_text():  # bf16 only where the CPU has it
        cases["matmul_bf16"] = lambda: tf.matmul(tf.cast(a, tf.bfloat16), tf.cast(a, tf.bfloat16)).numpy()
    log_cases(cases)
# --8<-- [end:dispatch]


if __name__ == "__main__":
    if "--probe" in sys.argv:
        _probe()
        raise SystemExit
    print(format_profile(profile_steps("function", batch_size=32, width=1, warmup=2, steps=2, threads=1)))
    print("what the kernels' own logs say they ran on:\n" + format_dispatch(dispatch_probe()))
