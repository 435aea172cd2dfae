"""The Speed page's opening findings: the hardware, then the comparisons, the rest folded.

The bullets' words are in ``templates/summary.md.j2``; this module picks the
rows each bullet speaks about and formats their figures.
"""

from __future__ import annotations

from engine import sides
from engine.bench import stats
from engine.bench import summarize as S
from engine.bench.cases import CASES, FRAMEWORK_LABELS
from engine.bench.render.format import NOT_MEASURED, PRECISION_NAMES, hardware, hw_phrase, lead_batch, say
from engine.bench.render.tables import allocator_pairs, best_pairs
from engine.bench.render.verdicts import verdict_c03

SUMMARY_SHOWN = 4  # findings shown before the fold, after the hardware line


def _say(macro: str, **values) -> str:
    return say("summary.md.j2", macro, **values)


def _best_sentences(res, case: str = "headline") -> list[str]:
    """Each framework at its fastest, per precision, at the lead batch (128 where measured)."""
    rows = S.train_rows(res.get(case), res.get("ceiling"))
    if not rows:
        return []
    batch = lead_batch(rows)
    return [_say("best", batch=b, precision=PRECISION_NAMES[precision], torch_label=a.label, tf_label=t.label,
                 comparison=S.compare(a, t).describe("PyTorch", "TensorFlow"))
            for b, precision, a, t in best_pairs(rows) if b == batch]


def _model_sentence(res, case: str) -> str:
    """The Transformer's or the ResNet's each-at-its-best comparison, from its own rows."""
    parts = _best_sentences(res, case=case)
    if not parts:
        return ""
    described = CASES[case].description
    size = described.DEFAULT_SIZE
    return _say("model_speed", title=described.TITLE[0].upper() + described.TITLE[1:],
                params=f"{described.trainable_params(size):,}", parts=parts)


def _allocator_sentence(res) -> str:
    """One line on what glibc's malloc defaults cost, at the largest batch each mode was run."""
    pairs = [(r, h) for r, h in allocator_pairs(res.get("allocator")) if h]
    largest = [max((pair for pair in pairs if (pair[0].framework, pair[0].mode) == key),
                   key=lambda pair: pair[0].batch_size)
               for key in sorted({(r.framework, r.mode) for r, _ in pairs}, key=lambda k: (sides.order(k[0]), k[1]))]
    if not largest:
        return ""
    parts = []
    for r, h in largest:
        ratio = S.compare(r, h)
        parts.append({"label": r.label, "batch": r.batch_size, "significant": ratio.significant,
                      "ratio": f"{ratio.ratio:.2f}", "low": f"{ratio.low:.2f}", "high": f"{ratio.high:.2f}"})
    return _say("allocator", parts=parts)


def _utilization_sentence(res) -> str:
    """The first batch and precision's fastest rows against their own and the machine's ceiling."""
    for batch, precision, a, b in best_pairs(S.train_rows(res.get("headline"), res.get("ceiling"))):
        if a.peak and a.own_peak and b.own_peak:
            rows = [{"label": r.label, "gflops": f"{r.flops_per_s / 1e9:.1f}", "framework": FRAMEWORK_LABELS[r.framework],
                     "own_pct": f"{100 * r.fraction_of_own_peak:.1f}", "own": f"{r.own_peak / 1e9:.1f}",
                     "machine_pct": f"{100 * r.fraction_of_peak:.1f}", "machine": f"{r.peak / 1e9:.1f}"}
                    for r in (a, b)]
            return _say("utilization", batch=batch, precision=PRECISION_NAMES[precision], rows=rows)
    return ""


def summary_md(res, all_results) -> str:
    if not res:
        return _say("not_measured", text=NOT_MEASURED) + "\n"
    any_result = next(iter(res.values()))
    bullets = [_say("hardware", text=hardware(any_result))]
    if res.get("headline") and (parts := _best_sentences(res)):
        bullets.append(_say("cnn_speed", hw=hw_phrase(res["headline"]), parts=parts))
    for case in ("transformer", "resnet"):
        bullets.append(_model_sentence(res, case))
    bullets.append(_allocator_sentence(res))
    if c03 := verdict_c03(res):
        bullets.append(_say("eager_vs_compiled", lead=c03.lead))
    if res.get("headline"):
        bullets.append(_utilization_sentence(res))
    if acc := S.accuracy_rows(res.get("time_to_accuracy")):
        bullets.append(_say("accuracy", dataset=acc[0]["dataset"], target=f"{acc[0]['target']:.2f}", rows=[
            {"label": r["label"], "reached": r["reached"], "seconds": f"{r['train_s']:.1f}", "steps": f"{r['steps']:.0f}"}
            for r in acc]))
    if inf := S.infer_rows(res.get("inference")):
        bullets.append(_say("inference", rows=[{"label": r["label"], "p50": f"{r['p50']:.3f}"} for r in inf]))
    rows = S.train_rows(res.get("headline"))
    if unstable := [r for r in rows if r.unstable]:
        bullets.append(_say("unstable", count=len(unstable), total=len(rows), limit=f"{100 * stats.UNSTABLE_RIQR:.0f}"))
    if disagree := [c for c in S.repeat_checks(rows, res.get("headline")) if c["disagrees"]]:
        bullets.append(_say("disagree", rows=[f"{c['row'].label}, batch {c['row'].batch_size}" for c in disagree]))
    bullets = [b for b in bullets if b]
    # The hardware and the first findings up front; the rest folded, so the page opens short.
    return _say("page", shown=bullets[:SUMMARY_SHOWN + 1], folded=bullets[SUMMARY_SHOWN + 1:]) + "\n"
