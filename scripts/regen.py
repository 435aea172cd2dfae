#!/usr/bin/env python
"""Regenerate the guide's measured content: benchmarks, snippet outputs, rendered fragments.

A thin click front to ``scripts/engine``. Exit status: 0 success; 1 a case
failed (``run``) or results are stale (``check``); 2 bad input or an
untrustworthy results file, in which case nothing was overwritten.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import sys
import time
from pathlib import Path

import click

sys.path.insert(0, str(Path(__file__).resolve().parent))

from engine import environment  # noqa: E402
from engine.bench import cases as cases_mod  # noqa: E402
from engine.bench import harness, render, store  # noqa: E402
from engine.bench.cases import CASES, PROFILES  # noqa: E402


class InputError(click.ClickException):
    """Bad input or a results file we refuse to touch: one line, exit status 2."""

    exit_code = 2


def _results_root(results_dir: str | None) -> Path:
    root = Path(results_dir) if results_dir else store.results_root()
    os.environ["GUIDE_RESULTS_DIR"] = str(root)  # render and store read it too
    return root


def _select(selected: tuple[str, ...], exclude: tuple[str, ...]) -> list[str]:
    for name in selected + exclude:
        if name not in CASES:
            raise click.UsageError(f"unknown case {name!r}; known cases: {', '.join(CASES)}")
    names = list(selected) or list(CASES)
    return [n for n in names if n not in exclude]


# The module each framework's timed processes import; they run under this interpreter.
FRAMEWORK_MODULES = {"torch": "torch", "tf": "tensorflow"}


def _require_frameworks(frameworks: tuple[str, ...]) -> None:
    """Refuse to start a regen whose every job would fail on an import (e.g. outside the venv)."""
    missing = [FRAMEWORK_MODULES[fw] for fw in frameworks if importlib.util.find_spec(FRAMEWORK_MODULES[fw]) is None]
    if missing:
        raise InputError(f"{', '.join(missing)} not importable by {sys.executable}, which runs the timed "
                         "processes; run `make site` once and use .venv/bin/python (nothing was run)")


def _logger() -> logging.Logger:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    return logging.getLogger("regen")


results_option = click.option("--results-dir", type=click.Path(file_okay=False), default=None,
                              help="Results store (default: results/ in the repository).")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """Run benchmarks and snippets, check the results store, render the site's fragments."""


@cli.command()
@click.argument("case_names", metavar="[CASE]...", nargs=-1)
@click.option("--exclude", multiple=True, metavar="CASE", help="Skip this case (repeatable).")
@click.option("--framework", type=click.Choice(["both", "torch", "tf"]), default="both", show_default=True,
              help="Run only one framework's jobs; the other's stored runs are kept.")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True)
@click.option("--profile", type=click.Choice(PROFILES), default="default", show_default=True,
              help="quick: 1 repeat (<=5 min on 2 cores); default: 5 repeats (<=30 min); full: 10.")
@click.option("--repeats", type=click.IntRange(min=1), default=None,
              help="Processes per configuration (overrides the profile).")
@click.option("--force", is_flag=True, help="Rerun cases even when their stored result is fresh.")
@click.option("--dry-run", is_flag=True, help="Print the jobs that would run and exit.")
@click.option("--no-render", is_flag=True, help="Do not render fragments afterwards.")
@results_option
def run(case_names, exclude, framework, device, profile, repeats, force, dry_run, no_render, results_dir) -> None:
    """Run benchmark CASEs (default: every case whose stored result is stale or missing)."""
    root = _results_root(results_dir)
    names = _select(case_names, exclude)
    try:
        device = harness.resolve_device(device)
    except ValueError as error:
        raise InputError(str(error)) from None
    machine_id = environment.machine_id(device)
    try:
        store.check_writable(store.machine_dir(machine_id, root))
    except store.StoreError as error:
        raise InputError(str(error)) from None
    frameworks = cases_mod.FRAMEWORKS if framework == "both" else (framework,)
    todo = []
    for name in names:
        path = store.result_path(name, machine_id, root)
        try:
            previous = store.load(path) if path.exists() else None
        except store.StoreError as error:
            raise InputError(f"{error} (fix or delete it; nothing was run)") from None
        reasons = store.stale_reasons(previous, CASES[name], machine_id)
        if reasons or force:
            todo.append((name, reasons or ["--force"]))
        else:
            click.echo(f"{name}: fresh, skipped (use --force to rerun)")
    jobs = {name: harness.plan(CASES[name], profile, repeats, frameworks) for name, _ in todo}
    total = sum(len(j) for j in jobs.values())
    click.echo(f"machine {machine_id}; device {device}; profile {profile}; "
               f"{len(todo)} case(s), {total} process(es)")
    if dry_run:
        for name, reasons in todo:
            click.echo(f"{name} ({'; '.join(reasons)}):")
            for job in jobs[name]:
                click.echo(f"  {job.label}")
        return
    if todo:
        _require_frameworks(frameworks)
    failed = []
    started = time.perf_counter()
    finished = 0
    with click.progressbar(length=total, label="benchmarks", show_eta=True, show_pos=True,
                           item_show_func=lambda label: label, file=sys.stderr) as bar:

        def on_job(job, record) -> None:
            nonlocal finished
            finished += 1
            bar.update(1, job.label)
            if not sys.stderr.isatty():  # a log or CI: the bar draws nothing until the end, so say each job
                elapsed = time.perf_counter() - started
                status = "ok" if record["ok"] else f"FAILED: {record['reason']}"
                click.echo(f"[{finished}/{total}] {job.label}: {status} ({record.get('wall_s', 0):.1f} s); "
                           f"ETA {elapsed / finished * (total - finished) / 60:.1f} min", err=True)

        for name, _ in todo:
            result = harness.run_case(CASES[name], profile, device, repeats, frameworks, on_job=on_job, root=root)
            if result["status"] != "ok":
                failed.append(f"{name}: {result['status']}: {result.get('failure', {}).get('reason', '')}")
    click.echo(f"ran {len(todo)} case(s) in {time.perf_counter() - started:.1f} s")
    if not no_render:
        changed = render.render_all(root)
        click.echo(f"rendered {len(changed)} changed file(s) into {render.out_dir()}")
    if failed:
        for line in failed:
            click.echo(f"FAILED {line}", err=True)
        sys.exit(1)


@cli.command(name="render")
@results_option
def render_cmd(results_dir) -> None:
    """Render stored results into docs/generated/bench/ (tables, SVG charts, summary, verdicts)."""
    root = _results_root(results_dir)
    try:
        changed = render.render_all(root)
    except store.StoreError as error:
        raise InputError(str(error)) from None
    click.echo(f"rendered {len(changed)} changed file(s) into {render.out_dir()}")


@cli.command(name="list")
@click.option("--profile", type=click.Choice(PROFILES), default="default", show_default=True)
@results_option
def list_cmd(profile, results_dir) -> None:
    """List the cases, their configurations in PROFILE, and the state of their stored results."""
    root = _results_root(results_dir)
    machine_id = environment.machine_id()
    for name, case in CASES.items():
        path = store.result_path(name, machine_id, root)
        try:
            state = "; ".join(store.stale_reasons(store.load(path), case, machine_id)) or "fresh" \
                if path.exists() else "missing"
        except store.StoreError as error:
            state = f"INVALID: {error}"
        configs = case.configs(profile)
        click.echo(f"{name:18} {case.kind:8} {len(configs):3} configs x {cases_mod.REPEATS[profile]} repeats  "
                   f"claims {','.join(case.claims):24} [{state}]")
        click.echo(f"{'':18} {case.title}")


@cli.command()
@results_option
def check(results_dir) -> None:
    """Validate every results file; report stale ones. Exit 0 fresh, 1 stale/missing, 2 invalid."""
    root = _results_root(results_dir)
    here = environment.machine_id()
    invalid, stale = [], []
    files = sorted(root.glob("*/*.json")) if root.is_dir() else []
    for path in files:
        try:
            result = store.load(path)
        except store.StoreError as error:
            invalid.append(str(error))
            continue
        case = CASES.get(path.stem)
        if case is None:
            invalid.append(f"{path}: unknown case {path.stem!r}")
            continue
        if path.parent.name == here:
            reasons = store.stale_reasons(result, case, here)
            if reasons:
                stale.append(f"{path.relative_to(root)}: stale ({'; '.join(reasons)})")
        click.echo(f"ok  {path.relative_to(root)}  ({result['profile']}, {result['status']}, "
                   f"{result['manifest'].get('timestamp', '?')})")
    for name in CASES:
        if not store.result_path(name, here, root).exists():
            stale.append(f"{here}/{name}.json: missing on this machine")
    for line in stale:
        click.echo(f"STALE {line}")
    for line in invalid:
        click.echo(f"INVALID {line}", err=True)
    if invalid:
        sys.exit(2)
    if stale:
        sys.exit(1)
    click.echo(f"{len(files)} result file(s) valid; all fresh for {here}")


@cli.command()
@click.option("--batch-size", type=click.IntRange(min=1), default=128, show_default=True)
@click.option("--rounds", type=click.IntRange(min=1), default=2, show_default=True)
def crosscheck(batch_size, rounds) -> None:
    """Compare the harness's step time with torch.utils.benchmark.Timer / timeit (nothing is stored)."""
    import json as _json
    import subprocess

    from engine.bench import stats
    from engine.bench.cases import job_spec
    from engine.bench.harness import Job, run_job
    from engine.bench.timed_env import child_env

    device = harness.resolve_device("auto")
    case = CASES["headline"]
    worst = 0.0
    for framework, mode in (("torch", "eager"), ("tf", "function")):
        ours, theirs, tool, same_process = [], [], "", []
        for round_ in range(rounds):
            config = (framework, mode, batch_size, 1)
            spec = job_spec(case, config, "default", environment.usable_cores())
            record = run_job(Job(case, config, round_, False, spec), device, 600)
            if not record["ok"]:
                raise click.ClickException(f"harness run failed: {record['reason']}")
            ours.append(stats.median(record["result"]["samples_ns"]) / 1e6)
            out = subprocess.run([sys.executable, "-m", "engine.bench.crosscheck", framework, str(batch_size), mode],
                                 capture_output=True, text=True, env=child_env(device, environment.usable_cores()),
                                 check=True).stdout.strip().splitlines()[-1]
            reference = _json.loads(out)
            theirs.append(reference["median_ms"])
            tool = reference["tool"]
            same_process.append((reference["harness_loop_ms"], reference["median_ms"]))
        a, b = stats.median(ours), stats.median(theirs)
        loop = stats.median([x for x, _ in same_process])
        worst = max(worst, stats.relative_difference(loop, b))
        click.echo(f"{framework} {mode} batch {batch_size}, same process: harness loop {loop:.2f} ms vs "
                   f"{tool} {b:.2f} ms: {100 * stats.relative_difference(loop, b):.1f} % apart")
        click.echo(f"{framework} {mode} batch {batch_size}: harness {a:.2f} ms (rounds {', '.join(f'{x:.2f}' for x in ours)}) "
                   f"vs {tool} {b:.2f} ms (rounds {', '.join(f'{x:.2f}' for x in theirs)}): "
                   f"{100 * stats.relative_difference(a, b):.1f} % apart (separate processes)")
    sys.exit(0 if worst <= 0.10 else 1)


@cli.command()
@click.option("--mode", type=click.Choice(["stale", "all", "none"]), default="stale", show_default=True,
              help="stale: run changed snippets; all: rerun every snippet; none: publish stored output.")
def snippets(mode) -> None:
    """Run the example snippets (as the site build does) and publish their output."""
    from engine import snippet_runner

    try:
        snippet_runner.refresh(mode, _logger())
    except snippet_runner.SnippetFailure as failure:
        click.echo(str(failure), err=True)
        sys.exit(1)


if __name__ == "__main__":
    cli()
