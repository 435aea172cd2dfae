#!/usr/bin/env python
"""Regenerate the guide's measured content: benchmarks, snippet outputs, rendered fragments.

A thin click front to ``scripts/engine``. Exit status, the same for every verb:

* 0: done; every result valid (and, for ``check``/``list``, fresh);
* 1: a case or example failed (``run``, ``snippets``), the timings disagree
  (``crosscheck``), or a result is stale or missing (``check``, ``list``);
* 2: bad input (an option or a GUIDE_* variable), an invalid results file
  (named, with the field at fault), or a save or render that failed; nothing
  valid was overwritten, and measured runs that could not be saved are kept
  in a recovery file the message names;
* 130 (Ctrl-C) or 143 (SIGTERM): interrupted; the message says what was kept.
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

from engine import envinput, environment, machine, procs, sides  # noqa: E402
from engine.bench import cases as cases_mod  # noqa: E402
from engine.bench import harness, render, schema, store  # noqa: E402
from engine.bench.cases import CASES, PROFILES  # noqa: E402


class InputError(click.ClickException):
    """Bad input or a results file we refuse to touch: one line, exit status 2."""

    exit_code = 2


# More processes per configuration than this is a typo, not a plan (and ends in MemoryError).
MAX_REPEATS = 100


def _env(parse):
    """One GUIDE_* variable through its parser in engine.envinput; a bad value is exit 2."""
    try:
        return parse()
    except envinput.EnvError as error:
        raise InputError(str(error)) from None


def _results_root(results_dir: str | None) -> Path:
    root = Path(results_dir) if results_dir else (_env(envinput.results_dir) or store.results_root())
    os.environ["GUIDE_RESULTS_DIR"] = str(root)  # render and store read it too
    return root


def _select(selected: tuple[str, ...], exclude: tuple[str, ...]) -> list[str]:
    for name in selected + exclude:
        if name not in CASES:
            raise click.UsageError(f"unknown case {name!r}; known cases: {', '.join(CASES)}")
    names = list(selected) or list(CASES)
    chosen = [n for n in names if n not in exclude]
    if not chosen:
        raise InputError("no case selected: --exclude removed every case named (nothing was run)")
    return chosen


def _load_every_result(root: Path, hint: str) -> None:
    """Refuse to start when any stored file is invalid: the render afterwards would stop on it."""
    for path in store.result_files(root):
        try:
            store.load(path)
        except store.StoreError as error:
            raise InputError(f"{error} (fix or delete it{hint}; nothing was run)") from None


def _render(root: Path) -> None:
    try:
        store.require_results(root)
        changed = render.render_all(root)
    except (store.StoreError, OSError) as error:
        raise InputError(f"render failed: {error}") from None
    click.echo(f"rendered {len(changed)} changed file(s) into {render.out_dir()}")


def _importable(module: str, python: str) -> bool:
    if python == sys.executable:
        return importlib.util.find_spec(module) is not None
    import subprocess

    check = f"import importlib.util, sys; sys.exit(importlib.util.find_spec({module!r}) is None)"
    try:
        return subprocess.run([python, "-c", check], capture_output=True, timeout=60).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def _require_frameworks(frameworks: tuple[str, ...]) -> None:
    """Refuse to start a regen whose every job would fail on an import (e.g. outside the venv)."""
    pythons = {fw: _env(lambda fw=fw: envinput.python_for(fw)) for fw in frameworks}
    modules = {fw: sides.by_id(fw).module for fw in frameworks}  # what each side's timed processes import
    missing = [f"{modules[fw]} not importable by {pythons[fw]}" for fw in frameworks
               if not _importable(modules[fw], pythons[fw])]
    if missing:
        variables = " / ".join(sides.by_id(fw).python_var for fw in frameworks)
        raise InputError(f"{'; '.join(missing)}, which runs its timed processes; run `make site` once and use "
                         f".venv/bin/python, or fix {variables} (nothing was run)")


def machine_label() -> str:
    return machine.label(environment.fingerprint())


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
@click.option("--framework", "framework", type=click.Choice(sides.IDS), multiple=True,
              help="Run only this side's jobs (repeatable; default: every side); the others' stored runs are kept.")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True)
@click.option("--profile", type=click.Choice(PROFILES), default="default", show_default=True,
              help="quick: one round of every configuration; default: six rounds of blocks for the three models "
                   "and more for each side's contenders (docs/method.md#noise-adaptive), fewer for trends; "
                   "full: nine rounds, more steps and sizes.")
@click.option("--repeats", type=click.IntRange(min=1, max=MAX_REPEATS), default=None,
              help=f"Processes per configuration, 1 to {MAX_REPEATS} (overrides the profile).")
@click.option("--force", is_flag=True, help="Rerun cases even when their stored result is fresh.")
@click.option("--allow-downgrade", is_flag=True,
              help="Let a weaker profile (e.g. quick) replace a stored result of a stronger one (e.g. default).")
@click.option("--dry-run", is_flag=True, help="Print the jobs that would run and exit.")
@click.option("--no-render", is_flag=True, help="Do not render fragments afterwards.")
@click.option("--if-busy", type=click.Choice(envinput.IF_BUSY), default=None,
              help="When another run measures into the same store: wait for it, or refuse (exit 2). "
                   "Default: GUIDE_IF_BUSY, else wait.")
@results_option
def run(case_names, exclude, framework, device, profile, repeats, force, allow_downgrade, dry_run, no_render,
        if_busy, results_dir) -> None:
    """Run benchmark CASEs (default: every case whose stored result is stale or missing)."""
    root = _results_root(results_dir)
    names = _select(case_names, exclude)
    _env(envinput.quiet_wait_s)
    try:
        device = harness.resolve_device(device)
    except ValueError as error:
        raise InputError(str(error)) from None
    machine_id = environment.machine_id(device)
    try:
        store.check_writable(store.machine_dir(machine_id, root))
    except store.StoreError as error:
        raise InputError(str(error)) from None
    frameworks = tuple(fw for fw in cases_mod.FRAMEWORKS if fw in framework) if framework else cases_mod.FRAMEWORKS
    if not dry_run:
        _require_frameworks(frameworks)  # before the staleness check asks those interpreters their versions
        # One measuring run per store, held until this command ends; taken before the staleness
        # check, so a run that waited sees what the other one measured.
        try:
            click.get_current_context().with_resource(store.measuring(
                root, if_busy or _env(envinput.if_busy), say=lambda line: click.echo(line, err=True)))
        except store.StoreBusy as error:
            raise InputError(str(error)) from None
    if not no_render:
        _load_every_result(root, ", or pass --no-render")
    todo, downgrades = [], []
    for name in names:
        path = store.result_path(name, machine_id, root)
        try:
            previous = store.load(path) if path.exists() else None
        except store.StoreError as error:
            raise InputError(f"{error} (fix or delete it; nothing was run)") from None
        reasons = store.stale_reasons(previous, CASES[name], machine_id)
        if reasons or force:
            todo.append((name, reasons or ["--force"]))
            downgrade = store.downgrade(previous, profile)
            if downgrade and not allow_downgrade:
                downgrades.append(f"{name} ({downgrade})")
        else:
            click.echo(f"{name}: fresh, skipped (use --force to rerun)")
    refusal = (f"refusing to replace stronger results with {profile}-profile ones: {'; '.join(downgrades)}; "
               "pass --allow-downgrade, a stronger --profile, or --exclude those cases") if downgrades else None
    jobs = {name: harness.plan(CASES[name], profile, repeats, frameworks) for name, _ in todo}
    if empty := [name for name, _ in todo if not jobs[name]]:
        # Otherwise the case would be saved with no runs, as if it had been measured.
        raise InputError(f"no configuration of {', '.join(empty)} runs for {', '.join(frameworks)} on this device "
                         f"in the {profile} profile (nothing was run); leave those cases out or choose another side")
    # Adaptive cases add rounds as they go (docs/method.md#noise-adaptive): the bar counts the most.
    most = {name: harness.most_processes(CASES[name], profile, repeats, frameworks) for name, _ in todo}
    total = sum(most.values())
    planned = sum(len(j) for j in jobs.values())
    click.echo(f"machine {machine_id}; device {device}; profile {profile}; {len(todo)} case(s), "
               + (f"{planned} to {total} process(es) (adaptive rounds)" if total > planned else f"{total} process(es)"))
    if dry_run:
        for name, reasons in todo:
            click.echo(f"{name} ({'; '.join(reasons)}):")
            for job in jobs[name]:
                click.echo(f"  {job.label}")
        if refusal:
            click.echo(f"a real run would stop here: {refusal}")
        return
    if refusal:
        raise InputError(f"{refusal} (nothing was run)")
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

        done = []
        try:
            with procs.sigterm_as_interrupt():
                for name, _ in todo:
                    done.append(name)
                    before = finished
                    result = harness.run_case(CASES[name], profile, device, repeats, frameworks, on_job=on_job,
                                              root=root)
                    skipped = most[name] - (finished - before)  # adaptive rounds it did not need
                    finished += skipped
                    bar.update(skipped)
                    if result["status"] != "ok":
                        failed.append(f"{name}: {result['status']}: {result.get('failure', {}).get('reason', '')}")
        except KeyboardInterrupt as error:
            from engine.bench import interrupted_message

            click.echo(f"\n{interrupted_message(done)}", err=True)
            sys.exit(procs.interrupted(error, "").exit_code)
        except store.StoreError as error:  # the save failed; the message names the recovery file
            raise InputError(str(error)) from None
    click.echo(f"ran {len(todo)} case(s) in {time.perf_counter() - started:.1f} s")
    if not no_render:
        _render(root)
    if failed:
        for line in failed:
            click.echo(f"FAILED {line}", err=True)
        sys.exit(1)


@cli.command()
@click.option("--dry-run", is_flag=True, help="Print the moves and change nothing.")
@results_option
def migrate(dry_run, results_dir) -> None:
    """File every result under the id its manifest describes (docs/method.md#machine-identity).

    Results measured before the machine fingerprint existed gain the fingerprint their manifest
    allows (parts it lacks are marked unknown) and move to that id's folder; their runs are kept
    as they are and nothing is deleted. Exit 0 done (or nothing to move), 2 a bad file or a clash.
    """
    from engine.bench import intake

    root = _results_root(results_dir)
    try:
        moves = intake.migrate(root, dry_run=dry_run)
    except store.StoreError as error:
        raise InputError(str(error)) from None
    for move in moves:
        where = (f"{move.source.relative_to(root)} -> {move.target.relative_to(root)}" if move.target != move.source
                 else f"{move.source.relative_to(root)}: fingerprint added")
        click.echo(f"{'would move' if dry_run else 'moved'} {where}")
    click.echo(f"{len(moves)} result file(s) {'to migrate' if dry_run else 'migrated'}" if moves
               else "every result is filed under the machine it describes")


@cli.command(name="import")
@click.argument("folder", type=click.Path(exists=True, file_okay=False))
@click.option("--dry-run", is_flag=True, help="Check the folder and change nothing.")
@click.option("--no-render", is_flag=True, help="Do not render fragments afterwards.")
@results_option
def import_cmd(folder, dry_run, no_render, results_dir) -> None:
    """Take in FOLDER: results from another checkout or a pull request (a results/ folder, or one
    machine's folder). Each file is checked as the store and the pull-request check check it and filed
    under the machine its manifest describes. A bad or duplicate file refuses the whole folder (exit 2)
    and nothing changes."""
    from engine.bench import intake

    root = _results_root(results_dir)
    try:
        written, warnings = intake.import_folder(Path(folder), root, dry_run=dry_run)
    except store.StoreError as error:
        raise InputError(str(error)) from None
    for warning in warnings:
        click.echo(f"warning: {warning.message}", err=True)
    for path in written:
        click.echo(f"{'would import' if dry_run else 'imported'} {path.relative_to(root)}")
    if written and not dry_run and not no_render:
        _render(root)


@cli.command(name="render")
@results_option
def render_cmd(results_dir) -> None:
    """Render stored results into docs/generated/bench/ (tables, SVG charts, summary, verdicts)."""
    _render(_results_root(results_dir))


@cli.command(name="list")
@click.option("--profile", type=click.Choice(PROFILES), default="default", show_default=True)
@results_option
def list_cmd(profile, results_dir) -> None:
    """List the cases, their configurations in PROFILE, and the state of their stored results.

    Exit 0 all fresh, 1 some stale or missing, 2 some invalid (as ``check``).
    """
    root = _results_root(results_dir)
    machine_id = environment.machine_id()
    click.echo(f"this machine: {machine_id} ({machine_label()}); states are of its own results")
    worst = 0
    for name, case in CASES.items():
        path = store.result_path(name, machine_id, root)
        try:
            state = "; ".join(store.stale_reasons(store.load(path), case, machine_id)) or "fresh" \
                if path.exists() else "missing"
        except store.StoreError as error:
            state = f"INVALID: {error}"
        worst = max(worst, 0 if state == "fresh" else 2 if state.startswith("INVALID") else 1)
        configs = case.configs(profile, environment.capabilities())  # what this device would run
        processes = sum(case.processes(profile, c[2]) for c in configs) * max(1, len(case.variants))
        click.echo(f"{name:18} {case.kind:8} {len(configs):3} configs, {processes:3} processes  "
                   f"claims {','.join(case.claims):24} [{state}]")
        click.echo(f"{'':18} {case.title}")
    sys.exit(worst)


@cli.command()
@results_option
def check(results_dir) -> None:
    """Validate every results file; report stale ones. Exit 0 fresh, 1 stale/missing, 2 invalid."""
    root = _results_root(results_dir)
    if not root.is_dir():
        raise InputError(f"results folder {root} does not exist")
    here = environment.machine_id()
    invalid, stale = [], []
    files = store.result_files(root)
    click.echo(f"this machine: {here} ({machine_label()})")
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
            whose = "this machine"
        else:  # another machine's: shown beside this one's, labelled; only its code can make it stale
            reasons = store.code_reasons(result, case)
            whose = "another machine" + (f"; stale: {'; '.join(reasons)}" if reasons else "")
        click.echo(f"ok  {path.relative_to(root)}  ({result['profile']}, {result['status']}, "
                   f"{result['manifest'].get('timestamp', '?')}; {whose})")
        if schema.unknown_keys(result):  # read, and shown, but a contribution carrying it is refused
            click.echo(f"WARNING {store.unknown_keys_line(path, result)}", err=True)
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
    _require_frameworks(cases_mod.FRAMEWORKS)
    try:
        with procs.sigterm_as_interrupt():
            _crosscheck(batch_size, rounds)
    except KeyboardInterrupt as error:
        click.echo("\ncrosscheck: interrupted; its processes were stopped (it stores nothing)", err=True)
        sys.exit(procs.interrupted(error, "").exit_code)


def _crosscheck(batch_size, rounds) -> None:
    import json as _json

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
            record = run_job(Job(case, config, round_, spec), device, 600)
            if not record["ok"]:
                raise click.ClickException(f"harness run failed: {record['reason']}")
            ours.append(stats.median(record["result"]["samples_ns"]) / 1e6)
            done, timed_out = procs.run([envinput.python_for(framework), "-m", "engine.bench.crosscheck", framework,
                                         str(batch_size), mode], 600,
                                        env=child_env(device, environment.usable_cores()))
            why = procs.failure(done, timed_out, 600)
            if why:
                raise click.ClickException(f"reference timing ({framework}) {why}: "
                                           + " | ".join(done.stderr.strip().splitlines()[-3:]))
            reference = _json.loads(done.stdout.strip().splitlines()[-1])
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

    for parse in (envinput.jobs, envinput.check_mnist):
        _env(parse)
    try:
        snippet_runner.refresh(mode, _logger())
    except snippet_runner.SnippetFailure as failure:
        click.echo(str(failure), err=True)
        sys.exit(1)
    except KeyboardInterrupt as error:
        click.echo(f"\n{error}", err=True)
        sys.exit(procs.interrupted(error, "").exit_code)


@cli.command()
@click.option("--facts", "facts_file", type=click.Path(dir_okay=False, exists=True), default=None,
              help="Diagnose facts recorded earlier (--save) instead of this machine's.")
@click.option("--save", type=click.Path(dir_okay=False), default=None,
              help="Also write the facts gathered here to this JSON file (to attach to an issue).")
def doctor(facts_file, save) -> None:
    """Check this builder before a build or regen: interpreters, device probes, library clashes,
    threads, allocator, memory, load. Exit 0 sane, 2 naming each problem and its fix."""
    import json as _json

    from engine import doctor as doctor_mod

    if facts_file:
        try:
            facts = _json.loads(Path(facts_file).read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise InputError(f"{facts_file}: not a facts file: {error}") from None
    else:
        facts = doctor_mod.gather()
    if save:
        Path(save).write_text(_json.dumps(facts, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    text, status = doctor_mod.report(doctor_mod.diagnose(facts))
    click.echo(text)
    sys.exit(status)


@cli.command()
@click.argument("page")
@click.argument("name")
@click.option("--bench", is_flag=True, help="make the pair a benchmark workload, with its description and a case "
              "NAME in snippets/PAGE/PAGE_cases.py; the page section includes the case's table")
def new(page, name, bench) -> None:
    """Start an example pair: snippets/PAGE/NAME_{torch,tf}.py, a section on its page (a new one in
    snippets/PAGE/page.md, with its nav entry)."""
    from engine import scaffold

    try:
        planned = scaffold.plan(page, name, bench=bench)
    except scaffold.ScaffoldError as error:
        raise InputError(str(error)) from None
    scaffold.write(planned)
    for path in planned.files:
        click.echo(f"{'created' if path in planned.created else 'updated'} {path.relative_to(scaffold.paths.ROOT)}")
    click.echo("next: edit the pair, then `make site` runs and shows it; `make test` checks pairing and includes")


def main() -> None:
    try:
        cli()
    except (environment.DeviceError, environment.InterpreterError,
            machine.MachineFileError) as error:  # e.g. blind to the GPU nvidia-smi lists, a bad GUIDE_MACHINE_FILE
        click.echo(f"Error: {error}", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
