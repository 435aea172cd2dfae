#!/usr/bin/env python
"""The result-contribution check CI runs when a push or pull request changes ``results/``.

``regen.py check`` already rejects files that cannot be trusted (exit 2) and
reports what is stale for the machine running it. A runner is rarely the
machine a contribution came from, so this holds each *changed* folder
``results/<machine>/`` to what the site needs from it:

* ``changed --base REF``  print the machine folders changed since REF, one a line
  (every folder when REF is empty, all zeros or unknown);
* ``validate FOLDER...``  fail on: a file that does not load (over the size limit, a run
  listed twice, the schema's other rules), a top-level key the schema does not name, an unknown case, a
  fingerprint naming another machine than its folder, a failed last run, a timed
  code hash that differs from this commit's code; warn on: a profile other
  than ``default``, framework versions other than this runner's (these checks
  are ``engine.bench.intake.problems``, which ``regen.py import`` applies too); no
  ``headline.json`` (the Speed page's "Other machines" shows a machine by it);
* ``shown --site DIR FOLDER...``  after the build, fail unless each folder's
  machine label is on the built Speed page (the runner's own folder, the
  main tables, is exempt).

Exit status: 0 fine (warnings allowed), 1 a check failed, 2 bad usage.
Messages use GitHub's ``::error``/``::warning`` annotations.
"""

from __future__ import annotations

import argparse
import html
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

from engine import environment  # noqa: E402
from engine.bench import intake, render, store  # noqa: E402

RESULTS = Path("results")


def annotate(level: str, message: str, file: Path | None = None) -> None:
    """One GitHub annotation; ``file`` (repository-relative on the runner) pins it to the file."""
    where = ""
    if file is not None:
        file = Path(file).resolve()
        where = f" file={file.relative_to(ROOT).as_posix() if file.is_relative_to(ROOT) else file.as_posix()}"
    print(f"::{level}{where}::{message}")


def changed_folders(base: str, root: Path = ROOT) -> list[str]:
    """Machine folders under results/ that differ between BASE and HEAD."""
    results = root / RESULTS
    every = sorted(p.name for p in results.iterdir() if p.is_dir()) if results.is_dir() else []
    if not base or set(base) == {"0"}:
        return every
    diff = subprocess.run(["git", "diff", "--name-only", base, "HEAD", "--", RESULTS.as_posix()],
                          cwd=root, capture_output=True, text=True)
    if diff.returncode != 0:  # base not in this clone (a force push, a shallow checkout)
        print(f"cannot diff against {base}: {diff.stderr.strip()}; checking every folder", file=sys.stderr)
        return every
    names = {Path(line).parts[1] for line in diff.stdout.splitlines() if len(Path(line).parts) >= 3}
    return sorted(name for name in names if (results / name).is_dir())  # a deleted folder needs no check


def validate(folder: Path) -> int:
    """Annotate what is wrong with one machine folder; return the number of errors."""
    errors = 0
    files = sorted(folder.glob("*.json"))
    if not files:
        annotate("error", f"{folder}: no result files", folder)
        return 1
    now = store.current_versions()
    for path in files:
        try:
            result = store.load(path)
        except store.StoreError as error:
            annotate("error", str(error), path)
            errors += 1
            continue
        for problem in intake.problems(path, folder.name, result, now):  # the checks `regen.py import` applies
            annotate(problem.level, problem.message, path)
            errors += problem.level == "error"
    if not (folder / "headline.json").exists():
        annotate("warning", f"{folder}: no headline.json, so the Speed page's \"Other machines\" will not "
                 "show this machine", folder)
    return errors


def machine_label(folder: Path) -> str | None:
    """The heading the Speed page gives this machine (from any of its results)."""
    for path in sorted(folder.glob("*.json")):
        try:
            return render.hardware(store.load(path))
        except (store.StoreError, KeyError):
            continue
    return None


def shown(site: Path, folders: list[Path]) -> int:
    page = site / "speed" / "index.html"
    if not page.is_file():
        annotate("error", f"{page} is missing; build the site first")
        return 1
    text = html.unescape(page.read_text(encoding="utf-8"))
    here = environment.machine_id()
    errors = 0
    for folder in folders:
        if folder.name == here:
            print(f"{folder}: this runner's own results, shown in the main tables")
            continue
        label = machine_label(folder)
        if label and label in text:
            print(f"{folder}: shown on the Speed page as \"{label}\"")
        else:
            annotate("error", f"{folder}: not on the built Speed page (looked for \"{label}\"); "
                     "\"Other machines\" lists a machine by its headline.json", folder)
            errors += 1
    return errors


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    verbs = parser.add_subparsers(dest="verb", required=True)
    changed = verbs.add_parser("changed", help="print the machine folders changed since --base")
    changed.add_argument("--base", default="")
    check = verbs.add_parser("validate", help="hold changed machine folders to what the site needs")
    check.add_argument("folders", nargs="+")
    on_site = verbs.add_parser("shown", help="each machine's label is on the built Speed page")
    on_site.add_argument("--site", type=Path, default=Path("site"))
    on_site.add_argument("folders", nargs="+")
    args = parser.parse_args(argv)

    if args.verb == "changed":
        print("\n".join(changed_folders(args.base)))
        return 0
    # A machine id (what `changed` prints) names results/<id>; a path to a folder is taken as given,
    # so a contributor can check a folder before it is copied in, and nothing else is checked instead.
    folders = [Path(name) if Path(name).is_dir() else ROOT / RESULTS / Path(name).name for name in args.folders]
    missing = [f.name for f in folders if not f.is_dir()]
    if missing:
        print(f"no such results folder: {', '.join(missing)}", file=sys.stderr)
        return 2
    if args.verb == "validate":
        errors = sum(validate(folder) for folder in folders)
        print(f"{len(folders)} folder(s) checked, {errors} error(s)")
        return 1 if errors else 0
    return 1 if shown(args.site, folders) else 0


if __name__ == "__main__":
    sys.exit(main())
