"""The benchmark harness, results store and renderers (the rules are docs/method.md).

* ``cases``     which workloads, modes and sizes run, per profile
* ``child``     the timed process (imports exactly one framework)
* ``harness``   one fresh process per job, interleaved, wait4 for peak RSS
* ``stats``     median, IQR, the comparison rule of docs/method.md#noise
* ``workload``  the contract a workload pair keeps, and its description (params, FLOPs, data)
* ``store``     schema-versioned JSON per machine, atomic writes, staleness
* ``summarize`` results -> rows of numbers
* ``render``    rows -> Markdown tables, SVG charts, summary and verdict fragments (a package; prose in ``templates``)
"""

from __future__ import annotations

import contextlib
import logging


def interrupted_message(started: list[str]) -> str:
    """What an interrupt left: every case before the last was saved; the last one's file is unchanged."""
    saved = f"kept the new results of {', '.join(started[:-1])}" if started[:-1] else "no new result was saved"
    return f"benchmarks: interrupted; {saved}; {started[-1]}'s stored result is unchanged"


def refresh_for_build(mode: str, log: logging.Logger) -> None:
    """Build step: rerun stale/missing cases ("stale"), everything ("all") or nothing ("none"), then render.

    A stored result is never replaced by one of a weaker profile (a quick run
    over committed default-profile results) unless GUIDE_ALLOW_DOWNGRADE=1;
    the log says which profile ran and which stored results were kept.
    """
    from engine import envinput, environment, procs
    from engine.bench import harness, render, store
    from engine.bench.cases import CASES

    if mode not in ("stale", "none", "all"):
        raise ValueError(f"unknown mode {mode!r}")
    mode = envinput.bench_run(default=mode)  # GUIDE_BENCH_RUN, where set, decides for the benchmarks
    ran, kept = [], {}
    if mode != "none":
        profile = envinput.bench_profile()
        allow_downgrade = envinput.allow_downgrade()
        device = harness.resolve_device("auto")
        machine_id = environment.machine_id(device)
        store.refuse_recorded_machine(store.machine_dir(machine_id))  # before minutes of measuring, not after
        chosen = envinput.bench_cases() or tuple(CASES)  # GUIDE_BENCH_CASES: the rest stay as stored
        # The store's measuring lock, taken before the first case that runs (a build that only reads
        # never takes it) and held to the end of the step; GUIDE_IF_BUSY says wait or refuse.
        lock = contextlib.ExitStack()
        held = False

        def decide(name, case):
            path = store.result_path(name, machine_id)
            previous = store.load(path) if path.exists() else None
            reasons = store.stale_reasons(previous, case, machine_id)
            downgrade = store.downgrade(previous, profile)
            runs = not ((mode == "stale" and not reasons) or (downgrade and not allow_downgrade))
            return previous, reasons, downgrade, runs

        with lock:  # released however the step ends (mkdocs serve lives on)
            for name, case in CASES.items():
                if name not in chosen:
                    continue
                previous, reasons, downgrade, runs = decide(name, case)
                if runs and not held:
                    held = True
                    if lock.enter_context(store.measuring(store.results_root(), envinput.if_busy(), say=log.info)):
                        # It waited for another run, which may have just measured this very case.
                        previous, reasons, downgrade, runs = decide(name, case)
                if downgrade and not allow_downgrade and (reasons or mode == "all"):
                    log.info(f"guide: benchmark {name}: kept, {downgrade} (GUIDE_BENCH_PROFILE="
                             f"{previous['profile']} reruns it; GUIDE_ALLOW_DOWNGRADE=1 allows the {profile} run)"
                             + (f"; shown as stale: {'; '.join(reasons)}" if reasons else ""))
                if (mode == "stale" and not reasons) or (downgrade and not allow_downgrade):
                    kept.setdefault(previous["profile"], []).append(name)
                    continue
                ran.append(name)
                total = harness.most_processes(case, profile)  # adaptive rounds included, at most
                log.info(f"guide: benchmark {name} ({'; '.join(reasons) or 'rerun requested'}), profile {profile}, "
                         f"at most {total} process(es)")
                done = []

                def progress(job, record, name=name, total=total, done=done):
                    done.append(record)
                    status = "ok" if record["ok"] else f"FAILED: {record['reason']}"
                    log.info(f"guide: benchmark {name} [{len(done)}/{total}] {job.label}: {status} "
                             f"({record.get('wall_s', 0):.1f} s)")

                try:
                    result = harness.run_case(case, profile, device, on_job=progress)
                except KeyboardInterrupt as error:
                    raise procs.interrupted(error, interrupted_message(ran)) from None
                if result["status"] != "ok":
                    # Not a warning: strict mode would abort the build, and the page already shows the failure.
                    log.info(f"guide: benchmark {name}: {result['status']}: {result.get('failure', {}).get('reason')}")
        log.info(f"guide: benchmarks: profile {profile} (GUIDE_BENCH_PROFILE) ran {len(ran)} case(s)"
                 + "".join(f"; kept {len(names)} stored {p}-profile result(s)" for p, names in sorted(kept.items())))
    store.require_results()  # an empty or missing store by mistake must not blank every fragment
    key = render_key()
    stamp = render_stamp()
    if not ran and mode != "all" and _stamp_matches(stamp, key):
        log.info("guide: benchmark render skipped: results, render code and claims table unchanged")
        return
    changed = render.render_all()
    from engine import atomic

    names = sorted(p.name for p in render.out_dir().iterdir() if p.is_file() and p != stamp)
    atomic.write_if_changed(stamp, "\n".join([key, *names]) + "\n")
    log.info(f"guide: benchmark render wrote {len(changed)} changed file(s)")


def render_stamp():
    """Kept beside the fragments it vouches for (a dot file: MkDocs does not publish it)."""
    from engine.bench import render

    return render.out_dir() / ".render-key"


def render_sources() -> list:
    """The code and text ``render_all`` turns results with: the engine's modules, the render package, its
    prose templates (a reworded sentence renders again), the tier names, the claims table and the
    page folders' case files (the cases' titles)."""
    from pathlib import Path

    from engine import claims, pages, paths

    here = Path(__file__).resolve().parent
    return (sorted(here.rglob("*.py")) + sorted((here / "templates").glob("*.j2"))
            + [paths.HELPERS_DIR / "tiers.py", claims.TABLE] + pages.case_files())


def render_key() -> str:
    """A hash of everything ``render_all`` reads: result files, the code that renders them, the claims
    table, the cases, the machine (it picks the primary result set) and each case's code hash (it marks
    stale results)."""
    import hashlib
    from pathlib import Path

    import matplotlib

    from engine import environment
    from engine.bench import store
    from engine.bench.cases import CASES

    digest = hashlib.sha256()
    for path in render_sources() + sorted(Path(store.results_root()).rglob("*.json")):
        digest.update(str(path).encode())
        digest.update(path.read_bytes())
    digest.update(matplotlib.__version__.encode())
    digest.update(environment.machine_id().encode())
    for name, case in sorted(CASES.items()):
        digest.update(f"{name}:{store.case_code_hash(case)}".encode())
    return digest.hexdigest()


def _stamp_matches(stamp, key: str) -> bool:
    """The stamp names this key and every file the last render wrote is still there."""
    from engine.bench import render

    if not stamp.is_file():
        return False
    first, *names = stamp.read_text().splitlines()
    return first == key and bool(names) and all((render.out_dir() / name).is_file() for name in names)
