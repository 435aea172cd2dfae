"""``regen.py doctor``: is this builder sane? One check per thing that has broken or skewed a build.

``gather()`` reads the facts (interpreters, each framework's probe run under its
own interpreter, nvidia-smi, threads and allocator variables, memory, load)
into one JSON-able dict; ``diagnose(facts)`` turns them into findings. Keeping
the two apart lets the tests feed recorded facts (``tests/fixtures/doctor/``)
for the GPU cases a CPU machine cannot produce, and lets a GPU maintainer
record theirs with ``regen.py doctor --save facts.json``.
"""

from __future__ import annotations

import os
import platform
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

FACTS_SCHEMA = 1
THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS")
ALLOCATOR_VARS = ("LD_PRELOAD", "GLIBC_TUNABLES", "MALLOC_ARENA_MAX", "PYTORCH_CUDA_ALLOC_CONF",
                  "TF_GPU_ALLOCATOR", "TF_FORCE_GPU_ALLOW_GROWTH", "CUDA_VISIBLE_DEVICES")
MALLOC_PRELOAD_RE = re.compile(r"(jemalloc|tcmalloc|mimalloc)")
# Below this much free memory, a TF snippet beside a torch snippet (GUIDE_JOBS=2) can be OOM-killed.
MIN_FREE_MEMORY_BYTES = 3 * 2**30
# Another process holding more than this of the GPU shares the card with the timed processes.
MAX_FOREIGN_GPU_BYTES = 512 * 2**20
# The harness's own threshold (engine.bench.harness.wait_for_quiet).
QUIET_CORES = 0.25
FIX_ENVS = "give each framework its own environment: make site GPU=1 (sets GUIDE_PYTHON_TORCH and GUIDE_PYTHON_TF)"
# Libraries whose two copies in one process, or one environment, break CUDA (matched on the file name).
LIBRARY_STEM_RE = re.compile(r"^(lib[A-Za-z_]+?)(?:\.so)")
WHEEL_CUDA_RE = re.compile(r"^(nvidia-[a-z0-9-]+?)-cu(\d+)$")


@dataclass(frozen=True)
class Finding:
    check: str
    ok: bool
    summary: str
    fix: str = ""

    def lines(self) -> list[str]:
        head = f"{'ok  ' if self.ok else 'FAIL'} {self.check}: {self.summary}"
        return [head] + ([f"     fix: {self.fix}"] if not self.ok and self.fix else [])


# ---------------------------------------------------------------- facts

def _smi(query: str, kind: str = "gpu") -> list[list[str]]:
    smi = shutil.which("nvidia-smi")
    if not smi:
        return []
    try:
        out = subprocess.run([smi, f"--query-{kind}={query}", "--format=csv,noheader,nounits"],
                             capture_output=True, text=True, timeout=20, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [[cell.strip() for cell in line.split(",")] for line in out.splitlines() if line.strip()]


def _mib(text: str) -> int | None:
    try:
        return int(float(text) * 2**20)
    except ValueError:
        return None


def gpus() -> list[dict]:
    if os.environ.get("CUDA_VISIBLE_DEVICES", None) in ("", "-1"):
        return []
    return [{"name": row[0], "driver": row[1], "memory_total_bytes": _mib(row[2]),
             "memory_free_bytes": _mib(row[3])}
            for row in _smi("name,driver_version,memory.total,memory.free") if len(row) >= 4]


def gpu_processes() -> list[dict]:
    return [{"pid": int(row[0]) if row[0].isdigit() else row[0], "name": row[1], "used_bytes": _mib(row[2])}
            for row in _smi("pid,process_name,used_memory", "compute-apps") if len(row) >= 3]


def memory_available_bytes() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def busy_cores(window_s: float = 1.0) -> float | None:
    """Cores busy with other work over ``window_s`` (this process sleeps meanwhile)."""
    from engine.bench.harness import _cpu_busy_seconds

    before = _cpu_busy_seconds()
    time.sleep(window_s)
    after = _cpu_busy_seconds()
    return None if before is None or after is None else round((after - before) / window_s, 3)


def gather(environ: dict[str, str] | None = None) -> dict:
    """Every fact the checks read, from this machine (runs each framework's probe)."""
    from engine import envinput, environment

    environ = dict(os.environ if environ is None else environ)
    interpreters, interpreter_errors = {}, []
    for framework in envinput.PYTHON_VARS:
        try:
            interpreters[framework] = envinput.python_for(framework, environ)
        except envinput.EnvError as error:
            interpreter_errors.append(str(error))
    probes = {fw: environment.probe(fw, python) for fw, python in interpreters.items()}
    return {
        "facts_schema": FACTS_SCHEMA,
        "docs_python": sys.executable,
        "docs_versions": environment.framework_versions(),
        "interpreters": interpreters,
        "interpreter_errors": interpreter_errors,
        "probes": probes,
        "gpus": gpus(),
        "gpu_processes": gpu_processes(),
        "usable_cores": environment.usable_cores(),
        "cpu_count": os.cpu_count(),
        "env": {name: environ[name] for name in THREAD_VARS + ALLOCATOR_VARS if name in environ},
        "libc": list(platform.libc_ver()),
        "memory_available_bytes": memory_available_bytes(),
        "busy_cores": busy_cores(),
    }


# ---------------------------------------------------------------- checks

def check_interpreters(facts: dict) -> list[Finding]:
    errors = facts.get("interpreter_errors") or []
    if errors:
        return [Finding("interpreters", False, "; ".join(errors),
                        "point the variable at a Python interpreter (a venv's bin/python), or unset it to use "
                        f"{facts['docs_python']}")]
    pythons = facts["interpreters"]
    where = ", ".join(f"{fw} in {python}" for fw, python in pythons.items())
    shared = len(set(pythons.values())) == 1
    return [Finding("interpreters", True, f"docs in {facts['docs_python']}; {where}"
                    + (" (one shared environment)" if shared else " (one environment per framework)"))]


def check_probes(facts: dict) -> list[Finding]:
    from engine import sides

    findings = []
    for fw, report in facts["probes"].items():
        name = sides.LABELS[fw]
        if report.get("error") and not report.get("version"):
            findings.append(Finding(f"{fw} probe", False, f"{name} cannot be imported by {report.get('python')}: "
                                    f"{report['error']}", "install the stack in that environment (make site, or "
                                    "make site GPU=1 for the per-framework GPU environments)"))
            continue
        if report.get("other_framework_imported"):
            findings.append(Finding(f"{fw} probe", False, f"importing {name} in {report.get('python')} also "
                                    "imported the other framework, so the two would share one process's libraries",
                                    "remove the .pth or sitecustomize that imports it from that environment"))
            continue
        extra = f", CUDA {report['cuda_build']}" if report.get("cuda_build") else ", CPU build"
        if report.get("cudnn"):
            extra += f", cuDNN {report['cudnn']}"
        if report.get("nccl"):
            extra += f", NCCL {report['nccl']}"
        devices = report.get("devices") or []
        seen = f"sees {devices[0]['name']}" if devices else "sees the CPU"
        findings.append(Finding(f"{fw} probe", not report.get("error"),
                                f"{name} {report.get('version')}{extra}; {seen}"
                                + (f"; the probe then failed: {report['error']}" if report.get("error") else ""),
                                "run the probe by hand (python scripts/engine/probes/probe_"
                                f"{fw}.py) and read its traceback_tail"))
    return findings


def check_device(facts: dict) -> list[Finding]:
    from engine.environment import blind_fix

    cards = facts.get("gpus") or []
    probes = facts["probes"]
    if not cards:
        visible = facts.get("env", {}).get("CUDA_VISIBLE_DEVICES")
        why = " (CUDA_VISIBLE_DEVICES hides it on purpose)" if visible in ("", "-1") else ""
        return [Finding("device", True, f"no NVIDIA GPU listed by nvidia-smi{why}: the build measures the CPU")]
    findings = []
    for fw, report in probes.items():
        if report.get("device") != "cuda":
            findings.append(Finding("device", False, f"nvidia-smi lists {cards[0]['name']} but {fw} sees no GPU",
                                    blind_fix(fw, report)))
    names = {fw: (r.get("devices") or [{}])[0].get("name") for fw, r in probes.items() if r.get("device") == "cuda"}
    if len(set(names.values())) > 1:
        findings.append(Finding("device", False, "the frameworks see different first GPUs: " + ", ".join(
            f"{fw} {n}" for fw, n in names.items()), "set CUDA_VISIBLE_DEVICES to one GPU for the whole build"))
    if not findings:
        caps = {fw: (r.get("devices") or [{}])[0].get("compute_capability") for fw, r in probes.items()}
        cc = next((c for c in caps.values() if c), None)
        features = []
        for fw, r in probes.items():
            features.append(f"{fw} bf16 {'yes' if r.get('bf16') else 'no'}, TF32 {'yes' if r.get('tf32') else 'no'}")
        findings.append(Finding("device", True, f"both frameworks see {cards[0]['name']} (driver {cards[0]['driver']}"
                                + (f", compute capability {cc[0]}.{cc[1]}" if cc else "") + "); "
                                + "; ".join(features)))
    return findings


def _stem(path: str) -> str | None:
    match = LIBRARY_STEM_RE.match(Path(path).name)
    return match.group(1) if match else None


def check_libraries(facts: dict) -> list[Finding]:
    findings = []
    probes = facts["probes"]
    for fw, report in probes.items():
        where = report.get("python", "?")
        for path, owners in (report.get("shared_library_files") or {}).items():
            findings.append(Finding("libraries", False, f"in {where}, {path} is written by {' and '.join(owners)}: "
                                    "the one installed last replaced the other's", FIX_ENVS))
        by_library: dict[str, dict[str, str]] = {}
        for name, version in (report.get("cuda_wheels") or {}).items():
            match = WHEEL_CUDA_RE.match(name)
            if match:
                by_library.setdefault(match.group(1), {})[f"cu{match.group(2)}"] = f"{name}=={version}"
        for library, majors in by_library.items():
            if len(majors) > 1:
                findings.append(Finding("libraries", False, f"{where} holds {library} for {len(majors)} CUDA majors "
                                        f"({', '.join(sorted(majors.values()))})", FIX_ENVS))
        loaded: dict[str, set[str]] = {}
        for path in report.get("libraries") or []:
            stem = _stem(path)
            if stem:
                loaded.setdefault(stem, set()).add(path)
        for stem, copies in sorted(loaded.items()):
            if len(copies) > 1:
                findings.append(Finding("libraries", False, f"{fw}'s process loaded {len(copies)} copies of {stem}: "
                                        + ", ".join(sorted(copies)), FIX_ENVS))
    pythons = {fw: r.get("python") for fw, r in probes.items()}
    majors = {fw: str(r["cuda_build"]).split(".")[0] for fw, r in probes.items() if r.get("cuda_build")}
    if len(set(pythons.values())) == 1 and len(set(majors.values())) > 1:
        findings.append(Finding("libraries", False, "torch (CUDA " + str(probes["torch"]["cuda_build"]) + ") and "
                                "TensorFlow (CUDA " + str(probes["tf"]["cuda_build"]) + f") share {pythons['torch']}, "
                                "so they share its nvidia/*/lib files", FIX_ENVS))
    if not findings:
        count = sum(len(r.get("libraries") or []) for r in probes.values())
        findings.append(Finding("libraries", True, f"no clash: each CUDA library has one copy per environment and "
                                f"process ({count} CUDA-family libraries loaded by the probes)"))
    return findings


def check_threads(facts: dict) -> list[Finding]:
    cores = facts["usable_cores"]
    findings = []
    for name in THREAD_VARS:
        raw = facts.get("env", {}).get(name)
        if raw is None:
            continue
        try:
            value = int(raw)
        except ValueError:
            value = -1
        if value < 1 or value > cores:
            findings.append(Finding("threads", False, f"{name}={raw!r} while {cores} core(s) are usable: "
                                    "snippets inherit it and oversubscribe (or starve) the cores",
                                    f"unset {name}; the engine gives each process its share of the {cores} "
                                    "usable cores, and equal threads to both frameworks' timed processes"))
    if not findings:
        quota = "" if cores == facts.get("cpu_count") else f" (of {facts.get('cpu_count')} online: affinity or " \
                                                            "cgroup quota)"
        findings.append(Finding("threads", True, f"{cores} usable core(s){quota}; timed processes get "
                                f"{cores} thread(s) in both frameworks"))
    return findings


def check_allocator(facts: dict) -> list[Finding]:
    env = facts.get("env", {})
    findings = []
    preload = env.get("LD_PRELOAD", "")
    if MALLOC_PRELOAD_RE.search(preload):
        findings.append(Finding("allocator", False, f"LD_PRELOAD={preload!r} swaps the allocator of every child, "
                                "so the allocator case no longer compares glibc's defaults with its setting",
                                "unset LD_PRELOAD for the build and regen"))
    libc = facts.get("libc") or ["", ""]
    if libc[0] != "glibc":
        findings.append(Finding("allocator", False, f"the C library is {libc[0] or 'unknown'}, not glibc: the "
                                "harness's GLIBC_TUNABLES setting does nothing here",
                                "build on a glibc Linux (Debian, Ubuntu), or read the allocator rows as unset"))
    if not findings:
        from engine.bench.timed_env import ALLOCATOR_TUNABLES

        inherited = f"; GLIBC_TUNABLES={env['GLIBC_TUNABLES']!r} in the shell (snippets inherit it)" \
            if "GLIBC_TUNABLES" in env else ""
        findings.append(Finding("allocator", True, f"{libc[0]} {libc[1]}; timed processes run with "
                                f"GLIBC_TUNABLES={ALLOCATOR_TUNABLES}{inherited}"))
    return findings


def check_memory(facts: dict) -> list[Finding]:
    findings = []
    free = facts.get("memory_available_bytes")
    if free is not None and free < MIN_FREE_MEMORY_BYTES:
        findings.append(Finding("memory", False, f"{free / 2**30:.1f} GiB available; two examples at once need "
                                f"about {MIN_FREE_MEMORY_BYTES / 2**30:.0f} GiB",
                                "stop other work, or build with GUIDE_JOBS=1"))
    for card in facts.get("gpus") or []:
        total, left = card.get("memory_total_bytes"), card.get("memory_free_bytes")
        if total and left is not None and left < total / 2:
            findings.append(Finding("memory", False, f"{card['name']} has {left / 2**30:.1f} of "
                                    f"{total / 2**30:.1f} GiB free: something else holds the card",
                                    "stop the processes nvidia-smi lists before a build or regen"))
    if not findings:
        cards = "; ".join(f"{c['name']} {c['memory_free_bytes'] / 2**30:.1f} GiB free"
                          for c in facts.get("gpus") or [] if c.get("memory_free_bytes") is not None)
        findings.append(Finding("memory", True, (f"{free / 2**30:.1f} GiB available" if free else "unknown")
                                + (f"; {cards}" if cards else "")))
    return findings


def check_quiet(facts: dict) -> list[Finding]:
    findings = []
    busy = facts.get("busy_cores")
    if busy is not None and busy >= QUIET_CORES:
        findings.append(Finding("quiet", False, f"other work kept {busy:.2f} core(s) busy over one second "
                                f"(the harness waits for under {QUIET_CORES})",
                                "stop other heavy work (see top) before a regen; timed rows would be flagged "
                                "as sharing the CPU"))
    foreign = [p for p in facts.get("gpu_processes") or [] if (p.get("used_bytes") or 0) > MAX_FOREIGN_GPU_BYTES]
    if foreign:
        findings.append(Finding("quiet", False, "other processes hold the GPU: " + ", ".join(
            f"{p['name']} (pid {p['pid']}, {p['used_bytes'] / 2**30:.1f} GiB)" for p in foreign),
            "stop them before a build or regen; timed GPU jobs must not share the card"))
    if not findings:
        findings.append(Finding("quiet", True, f"{busy:.2f} core(s) busy with other work" if busy is not None
                                else "load unknown (no /proc/stat)"))
    return findings


CHECKS = (check_interpreters, check_probes, check_device, check_libraries, check_threads, check_allocator,
          check_memory, check_quiet)


def diagnose(facts: dict) -> list[Finding]:
    if facts.get("facts_schema") != FACTS_SCHEMA:
        return [Finding("facts", False, f"facts_schema {facts.get('facts_schema')!r} is not {FACTS_SCHEMA}",
                        "record them again with regen.py doctor --save")]
    findings = []
    for check in CHECKS:
        for finding in check(facts):
            if finding not in findings:  # two probes in one environment see its clashes twice
                findings.append(finding)
    return findings


def report(findings: list[Finding]) -> tuple[str, int]:
    """The printed report and the exit status: 0 sane, 2 at least one problem."""
    problems = [f for f in findings if not f.ok]
    lines = [line for finding in findings for line in finding.lines()]
    lines.append(f"doctor: {len(problems)} problem(s): " + ", ".join(sorted({f.check for f in problems}))
                 if problems else "doctor: this builder is sane")
    return "\n".join(lines), 2 if problems else 0
