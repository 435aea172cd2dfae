"""The benchmark harness, results store and renderers (see BENCHMARKING.md).

* ``cases``     which workloads, modes and sizes run, per profile
* ``child``     the timed process (imports exactly one framework)
* ``harness``   one fresh process per job, interleaved, wait4 for peak RSS
* ``stats``     median, IQR, ratio of medians with a bootstrap CI, noise check
* ``flops``     analytic FLOPs of the CNN step (cross-checked against torch)
* ``store``     schema-versioned JSON per machine, atomic writes, staleness
* ``summarize`` results -> rows of numbers
* ``render``    rows -> Markdown tables, SVG charts, summary and verdict fragments
"""

from __future__ import annotations

import logging
import os


def refresh_for_build(mode: str, log: logging.Logger) -> None:
    """Build step: rerun stale/missing cases ("stale"), everything ("all") or nothing ("none"), then render."""
    from engine import environment
    from engine.bench import harness, render, store
    from engine.bench.cases import CASES, PROFILES

    if mode not in ("stale", "none", "all"):
        raise ValueError(f"unknown mode {mode!r}")
    if mode != "none":
        profile = os.environ.get("GUIDE_BENCH_PROFILE", "quick")
        if profile not in PROFILES:
            raise ValueError(f"GUIDE_BENCH_PROFILE={profile!r} is not one of {', '.join(PROFILES)}")
        device = harness.resolve_device("auto")
        machine_id = environment.machine_id(device)
        for name, case in CASES.items():
            path = store.result_path(name, machine_id)
            previous = store.load(path) if path.exists() else None
            reasons = store.stale_reasons(previous, case, machine_id)
            if mode == "stale" and not reasons:
                continue
            total = len(harness.plan(case, profile))
            log.info(f"guide: benchmark {name} ({'; '.join(reasons) or 'rerun requested'}), profile {profile}, "
                     f"{total} process(es)")
            done = []

            def progress(job, record, name=name, total=total, done=done):
                done.append(record)
                status = "ok" if record["ok"] else f"FAILED: {record['reason']}"
                log.info(f"guide: benchmark {name} [{len(done)}/{total}] {job.label}: {status} "
                         f"({record.get('wall_s', 0):.1f} s)")

            result = harness.run_case(case, profile, device, on_job=progress)
            if result["status"] != "ok":
                # Not a warning: strict mode would abort the build, and the page already shows the failure.
                log.info(f"guide: benchmark {name}: {result['status']}: {result.get('failure', {}).get('reason')}")
    changed = render.render_all()
    log.info(f"guide: benchmark render wrote {len(changed)} changed file(s)")
