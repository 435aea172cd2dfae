"""Framework-free helpers for the op-profile pair (``op_profile_torch.py``, ``op_profile_tf.py``).

Both sides parse MKL's and oneDNN's verbose logs the same way and print a
profile the same way, so the parsing lives here once; this module imports no
framework, so each side's process still loads only its own.

>>> calls = parse_verbose([
...     "onednn_verbose,v1,primitive,exec,cpu,convolution,brg_conv_fwd:avx512_core,forward_training,src:f32",
...     "MKL_VERBOSE SGEMM(N,N,512,512,512,0x1,0x2,512,0x3,512,0x4,0x5,512) 1.20ms CNR:OFF Dyn:1 TID:0 NThr:2",
... ])
>>> [(call["library"], call["primitive"], call.get("isa")) for call in calls]
[('oneDNN', 'convolution', 'avx512_core'), ('MKL', 'SGEMM', None)]
>>> probe = parse_probe(["## blas mkl", "## case matmul_fp32", "MKL_VERBOSE SGEMM(N,N,2) 1ms", "## end matmul_fp32"])
>>> probe["blas"], probe["matmul_fp32"]["library"]
('mkl', 'MKL')
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path


def run_probe(script: str, verbose_env: dict) -> list[str]:
    """Run `script --probe` in a fresh interpreter with `verbose_env` set before any library loads; its output lines."""
    snippets = str(Path(__file__).resolve().parents[1])  # so the child imports speed.* like this process
    python_path = os.pathsep.join(filter(None, [snippets, os.environ.get("PYTHONPATH")]))
    env = {**os.environ, **verbose_env, "PYTHONPATH": python_path}
    run = subprocess.run([sys.executable, str(Path(script).resolve()), "--probe"],
                         env=env, capture_output=True, text=True, timeout=120, check=True)
    return run.stdout.splitlines() + run.stderr.splitlines()


def log_cases(cases: dict) -> None:
    """In the probe's child: run each case twice, marking the second call, so its log lines are the kernel's."""
    for name, fn in cases.items():
        fn()  # first call: primitive creation, JIT and cache lines
        print(f"## case {name}", flush=True)
        fn()  # second call: the kernel that really runs
        print(f"## end {name}", flush=True)


# "...,exec,cpu,<primitive>,<implementation>,": the implementation names the kernel and its ISA
# (brg_conv_fwd:avx512_core); oneDNN's BLAS-like gemm API logs an empty one.
_ONEDNN_RE = re.compile(r"^(?:onednn|dnnl)_verbose,.*?exec,cpu,([^,]+),([^,]*),")
_MKL_RE = re.compile(r"^MKL_VERBOSE\s+([A-Z_]\w*)\(")
# MKL's banner names the code path it picked for this CPU, e.g. "... 64 architecture Intel(R) Advanced
# Vector Extensions 2 (Intel(R) AVX2) enabled processors, Lnx ..." (on AMD CPUs it may pick a lower one).
_MKL_BANNER_RE = re.compile(r"^MKL_VERBOSE .*? architecture (.+?), Lnx")
_ONEDNN_ISA_RE = re.compile(r"^(?:onednn|dnnl)_verbose,.*\bcpu,isa:(.+)$")


def parse_verbose(lines) -> list[dict]:
    """The kernels MKL and oneDNN say they ran: one dict per oneDNN `exec` line or MKL call line."""
    calls = []
    for line in lines:
        if match := _ONEDNN_RE.match(line):
            impl = match.group(2)
            call = {"library": "oneDNN", "primitive": match.group(1), "impl": impl}
            if impl:
                call["isa"] = impl.split(":", 1)[1] if ":" in impl else impl
            calls.append(call)
        elif match := _MKL_RE.match(line):
            calls.append({"library": "MKL", "primitive": match.group(1)})
    return calls


def parse_probe(lines, framework: str = "") -> dict:
    """Facts per probe case, from the verbose lines printed between its markers, plus a few lines verbatim."""
    result: dict = {"framework": framework, "raw": []}
    current = None
    case_lines: dict[str, list[str]] = {}
    for line in lines:
        if line.startswith("## case "):
            current = line.removeprefix("## case ").strip()
            case_lines[current] = []
        elif line.startswith("## end "):
            current = None
        elif line.startswith("## "):  # the build's own facts: "## <key> <text>"
            key, _, text = line.removeprefix("## ").partition(" ")
            result[key] = text.strip()
        elif current is not None:
            case_lines[current].append(line)
        for key, pattern in (("mkl_isa", _MKL_BANNER_RE), ("onednn_isa", _ONEDNN_ISA_RE)):
            if key not in result and (match := pattern.match(line)):
                result[key] = match.group(1).strip()
                result["raw"].append(line)
    for case, body in case_lines.items():
        # A reorder is oneDNN moving data between layouts; the case's own kernel is the other call.
        calls = [call for call in parse_verbose(body) if call["primitive"] != "reorder"]
        result[case] = dict(calls[0]) if calls else {"library": "none logged (neither MKL nor oneDNN logged a call)"}
        # Where a call line names no ISA, the library's own banner says which code path it dispatches to.
        if calls and "isa" not in calls[0]:
            banner = "mkl_isa" if calls[0]["library"] == "MKL" else "onednn_isa"
            if banner in result:
                result[case]["isa"] = result[banner]
                result[case]["isa_from"] = f"{calls[0]['library']}'s banner line (the call line names no kernel)"
        result["raw"] += [line for line in body if _ONEDNN_RE.match(line) or _MKL_RE.match(line)][:3]
    return result


def format_profile(profile: dict, top: int = 8) -> str:
    """A short table of the ops with the most self time per step, scopes merged."""
    by_name: dict[str, list[int]] = {}
    for op in profile["ops"]:
        total = by_name.setdefault(op["name"], [0, 0])
        total[0] += op["self_ns"]
        total[1] += op["count"]
    steps = profile["steps"]
    lines = [f"{profile['framework']} {profile['mode']}, batch {profile['batch_size']}: "
             f"{profile['wall_ns'] / steps / 1e6:.1f} ms per step, top ops by self time per step:"]
    for name, (self_ns, count) in sorted(by_name.items(), key=lambda item: -item[1][0])[:top]:
        lines.append(f"  {self_ns / steps / 1e6:7.2f} ms  {count / steps:4.0f}x  {name}")
    return "\n".join(lines)


def format_dispatch(probe: dict) -> str:
    cases = [key for key, value in probe.items() if isinstance(value, dict) and "library" in value]
    return "\n".join(f"  {case}: {probe[case]['library']} {probe[case].get('primitive', '')} "
                     f"{probe[case].get('impl') or ''} [{probe[case].get('isa', 'ISA not logged')}]".replace("  [", " [")
                     for case in cases)
