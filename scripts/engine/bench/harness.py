"""The harness: one fresh process per (framework, configuration, repeat), interleaved.

The parent never imports torch or TensorFlow. It writes a job spec, starts
``python -m engine.bench.child`` (under the job's framework's interpreter,
``envinput.python_for``) in its own process group (``engine.procs``:
it dies with the parent, even on SIGKILL), reaps it with ``os.wait4`` (which
hands back the child's peak RSS), kills it at the timeout, and collects the
child's JSON. A job that crashes, hangs or is killed is recorded as failed
with its reason; the other jobs carry on. Ctrl-C or SIGTERM stops the running
job and leaves the stored result of its case as it was.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import random
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from engine import envinput, environment, paths, procs
from engine.bench import adaptive, store
from engine.bench import cases as cases_mod
from engine.bench.cases import Case
from engine.bench.timed_env import child_env, recorded

# How long a job may wait for other work on the machine to calm down before it starts anyway;
# None: GUIDE_BENCH_QUIET_WAIT (read when a job starts, so a bad value is an error, not an import crash).
QUIET_WAIT_S: float | None = None


@dataclass(frozen=True)
class Job:
    case: Case
    config: tuple[str, str, int, int]
    repeat: int
    spec: dict
    variant: str | None = None  # one of case.variants, or None for a case without variants
    # The modes one process measures, in the order drawn for it (docs/method.md#noise-blocks);
    # empty for a process that measures ``config`` alone.
    block: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        fw, mode, batch, width = self.config
        if self.block:  # the tiers in the order the process measures them
            return f"{self.case.name}: {fw} {'+'.join(self.block)} b{batch} w{width} #{self.repeat + 1}"
        variant = f" [{self.variant}]" if self.variant else ""
        return f"{self.case.name}: {fw} {mode} b{batch} w{width}{variant} #{self.repeat + 1}"

    @property
    def configs(self) -> list[tuple[str, str, int, int]]:
        """The configurations this process measures."""
        fw, _, batch, width = self.config
        return [(fw, mode, batch, width) for mode in self.block] if self.block else [self.config]

    @property
    def env_overrides(self) -> dict[str, str | None] | None:
        # A variant the case does not declare (the fidelity check's one-tier processes) changes no variable.
        return self.case.variants.get(self.variant) if self.variant else None


def plan(case: Case, profile: str, repeats: int | None = None, frameworks: tuple[str, ...] = cases_mod.FRAMEWORKS,
         threads: int | None = None, capabilities: dict | None = None) -> list[Job]:
    """Every job of ``case``: one round per repeat, each round every configuration once.

    Rule 6 (docs/method.md#noise): many short processes, spread over the case
    one per round, so each configuration's processes sample the machine's slow
    and fast spells alike; odd rounds run in reverse order so no configuration
    always follows the same neighbour. Configurations the device cannot run
    (``capabilities``) are left out. A case measured in blocks gets one process
    per framework, batch and size per round instead (``block_jobs``); an
    adaptive case's later rounds come from ``run_case``, not from here.
    """
    threads = threads or environment.usable_cores()
    capabilities = capabilities if capabilities is not None else environment.capabilities()
    configs = cases_mod.interleave([c for c in case.configs(profile, capabilities) if c[0] in frameworks])
    # Processes per configuration: ``repeats`` overrides, else the case's count (which may depend on the batch).
    count = {c: repeats or case.processes(profile, c[2]) for c in configs}
    jobs = []
    for r in range(max(count.values(), default=0)):
        ordered = [c for c in (configs[::-1] if r % 2 else configs) if r < count[c]]
        jobs += round_jobs(case, ordered, r, profile, threads, capabilities)
    return jobs


def most_processes(case: Case, profile: str, repeats: int | None = None,
                   frameworks: tuple[str, ...] = cases_mod.FRAMEWORKS) -> int:
    """The most processes ``run_case`` can start for ``case``: its plan, plus every adaptive round
    it may add (each as large as a screening round) and the fidelity check's one-tier processes."""
    jobs = plan(case, profile, repeats, frameworks)
    if not case.block or repeats is not None:
        return len(jobs)
    screened = max((j.repeat for j in jobs), default=-1) + 1
    per_round = len({(j.config[0], j.config[2], j.config[3]) for j in jobs})
    extra = max(0, case.adaptive_cap.get(profile, 0) - screened) * per_round
    return len(jobs) + extra + case.extra.get("fidelity_rounds", {}).get(profile, 0) * len(frameworks)


def round_jobs(case: Case, ordered: list[tuple], r: int, profile: str, threads: int, capabilities: dict) -> list[Job]:
    """The processes of round ``r`` over ``ordered`` configurations, in that order."""
    if case.block:
        return block_jobs(case, ordered, r, profile, threads, capabilities)
    # Variants of one configuration run back to back; which goes first alternates by round.
    variants = list(case.variants) or [None]
    if r % 2:
        variants.reverse()
    return [Job(case, c, r, cases_mod.job_spec(case, c, profile, threads, capabilities), v)
            for c in ordered for v in variants]


def block_jobs(case: Case, ordered: list[tuple], r: int, profile: str, threads: int, capabilities: dict) -> list[Job]:
    """One process per framework, batch and size among ``ordered`` (in its order), each measuring
    that group's modes in an order drawn for this process (docs/method.md#noise-blocks)."""
    if case.variants:
        raise ValueError(f"case {case.name!r}: variants set the environment of a process, so they cannot share one")
    groups: dict[tuple, list[str]] = {}
    for fw, mode, batch, width in ordered:
        groups.setdefault((fw, batch, width), []).append(mode)
    jobs = []
    for (fw, batch, width), modes in groups.items():
        # Seeded by the process's place in the plan: the same plan draws the same orders.
        random.Random(f"{case.name}/{profile}/{r}/{fw}/{batch}/{width}/{','.join(modes)}").shuffle(modes)
        config = (fw, modes[0], batch, width)
        spec = {**cases_mod.job_spec(case, config, profile, threads, capabilities), "block": modes}
        jobs.append(Job(case, config, r, spec, block=tuple(modes)))
    return jobs


def _cpu_busy_seconds() -> float | None:
    """CPU seconds all cores have spent busy since boot, from /proc/stat (Linux only)."""
    try:
        with open("/proc/stat") as handle:
            fields = [int(x) for x in handle.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def wait_for_quiet(max_wait_s: float, threshold_cores: float = 0.25, window_s: float = 0.5) -> float | None:
    """Wait (up to ``max_wait_s``) until other work uses under ``threshold_cores`` of CPU.

    A 2-core builder shared with other jobs otherwise times their bursts, not
    the frameworks. Returns the busy cores seen in the last window.
    """
    deadline = time.perf_counter() + max_wait_s
    while True:
        before = _cpu_busy_seconds()
        time.sleep(window_s)
        after = _cpu_busy_seconds()
        if before is None or after is None:
            return None
        busy = (after - before) / window_s
        if busy < threshold_cores or time.perf_counter() >= deadline:
            return round(busy, 3)


def run_job(job: Job, device: str, timeout_s: float) -> dict:
    """Run one job in a fresh process; return its run record (never raises on child failure)."""
    fw, mode, batch, width = job.config
    record = {"framework": fw, "mode": mode, "batch_size": batch, "width": width,
              "repeat": job.repeat, "ok": False}
    if job.variant:
        record["variant"] = job.variant
    quiet_wait_s = envinput.quiet_wait_s() if QUIET_WAIT_S is None else QUIET_WAIT_S
    with procs.scratch_dir(prefix="bench-") as tmp:
        spec_path, out_path = tmp / "spec.json", tmp / "out.json"
        spec_path.write_text(json.dumps(job.spec))
        log_path = tmp / "stderr.txt"
        record["busy_cores_before"] = wait_for_quiet(quiet_wait_s)
        busy_start = _cpu_busy_seconds()
        started = time.perf_counter()
        with open(log_path, "wb") as log_handle:
            proc = procs.spawn(
                [envinput.python_for(fw), "-m", "engine.bench.child", str(spec_path), str(out_path)],
                cwd=paths.ROOT, env=child_env(device, job.spec["threads"], job.env_overrides),
                stdout=subprocess.DEVNULL, stderr=log_handle,
            )
            status, rusage, timed_out = 0, None, False
            try:
                while True:
                    pid, status, rusage = os.wait4(proc.pid, os.WNOHANG)
                    if pid:
                        break
                    if time.perf_counter() - started > timeout_s:
                        timed_out = True
                        procs.kill(proc)
                        _, status, rusage = os.wait4(proc.pid, 0)
                        break
                    time.sleep(0.05)
            except BaseException:  # Ctrl-C or SIGTERM: take the child down with us, then go
                with procs.shielded():
                    procs.stop([proc])
                    try:
                        os.wait4(proc.pid, 0)
                    except ChildProcessError:
                        pass
                raise
            finally:
                proc.returncode = -1 if proc.returncode is None else proc.returncode
                # Leftovers in its group (compile workers) go quietly; one that left the group would
                # have run beside the next timed job, so it fails this run (below).
                escaped = procs.release(proc)
        record["wall_s"] = round(time.perf_counter() - started, 3)
        record["peak_rss_bytes"] = rusage.ru_maxrss * 1024 if rusage else None  # Linux reports KiB
        busy_end = _cpu_busy_seconds()
        if rusage and busy_start is not None and busy_end is not None:
            # CPU used by anything other than this job while it ran, in cores: contamination.
            own = rusage.ru_utime + rusage.ru_stime
            record["foreign_cores"] = round(max(0.0, (busy_end - busy_start - own)) / record["wall_s"], 3)
        if timed_out:
            record["reason"] = f"timed out after {timeout_s:.0f} s"
        elif escaped:
            record["reason"] = procs.leftover_line("the timed process", escaped)
        elif os.WIFSIGNALED(status):
            record["reason"] = procs.describe_exit(-os.WTERMSIG(status))
        elif os.WEXITSTATUS(status) != 0 or not out_path.exists():
            tail = log_path.read_text(errors="replace").strip().splitlines()[-3:]
            record["reason"] = f"exit status {os.WEXITSTATUS(status)}: " + " | ".join(tail)[-400:]
        else:
            record["ok"] = True
            record["result"] = json.loads(out_path.read_text())
        if not record["ok"] and job.block and out_path.exists():
            # The tiers the block finished before it failed: the child saves them after each one.
            record["partial"] = json.loads(out_path.read_text())
    return record


def tier_records(job: Job, record: dict) -> list[dict]:
    """The run records one process gives: its own, or for a block one per tier (docs/method.md#noise-blocks).

    A tier's record holds its own measurement beside the process's facts (import
    time, allocator, threads). The process's wall time and peak RSS are the
    block's, not any one tier's, so they stay under ``block`` and the tier's
    ``peak_rss_bytes`` is null: per-tier memory is measured one tier per process.
    """
    if not job.block:
        return [record]
    done = record.get("result") or record.get("partial") or {}
    process = {k: v for k, v in done.items() if k not in ("block", "baseline_state", "complete")}
    entries = {entry["mode"]: entry for entry in done.get("block", [])}
    fw, _, batch, width = job.config
    tiers_out = []
    for position, mode in enumerate(job.block):
        entry = entries.get(mode, {})
        tier = {"framework": fw, "mode": mode, "batch_size": batch, "width": width, "repeat": job.repeat,
                "ok": bool(entry.get("ok")),
                "block": {"position": position, "size": len(job.block), "order": list(job.block),
                          "process_wall_s": record.get("wall_s"), "process_peak_rss_bytes": record.get("peak_rss_bytes"),
                          "baseline_state": done.get("baseline_state"),
                          **{k: entry[k] for k in ("before", "state_before", "state_during", "state_after")
                             if k in entry}},
                "peak_rss_bytes": None, "foreign_cores": record.get("foreign_cores"),
                "busy_cores_before": record.get("busy_cores_before")}
        if "tier_ns" in entry:
            tier["wall_s"] = round(entry["tier_ns"] / 1e9, 3)
        if tier["ok"]:
            tier["result"] = {**process, "settings": entry["settings"], **entry["result"]}
        elif entry:
            tier["reason"] = entry.get("reason") or record.get("reason") or "failed"
        else:
            tier["reason"] = f"the block's process ended before this tier: {record.get('reason') or 'no output'}"
        tiers_out.append(tier)
    return tiers_out


def recorded_variants(device: str, threads: int, variants: dict[str, dict[str, str | None]]) -> dict[str, dict[str, str]]:
    """The recorded environment of each variant of a case that compares settings, for its manifest.

    Lives here rather than in timed_env.py, which is hashed with the timed code.
    """
    return {name: recorded(device, threads, overrides) for name, overrides in variants.items()}


def _merge_previous(previous: dict | None, runs: list[dict], frameworks: tuple[str, ...]) -> list[dict]:
    """Keep the last good runs of configurations that failed now or were not selected."""
    if not previous:
        return runs
    key = lambda r: (r["framework"], r["mode"], r["batch_size"], r["width"], r.get("variant"))  # noqa: E731
    ok_now = {key(r) for r in runs if r["ok"]}
    kept = []
    for old in previous["runs"]:
        if not old.get("ok"):
            continue
        if old["framework"] not in frameworks or key(old) not in ok_now and key(old) in {key(r) for r in runs}:
            kept.append({**old, "carried_over": True})
    return runs + kept


def run_case(case: Case, profile: str, device: str, repeats: int | None = None,
             frameworks: tuple[str, ...] = cases_mod.FRAMEWORKS,
             on_job: Callable[[Job, dict], None] | None = None,
             root: Path | None = None) -> dict:
    """Run every job of ``case`` and store the result atomically; return it."""
    machine_id = environment.machine_id(device)
    path = store.result_path(case.name, machine_id, root)
    previous = store.load(path) if path.exists() else None
    threads = environment.usable_cores()
    capabilities = environment.capabilities(device)
    load_before = os.getloadavg()
    runs: list[dict] = []

    def measure(job: Job) -> None:
        record = run_job(job, device, cases_mod.TIMEOUT_S[profile])
        runs.extend(tier_records(job, record))
        if on_job:
            on_job(job, record)

    jobs = plan(case, profile, repeats, frameworks, threads, capabilities)
    for job in jobs:
        measure(job)
    allocation, late_error = None, None
    try:  # what screening measured is saved even if the allocation after it breaks (re-raised below)
        allocation = _after_screening(case, profile, jobs, runs, measure, repeats, threads, capabilities)
    except Exception as error:  # noqa: BLE001
        late_error = error
    failed = [r for r in runs if not r["ok"]]
    runs = _merge_previous(previous, runs, frameworks)
    manifest = environment.manifest(device)
    manifest.update({
        "threads": {"intra_op": threads, "inter_op": threads, "OMP_NUM_THREADS": threads,
                    "TORCHINDUCTOR_COMPILE_THREADS": 1},
        # What the harness set for the timed processes (allocator included), not the parent's own env.
        "child_env": recorded(device, threads),
        "git_commit": environment.git_commit(),
        "timestamp": _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat(),
        "versions": store.current_versions(),
        # What the device can run, with evidence: the page explains absent tiers from it.
        "capabilities": capabilities,
        # Other work on the machine skews timings; recorded so the page can warn.
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
    })
    if case.variants:
        manifest["child_env_variants"] = recorded_variants(device, threads, case.variants)
    if device == "cuda":
        manifest["cuda"] = cuda_versions()
    result = {
        "schema_version": store.SCHEMA_VERSION,
        "case": case.name,
        "title": case.title,
        "kind": case.kind,
        "claims": list(case.claims),
        "profile": profile,
        "status": "ok" if not failed else ("failed" if len(failed) == len(
            [r for r in runs if not r.get("carried_over")]) else "partial"),
        "manifest": manifest,
        "code_hash": store.case_code_hash(case),
        "runs": runs,
    }
    if allocation is not None:
        result["allocation"] = allocation
    if failed:
        result["failure"] = {"reason": "; ".join(sorted({r["reason"] for r in failed}))[:600],
                             "failed_runs": len(failed)}
    if result["status"] == "failed" and previous:
        # Nothing new worked: keep the last good result as it was, marked failed (hence stale).
        result = {**previous, "status": "failed", "failure": result["failure"]}
    store.save_or_recover(result, path)  # a failed write keeps the runs in a recovery file
    if late_error is not None:
        raise late_error
    return result


def _after_screening(case: Case, profile: str, jobs: list[Job], runs: list[dict], measure, repeats: int | None,
                     threads: int, capabilities: dict) -> dict | None:
    """Adaptive rounds, then the one-tier processes (engine.bench.adaptive); the allocation's record."""
    if not case.block or repeats is not None:
        return None
    allocation = None
    rounds = max((j.repeat for j in jobs), default=-1) + 1
    if case.adaptive_cap.get(profile):
        allocation = adaptive.allocate(case, profile, runs, screened=rounds,
                                       next_round=lambda ordered, r: [measure(job) for job in round_jobs(
                                           case, ordered, r, profile, threads, capabilities)])
        rounds = max(rounds, *(entry["round"] + 1 for entry in allocation["rounds"]))
    solo = adaptive.solo_jobs(case, profile, runs, rounds, threads, capabilities)
    for job in solo:
        measure(job)
    if solo:
        allocation = {**(allocation or {}), "one_tier_processes": [
            {"config": list(job.config), "round": job.repeat, "why": job.variant or "order effect"} for job in solo]}
    return allocation


def cuda_versions() -> dict:
    """Driver and CUDA/cuDNN library versions, read without importing a framework (GPU builds only)."""
    from importlib import metadata

    versions = {}
    for dist in metadata.distributions():
        name = (dist.metadata["Name"] or "").lower()
        if name.startswith("nvidia-") and any(k in name for k in ("cuda-runtime", "cudnn", "cublas")):
            versions[name] = dist.version
    try:
        versions["driver"] = subprocess.run(
            ["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
            capture_output=True, text=True, timeout=20, check=True).stdout.split()[0]
    except (OSError, subprocess.SubprocessError, IndexError):
        pass
    return versions


def resolve_device(requested: str) -> str:
    detected = environment.detect_device()
    if requested == "auto":
        return detected
    if requested == "cuda" and detected != "cuda":
        raise ValueError("--device cuda requested but no CUDA GPU (and CUDA build of torch) is available")
    return requested
