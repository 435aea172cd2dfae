"""Adaptive allocation (docs/method.md#noise-adaptive): more blocks only where the page decides.

Every configuration of a case is screened with the case's rounds
(``Case.processes``). After that, each round goes only to the comparisons a
page draws a verdict from, per batch, size and precision: each framework's
best against its runner-up, and the two frameworks' bests against each
other. A group gets another round until each of its comparisons is settled
or the case's cap (``Case.adaptive_cap``) is reached. Settled means an
interval half-width of at most ``stats.SAME_HALF_WIDTH``, or a difference
clear at the interim level ``INTERIM_P``: a stricter p than the final rule's,
because the rule is looked at after every round, and every look is another
chance for noise to pass it (a Haybittle-Peto-style boundary).

The record of what was given where is the result's ``allocation``; the
Speed page shows the blocks behind every row.
"""

from __future__ import annotations

from collections.abc import Callable

from engine import sides
from engine.bench import cases as cases_mod
from engine.bench import stats, summarize
from engine.bench.cases import Case, interleave

INTERIM_P = 0.01  # a round is stopped early only on p below this (the final verdict uses stats.SIGNIFICANCE)


def comparisons(rows: list[summarize.TrainRow]) -> dict[tuple, list[tuple[summarize.TrainRow, summarize.TrainRow]]]:
    """Per (batch, size, precision): the comparisons a verdict is drawn from, fastest first."""
    groups: dict[tuple, list] = {}
    for key in sorted({(r.batch_size, r.width, r.precision) for r in rows}):
        batch, width, precision = key
        ranked = {fw: sorted(summarize.find(rows, framework=fw, batch_size=batch, width=width, precision=precision),
                             key=lambda r: r.median_ms) for fw in sides.IDS}
        pairs = [(tiers[0], tiers[1]) for tiers in ranked.values() if len(tiers) > 1]  # best vs runner-up
        bests = [tiers[0] for tiers in ranked.values() if tiers]
        pairs += [(a, b) for i, a in enumerate(bests) for b in bests[i + 1:]]  # best vs best
        if pairs:
            groups[key] = pairs
    return groups


def settled(ratio: stats.Ratio) -> bool:
    """Tight enough, or clear at the interim level: no more blocks would change the verdict's meaning."""
    if not ratio.enough_processes:
        return False
    clear = ratio.significant and ratio.p_value is not None and ratio.p_value < INTERIM_P
    return ratio.half_width <= stats.SAME_HALF_WIDTH or clear


def unsettled(rows: list[summarize.TrainRow]) -> list[tuple[str, str, int, int]]:
    """The configurations the next round measures: every row of a comparison not yet settled."""
    todo: set[tuple[str, str, int, int]] = set()
    for pairs in comparisons(rows).values():
        for a, b in pairs:
            if not settled(summarize.compare(a, b)):
                todo |= {(r.framework, r.mode, r.batch_size, r.width) for r in (a, b)}
    return sorted(todo, key=lambda c: (c[3], c[2], sides.order(c[0]), c[1]))


def _so_far(case: Case, runs: list[dict]) -> dict:
    """The runs so far as a result the summaries read (one regen: its rows pair by round)."""
    return {"case": case.name, "runs": runs, "manifest": {"timestamp": "this regen"}}


def rows_of(case: Case, runs: list[dict]) -> list[summarize.TrainRow]:
    """The rows the runs so far give, as the page would compute them."""
    return summarize.train_rows(_so_far(case, runs))


def allocate(case: Case, profile: str, runs: list[dict], screened: int,
             next_round: Callable[[list[tuple], int], object]) -> dict:
    """Give rounds ``screened`` .. cap - 1 to the unsettled comparisons; return the allocation's record.

    ``runs`` grows as ``next_round(configs, round)`` measures; the frameworks
    alternate inside a round and odd rounds run in reverse, as in the plan.
    """
    cap = case.adaptive_cap[profile]
    record = {"screen_rounds": screened, "cap": cap, "target_half_width": stats.SAME_HALF_WIDTH,
              "interim_p": INTERIM_P, "rounds": []}
    for r in range(screened, cap):
        todo = unsettled(rows_of(case, runs))
        if not todo:
            record["stopped"] = "settled"
            break
        ordered = interleave(todo)
        if r % 2:
            ordered = ordered[::-1]
        record["rounds"].append({"round": r, "configs": [list(c) for c in ordered]})
        next_round(ordered, r)
    else:
        record["stopped"] = "cap" if unsettled(rows_of(case, runs)) else "settled"
    return record


# The variant name of the one-tier processes the fidelity check runs beside the blocks.
ONE_TIER = "one-tier-process"


def solo_jobs(case: Case, profile: str, runs: list[dict], first_round: int, threads: int,
              capabilities: dict) -> list:
    """After the blocks, what runs one tier per process (docs/method.md#noise-blocks), from round ``first_round``.

    * A block group whose order check is flagged: each of its tiers is measured again, one per
      process, for the screening rounds; those runs replace the group's block runs, which stay in
      the file marked ``superseded`` (the page says so).
    * The fidelity check (``Case.extra["fidelity_rounds"]``): each framework's fastest fp32 row at the
      case's first batch, measured one tier per process, as the variant ``ONE_TIER``, so the page can
      show that blocks measure what separate processes do.
    """
    from engine.bench.harness import Job  # harness imports this module

    result = _so_far(case, runs)
    jobs = []
    rounds = case.processes(profile)
    flagged = [c for c in summarize.order_checks(result) if c["effect"].flagged]
    for check in flagged:
        group = (check["framework"], check["batch_size"], check["width"])
        for run in runs:
            if "block" in run and (run["framework"], run["batch_size"], run["width"]) == group:
                run["superseded"] = "order effect: re-measured one tier per process"
        configs = sorted({(r["framework"], r["mode"], r["batch_size"], r["width"]) for r in runs
                          if (r["framework"], r["batch_size"], r["width"]) == group})
        for r in range(first_round, first_round + rounds):
            jobs += [Job(case, c, r, cases_mod.job_spec(case, c, profile, threads, capabilities)) for c in configs]
    fidelity = case.extra.get("fidelity_rounds", {}).get(profile, 0)
    if not fidelity:
        return jobs
    rows = rows_of(case, runs)
    batch = min((r.batch_size for r in rows), default=None)
    chosen = [best for fw in sides.IDS
              if (best := summarize.best(rows, fw, batch_size=batch, precision="fp32")) is not None]
    start = first_round + (rounds if flagged else 0)
    for r in range(start, start + fidelity):
        ordered = chosen[::-1] if r % 2 else chosen
        jobs += [Job(case, c, r, cases_mod.job_spec(case, c, profile, threads, capabilities), ONE_TIER)
                 for c in ((b.framework, b.mode, b.batch_size, b.width) for b in ordered)]
    return jobs
