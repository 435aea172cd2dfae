"""Results that come into the store from elsewhere: older folders, other checkouts, pull requests.

* ``problems``  what a contributed result file must pass, shared by ``regen.py import`` and the
  pull-request check (``.github/scripts/contributed_results.py``): errors refuse it, warnings are said.
* ``migrate``   files every result under the id its manifest describes (engine.machine), adding the
  fingerprint an old manifest allows (unknown parts left unknown) and the id it was filed under
  before (``manifest.migrated_from``). Its data is not touched and nothing is deleted.
* ``import_folder``  takes in a results folder (a store with machine folders, or one machine folder),
  after migrating a copy of it: refuses the whole folder, changing nothing, when any file is bad or
  already in the store.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from pathlib import Path

from engine import machine
from engine.bench import schema, store
from engine.bench.cases import CASES


class IntakeError(store.StoreError):
    """A folder that cannot come into the store; the message is one line naming the file and the fault."""


@dataclass(frozen=True)
class Problem:
    level: str  # "error" refuses the file; "warning" is said and let through
    path: Path
    message: str


def problems(path: Path, folder_name: str, result: dict, now_versions: dict | None = None) -> list[Problem]:
    """What is wrong with one loaded result file filed under ``folder_name`` (see the module docstring)."""
    found: list[Problem] = []
    if schema.unknown_keys(result):  # what the site never reads has no place in the repository
        found.append(Problem("error", path, store.unknown_keys_line(path, result)))
    case = CASES.get(path.stem)
    if case is None:
        return [*found, Problem("error", path, f"{path}: unknown case {path.stem!r} (known: {', '.join(CASES)})")]
    source = store.measured_on(result)
    if source != folder_name:
        found.append(Problem("error", path, f"{path}: measured on {source!r}, filed under {folder_name!r}; "
                             "commit the folder `regen.py run` wrote, unrenamed (`regen.py migrate` files "
                             "older results under their machine's id)"))
    if result.get("status") == "failed":
        found.append(Problem("error", path, f"{path}: the last run failed "
                             f"({result.get('failure', {}).get('reason', '?')}); fix it and rerun before committing"))
    if result["code_hash"] != store.case_code_hash(case):
        found.append(Problem("error", path, f"{path}: the timed code changed since this was measured; rerun "
                             f"`.venv/bin/python scripts/regen.py run {path.stem}` on that machine at this commit"))
    if result.get("profile") != "default":
        found.append(Problem("warning", path, f"{path}: profile {result.get('profile')!r}; the site's results "
                             "come from the default profile (`regen.py run` without --profile)"))
    now = now_versions if now_versions is not None else store.current_versions()
    recorded = result["manifest"].get("versions", {})
    tf = [v.get("tensorflow") or v.get("tensorflow-cpu") for v in (recorded, now)]
    differ = [f"{name} {recorded.get(name)} (here {now.get(name)})" for name in ("torch", "keras", "numpy")
              if recorded.get(name) != now.get(name)]
    if tf[0] != tf[1]:
        differ.append(f"tensorflow {tf[0]} (here {tf[1]})")
    if differ:
        found.append(Problem("warning", path, f"{path}: measured with other versions than requirements.txt "
                             "installs: " + ", ".join(differ)))
    return found


def migrated(result: dict) -> dict:
    """``result`` with its manifest naming the machine it describes (a copy; the runs are untouched)."""
    manifest = result["manifest"]
    fingerprint = machine.fingerprint_from_manifest(manifest)
    target = machine.machine_id(fingerprint)
    if manifest.get("fingerprint") == fingerprint and manifest.get("machine_id") == target:
        return result
    moved = copy.deepcopy(result)
    moved["manifest"]["fingerprint"] = fingerprint
    if manifest.get("machine_id") != target:
        moved["manifest"].setdefault("migrated_from", manifest.get("machine_id"))
        moved["manifest"]["machine_id"] = target
    return moved


@dataclass(frozen=True)
class Move:
    source: Path
    target: Path
    rewritten: bool  # the manifest gained its fingerprint or its new id


def plan_migration(root: Path) -> list[Move]:
    """Every result file under ``root`` that is not yet filed under the id its manifest describes.

    Raises IntakeError, before anything moves, for a bad file or two files that would meet in one place.
    """
    moves, targets = [], {}
    for path in store.result_files(root):
        result = store.load(path)
        new = migrated(result)
        target = store.result_path(path.stem, new["manifest"]["machine_id"], root)
        if new is result and target == path:
            continue
        if target != path and (target.exists() or target in targets):
            raise IntakeError(f"{path}: belongs in {target.parent.name}/, which already holds {target.name} "
                              f"(from {targets.get(target, target)}); nothing was moved")
        targets[target] = path
        moves.append(Move(path, target, new is not result))
    return moves


def migrate(root: Path, dry_run: bool = False) -> list[Move]:
    """Carry out ``plan_migration(root)``: each file written to its place (atomically), then its old copy
    removed; a folder left empty is removed. Returns the moves."""
    moves = plan_migration(root)
    if dry_run:
        return moves
    for move in moves:
        store.save(migrated(store.load(move.source)), move.target)
        if move.target != move.source:
            move.source.unlink()
            if not any(move.source.parent.iterdir()):
                move.source.parent.rmdir()
    return moves


def _incoming(folder: Path) -> dict[Path, dict]:
    """The result files of ``folder`` (a store root or one machine folder), loaded and migrated."""
    folder = Path(folder)
    if not folder.is_dir():
        raise IntakeError(f"{folder}: not a folder")
    files = sorted(p for p in folder.glob("*.json") if ".recovered-" not in p.name) or store.result_files(folder)
    if not files:
        raise IntakeError(f"{folder}: holds no result files (<case>.json, or <machine>/<case>.json)")
    return {path: migrated(store.load(path)) for path in files}


def import_folder(folder: Path, root: Path, dry_run: bool = False) -> tuple[list[Path], list[Problem]]:
    """Take ``folder``'s results into the store at ``root``; return the files written and the warnings.

    The incoming files are checked as the pull-request check checks them, under the machine their
    manifests describe; a file the store already holds for that machine and case is a duplicate.
    Any error refuses the whole folder (IntakeError, one line) and nothing in the store changes.
    """
    incoming = _incoming(folder)
    now = store.current_versions()
    warnings, written = [], []
    for path, result in incoming.items():
        machine_id = result["manifest"]["machine_id"]
        for problem in problems(path, machine_id, result, now):
            if problem.level == "error":
                raise IntakeError(f"{problem.message} (nothing was imported)")
            warnings.append(problem)
        target = store.result_path(path.stem, machine_id, root)
        if target.exists():
            same = json.loads(target.read_bytes()) == result
            raise IntakeError(f"{path}: the store already holds {machine_id}/{path.stem}.json"
                              f"{' (the same file)' if same else ''}; nothing was imported")
        if target in written:
            raise IntakeError(f"{path}: two incoming files are {machine_id}/{path.stem}.json; nothing was imported")
        written.append(target)
    if not dry_run:
        for path, result in incoming.items():
            store.save(result, store.result_path(path.stem, result["manifest"]["machine_id"], root))
    return written, warnings
