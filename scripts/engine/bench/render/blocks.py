"""Method's evidence for blocks and adaptive allocation (docs/method.md#noise-blocks, #noise-adaptive).

From every stored machine's block-measured cases: how many best-vs-best
comparisons the rule decided, what the allocation gave where, whether a
tier's time depended on its place in a block, and whether the fastest tiers
measured in blocks agree with the same tiers measured one per process.
"""

from __future__ import annotations

from engine.bench import adaptive, stats
from engine.bench import summarize as S
from engine.bench.cases import CASES, FRAMEWORK_LABELS
from engine.bench.render.format import hw_phrase, table
from engine.bench.render.machines import MODELS as NAMED_MODELS
from engine.bench.render.tables import best_pairs

# The three models the best-vs-best verdicts cover, as the Machines section names them.
MODEL_NAMES = dict(NAMED_MODELS)
MODELS = tuple(MODEL_NAMES)


def _block_results(per_machine: dict) -> dict[str, dict]:
    return {name: per_machine[name] for name in MODELS
            if per_machine.get(name) and any("block" in r for r in per_machine[name]["runs"])}


def decided(per_machine: dict) -> tuple[int, int]:
    """Best-vs-best comparisons with a verdict (faster, slower, or the same within 5 %), of all shown."""
    ratios = [S.compare(a, b) for name in MODELS if per_machine.get(name)
              for _, _, a, b in best_pairs(S.train_rows(per_machine[name]))]
    return sum(r.decided for r in ratios), len(ratios)


def _allocation_row(name: str, result: dict) -> list[str]:
    rows = S.train_rows(result)
    given = result.get("allocation", {})
    added = given.get("rounds", [])
    counts = [len(r.runs) for r in rows]
    stopped = {"settled": "every comparison settled", "cap": "the cap"}.get(given.get("stopped"), "–")
    return [MODEL_NAMES[name], str(given.get("screen_rounds", max(counts, default=0))), str(given.get("cap", "–")),
            str(len(added)), stopped if added or given else "–", f"{min(counts, default=0)}–{max(counts, default=0)}"]


def _order_rows(name: str, result: dict) -> list[list[str]]:
    out = []
    for check in S.order_checks(result):
        effect = check["effect"]
        if effect.rho is None:
            verdict = "too few blocks to check"
        elif effect.flagged:
            verdict = "**order effect**: re-measured one tier per process" if check["re_measured"] else \
                "**order effect** (flagged)"
        else:
            verdict = "none beyond the noise band"
        out.append([MODEL_NAMES[name], FRAMEWORK_LABELS[check["framework"]], str(check["batch_size"]),
                    str(check["tiers"]), str(effect.blocks),
                    "–" if effect.rho is None else f"{effect.rho:+.2f}",
                    "–" if effect.p_value is None else f"{effect.p_value:.3f}",
                    "–" if effect.rho is None else f"{100 * effect.effect:+.1f} %",
                    "–" if effect.rho is None else f"{100 * effect.band:.1f} %", verdict])
    return out


def _fidelity_rows(name: str, result: dict) -> list[list[str]]:
    blocks = S.train_rows(result)
    out = []
    for solo in S.train_rows(result, variant=adaptive.ONE_TIER):
        block = next(iter(S.find(blocks, framework=solo.framework, mode=solo.mode, batch_size=solo.batch_size,
                                 width=solo.width)), None)
        if block is None:
            continue
        ratio = stats.ratio_of_medians(block.runs, solo.runs)
        agrees = "yes" if not ratio.beyond_noise else "**no**"
        out.append([MODEL_NAMES[name], FRAMEWORK_LABELS[solo.framework], solo.label, str(solo.batch_size),
                    f"{block.median_ms:.2f} ({len(block.runs)})", f"{solo.median_ms:.2f} ({len(solo.runs)})",
                    f"{ratio.ratio:.2f} ({ratio.low:.2f}–{ratio.high:.2f})", f"{100 * ratio.band:.1f} %", agrees])
    return out


def blocks_md(all_results: dict) -> str:
    parts = []
    for mid in sorted(all_results):
        measured = _block_results(all_results[mid])
        if not measured:
            continue
        first = next(iter(measured.values()))
        made, shown = decided(all_results[mid])
        lines = [f"**{hw_phrase(first)}** ({first['profile']} profile): the rule decides {made} of {shown} "
                 "best-vs-best comparisons (faster, slower, or the same within "
                 f"{100 * stats.SAME_HALF_WIDTH:.0f} %), over the CNN, the Transformer and the ResNet, both "
                 "precisions and every batch shown.", ""]
        lines += [table(["Model", "Screening rounds", "Cap", "Rounds added", "Stopped at", "Blocks per row"],
                        [_allocation_row(name, result) for name, result in measured.items()]), ""]
        order = [row for name, result in measured.items() for row in _order_rows(name, result)]
        if order:
            lines += [table(["Model", "Framework", "Batch", "Tiers", "Blocks", "Spearman ρ", "p",
                             "Change, first place to last", "Noise band", "Order effect"], order), ""]
        fidelity = [row for name, result in measured.items() for row in _fidelity_rows(name, result)]
        if fidelity:
            lines += [table(["Model", "Framework", "Tier", "Batch", "Block median ms (blocks)",
                             "One-tier median ms (processes)", "Block / one-tier (95% CI)", "Noise band",
                             "Agree within the band"], fidelity), ""]
        else:
            lines += ["*Fidelity not measured here: no one-tier processes beside the blocks "
                      f"(the {first['profile']} profile runs none).*", ""]
        parts.append("\n".join(lines))
    if not parts:
        return ("*Not measured here: no stored result of "
                f"{', '.join(CASES[n].name for n in MODELS)} was measured in blocks.*\n")
    return "\n".join(parts)
