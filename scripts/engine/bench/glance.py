"""The home page's results at a glance: one compact row per claim, every cell from the ledger or the results.

The claim wording, where it is tested and the verdict of claims no build can
measure come from the claims table (``claims.toml``, ``engine.claims``);
the verdict word of a measured claim is the bold lead of its generated verdict,
and its deciding figure is computed here from the stored results. Nothing is
typed: change the claims table or the results and the table follows.
"""

from __future__ import annotations

from common import tiers
from engine import claims, sides
from engine.bench import summarize as S
from engine.bench.cases import FRAMEWORK_LABELS
from engine.bench.render import verdicts

NONE = "—"


def ledger() -> list[dict]:
    """One row per claim of the claims table: its ID, wording and where it is tested."""
    return [{"id": c.id, "claim": c.claim, "where": c.where} for c in claims.load()]


def verdict_word(generated: str) -> str | None:
    """The bold lead of a generated verdict (``**Not supported** here: ...`` gives ``Not supported``).

    Read by engine.claims.generated_verdict, the one parser every page's badge goes through.
    """
    verdict = claims.generated_verdict("", generated)
    return None if verdict.word == "Not measured here" and "**" not in generated else verdict.word


badge_class = claims.badge_class  # one colour per verdict word, wherever it is shown


def _ratio(r) -> str:
    return f"{r.ratio:.2f}× ({r.low:.2f}–{r.high:.2f})"


def _ratio_words(r, a: str, b: str) -> str:
    """A time ratio that says in words which side is faster: ``PyTorch faster: 0.80× TensorFlow's time (...)``."""
    said = ("no significant difference" if not r.significant else
            f"{a} faster" if r.ratio < 1 else f"{a} slower")
    return f"{said}: {a} {_ratio(r).replace('× (', f'× {b} time (', 1)}"


def _batch(rows, batch=128):
    return batch if S.find(rows, batch_size=batch) else min(r.batch_size for r in rows)


def fig_speed(res) -> str:
    rows = S.train_rows(res.get("headline"))
    batch = _batch(rows)
    a = S.best(rows, "torch", batch_size=batch, precision="fp32")
    b = S.best(rows, "tf", batch_size=batch, precision="fp32")
    return f"each at its best, batch {batch}, {_ratio_words(S.compare(a, b), 'PyTorch', 'TensorFlow’s')}"


def fig_compile(res) -> str:
    rows = S.train_rows(res.get("headline"))
    batch = _batch(rows)
    parts = []
    for fw in sides.IDS:  # every side that measured both, in registry order
        eager = S.find(rows, framework=fw, mode="eager", batch_size=batch)
        compiled = [r for r in S.find(rows, framework=fw, batch_size=batch, precision="fp32")
                    if r.compiled and tiers.parse(r.mode).execution != "fit" and not tiers.parse(r.mode).channels_last]
        if not eager or not compiled:
            continue
        eager, fastest = eager[0], min(compiled, key=lambda r: r.median_ms)
        ratio = S.compare(fastest, eager)
        text = f"{FRAMEWORK_LABELS[fw]}: {_ratio_words(ratio, 'compiled', 'eager’s')}"
        slower = [s for s in verdicts.slower_compiled(res) if s["framework"] == fw and s["compiled"] == fastest.label]
        parts.append(text + (f" ({verdicts.slower_why(slower[0])})" if slower else ""))
    return f"fastest compiled against eager step time, batch {batch}: " + "; ".join(parts)


def _largest(res):
    rows = S.train_rows(res.get("size_sweep"))
    width = max(r.width for r in rows)
    return rows, width


def fig_memory_modes(res) -> str:
    rows, width = _largest(res)
    parts = []
    for fw, compiled in (("torch", "compile"), ("tf", "function")):
        e = S.find(rows, framework=fw, mode="eager", width=width)[0]
        c = S.find(rows, framework=fw, mode=compiled, width=width)[0]
        parts.append(f"{FRAMEWORK_LABELS[fw]} {e.peak_rss_mib:,.0f} vs {c.peak_rss_mib:,.0f}")
    return f"peak RSS MiB, eager vs compiled, largest model ({_params(rows, width)}): " + "; ".join(parts)


def _params(rows, width) -> str:
    return f"{S.find(rows, width=width)[0].params:,} parameters"


def fig_memory_frameworks(res) -> str:
    rows, width = _largest(res)
    a = S.find(rows, framework="torch", mode="eager", width=width)[0]
    b = S.find(rows, framework="tf", mode="eager", width=width)[0]
    return f"peak RSS, eager, {_params(rows, width)}: PyTorch {a.peak_rss_mib:,.0f} MiB, TensorFlow {b.peak_rss_mib:,.0f} MiB"


def fig_overhead(res) -> str:
    rows = S.train_rows(res.get("size_sweep"))
    widths = sorted({r.width for r in rows})
    parts = []
    for fw, compiled in (("torch", "compile"), ("tf", "function")):
        ratios = []
        for w in (widths[0], widths[-1]):
            e = S.find(rows, framework=fw, mode="eager", width=w)[0]
            c = S.find(rows, framework=fw, mode=compiled, width=w)[0]
            ratios.append(f"{e.median_ms / c.median_ms:.2f}×")
        parts.append(f"{FRAMEWORK_LABELS[fw]} {' → '.join(ratios)}")
    return f"eager ÷ compiled step time, width {widths[0]} → {widths[-1]}: " + "; ".join(parts)


def fig_utilization(res) -> str:
    rows = S.train_rows(res.get("headline"), res.get("ceiling"))
    batch = _batch(rows)
    parts = []
    for fw in sides.IDS:
        r = S.best(rows, fw, batch_size=batch, precision="fp32")
        if r is None:  # a side with no fp32 row at this batch
            continue
        parts.append(f"{FRAMEWORK_LABELS[fw]} {100 * r.fraction_of_own_peak:.1f} %")
    return f"fastest fp32 row, share of own measured ceiling, batch {batch}: " + "; ".join(parts)


GPU_CLAIMS = ("c07", "c08", "c19")
FIGURES = {"c02": fig_memory_modes, "c03": fig_compile, "c07": fig_speed, "c08": fig_utilization,
           "c09": fig_memory_frameworks, "c16": fig_overhead, "c19": fig_utilization}


def verdicts_per_machine(all_results: dict, verdicts_fn, names: dict[str, str]) -> dict[str, dict[str, str]]:
    """Each measured claim's verdict word on each machine that measured it: {claim: {machine name: word}}.

    A GPU claim is decided from every GPU machine's results together (verdicts.gpu_results), so
    it counts the GPU machines and cannot differ between them here.
    """
    found: dict[str, dict[str, str]] = {}
    for mid in sorted(all_results):
        for cid, text in verdicts_fn(all_results[mid], all_results).items():
            word = verdict_word(text)
            if word and not word.lower().startswith("not measured"):
                found.setdefault(cid, {})[names[mid]] = word
    gpu = [mid for mid in sorted(all_results)
           if (all_results[mid].get("headline") or {}).get("manifest", {}).get("device") == "cuda"]
    for cid in GPU_CLAIMS:
        if gpu and cid in found:
            word = next(iter(found[cid].values()))
            found[cid] = {names[mid]: word for mid in gpu}
    return found


def machines_note(per_machine: dict[str, str] | None) -> str:
    """``on 2 machines``, or where the verdict differs between them, which machine says what."""
    if not per_machine:
        return ""
    if len(set(per_machine.values())) > 1:
        parts = "; ".join(f"{word} on {name}" for name, word in per_machine.items())
        return f'<br><span class="glance-machines glance-machines--differs">differs between machines: {parts}</span>'
    count = len(per_machine)
    return f'<br><span class="glance-machines">on {count} machine{"s" if count > 1 else ""}</span>'


def glance_md(res: dict, verdicts: dict[str, str], device_note: str, gpu_res: dict | None = None,
              machine_verdicts: dict[str, dict[str, str]] | None = None) -> str:
    """The compact claims table; ``verdicts`` holds each measured claim's generated verdict text.

    ``gpu_res`` is a GPU machine's results, where any are stored: the GPU claims' verdicts are
    decided from those, so their deciding figures must come from the same results.
    ``machine_verdicts`` (verdicts_per_machine) adds, under a measured claim's badge, on how many
    machines it was measured, and flags a verdict that differs between them.
    """
    out = ["| ID | Claim | Verdict | Deciding figure | Details |", "|---|---|---|---|---|"]
    table = claims.verdict_table(verdicts)
    for row in ledger():
        cid = row["id"].lower()
        verdict = table[row["id"]]
        figure = NONE
        source = gpu_res if cid in GPU_CLAIMS and gpu_res else res
        if cid in FIGURES and source:
            try:
                figure = FIGURES[cid](source)
            except (KeyError, IndexError, ValueError, StopIteration, TypeError, AttributeError):
                figure = NONE
            on_gpu = (source.get("headline") or {}).get("manifest", {}).get("device") == "cuda"
            if cid in GPU_CLAIMS and figure != NONE and not on_gpu:
                figure = f"CPU only: {figure}"
        if figure == NONE:  # marked, so a phone can drop the empty line (docs/stylesheets/guide.css)
            figure = f'<span class="glance-none">{NONE}</span>'
        badge = verdict.badge()
        if cid in verdicts:
            badge += machines_note((machine_verdicts or {}).get(cid))
        where = row["where"]
        out.append(f"| [{row['id']}](claims.md#{cid}) | {row['claim']} | {badge} | {figure} | {where} |")
    # The wrapper gives the stylesheet a hook: on a phone each row becomes a compact card (docs/stylesheets).
    table = '<div class="glance" markdown>\n\n' + "\n".join(out) + "\n\n</div>\n"
    return (f"{device_note}\n\n" if device_note else "") + table
