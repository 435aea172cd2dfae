"""The measured claims' verdicts: a verdict word, one sentence, and the small table of figures behind it.

The code decides the outcome and formats the figures; the words are in
``templates/verdicts.md.j2`` (one macro per claim), laid out by
``templates/verdict.md.j2``. ``glance`` reads the bold verdict word back for the
home page's badge, so every lead starts with one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from common import tiers
from engine import claims
from engine.bench import summarize as S
from engine.bench.cases import FRAMEWORK_LABELS, mode_label
from engine.bench.render.format import (
    NOT_MEASURED,
    PRECISION_NAMES,
    _f,
    fill,
    hw_phrase,
    lead_batch,
    ratio_ci,
    say,
    share_with_templates,
    table,
)
from engine.bench.render.tables import best_pairs, outcome, outcome_cell

MEASURED_CLAIMS = tuple(claims.measured_ids())  # the claims table's: claims benchmark cases test
CLAIM_TITLES = claims.titles()  # the claims table's short names of the measured claims
# A claim about "very large" or "larger" models is only judged on a sweep that reaches this size.
SCALE_PARAMS = 10_000_000
SAME_WITHIN = 0.05  # memory figures closer than this count as equal (a trend, not a tested difference)
share_with_templates(within=f"{100 * SAME_WITHIN:.0f} %")  # the templates quote it as {{ within }}


@dataclass
class Verdict:
    lead: str  # "**Not supported** here. One sentence." (the summary quotes only this)
    header: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    note: str = ""  # what was measured, where: the italic line under the table

    def md(self) -> str:
        body = table(self.header, self.rows) if self.rows else ""
        return fill("verdict.md.j2", lead=self.lead, table=body, note=self.note).rstrip("\n")


def _say(macro: str, **values) -> str:
    return say("verdicts.md.j2", macro, **values)


def gpu_results(all_results: dict) -> list[tuple[str, dict]]:
    return [(mid, cases) for mid, cases in sorted(all_results.items())
            if cases.get("headline", {}).get("manifest", {}).get("device") == "cuda"]


def _params_range(rows) -> str:
    params = sorted({r.params for r in rows})
    return f"{params[0]:,}–{params[-1]:,} parameters" if len(params) > 1 else f"{params[0]:,} parameters"


def _sign(a: float, b: float) -> int:
    """+1 when ``a`` is more than SAME_WITHIN above ``b``, -1 when more than that below, else 0."""
    diff = (a - b) / max(a, b, 1e-9)
    return 0 if abs(diff) <= SAME_WITHIN else (1 if diff > 0 else -1)


def _difference(a: float, b: float) -> str:
    """``+4.1 %``: how far ``a`` lies above ``b``, and whether that counts."""
    sign = _sign(a, b)
    return f"{100 * (a - b) / b:+.1f} %" + (f" (within {100 * SAME_WITHIN:.0f} %)" if sign == 0 else "")


def slower_compiled(res) -> list[dict]:
    """Each framework whose fastest compiled fp32 tier was significantly slower than eager at the lead batch,
    and whether the op profile measured both tiers (so it can show where the time went)."""
    rows = S.train_rows(res.get("headline"))
    if not rows:
        return []
    profiled = {(p["framework"], p["mode"]) for p in S.profile_rows(res.get("op_profile"))}
    batch = lead_batch(rows)
    found = []
    for eager in [r for r in S.find(rows, batch_size=batch, precision="fp32") if not r.compiled]:
        layout = tiers.parse(eager.mode).channels_last
        compiled = [r for r in S.find(rows, framework=eager.framework, batch_size=batch, precision="fp32")
                    if r.compiled and tiers.parse(r.mode).execution != "fit"
                    and tiers.parse(r.mode).channels_last == layout]
        if not compiled:
            continue
        fastest = min(compiled, key=lambda r: r.median_ms)
        ratio = S.compare(fastest, eager)
        if ratio.significant and ratio.ratio > 1:
            found.append({"framework": eager.framework, "compiled": fastest.label, "eager": eager.label,
                          "profiled": {(eager.framework, eager.mode), (fastest.framework, fastest.mode)} <= profiled})
    return found


def slower_why(item: dict) -> str:
    """``[why: op profile](speed.md#why)`` or ``not explained yet``, for the home page's figure."""
    return _say("slower_why", s=item)


def verdict_c03(res) -> Verdict | None:
    """Within each framework: eager against the fastest compiled execution of the same layout and precision."""
    head = res.get("headline")
    rows = S.train_rows(head)
    if not rows:
        return None
    batch = lead_batch(rows)
    table_rows, outcomes = [], []
    for eager in [r for r in S.find(rows, batch_size=batch, precision="fp32") if not r.compiled]:
        layout = tiers.parse(eager.mode).channels_last
        compiled = [r for r in S.find(rows, framework=eager.framework, batch_size=batch, precision="fp32")
                    if r.compiled and tiers.parse(r.mode).execution != "fit"
                    and tiers.parse(r.mode).channels_last == layout]
        if not compiled:
            continue
        fastest = min(compiled, key=lambda r: r.median_ms)
        ratio = S.compare(fastest, eager)
        outcomes.append("faster" if ratio.significant and ratio.ratio < 1 else
                        "slower" if ratio.significant else "same")
        table_rows.append([FRAMEWORK_LABELS[eager.framework], eager.label, fastest.label, _f(eager.median_ms, 2),
                           _f(fastest.median_ms, 2), ratio_ci(ratio, "×"),
                           outcome_cell(ratio, "compiled faster", "eager faster")])
    if not outcomes:
        return None
    result = ("supported" if all(o == "faster" for o in outcomes) else
              "refuted" if all(o != "faster" for o in outcomes) else "depends")
    return Verdict(_say("c03", outcome=result, batch=batch, faster=outcomes.count("faster"), pairs=len(outcomes)),
                   ["Framework", "Eager", "Fastest compiled", "Eager ms", "Compiled ms",
                    "Compiled ÷ eager time (95% CI)", "Result"], table_rows,
                   _say("c03_note", batch=batch, hw=hw_phrase(head), slower=slower_compiled(res)))


def verdict_c02(res) -> Verdict | None:
    rows = S.train_rows(res.get("size_sweep"))
    table_rows, signs = [], []
    for fw, compiled_mode in (("torch", "compile"), ("tf", "function")):
        for width in sorted({r.width for r in rows}):
            e = S.find(rows, framework=fw, mode="eager", width=width)
            c = S.find(rows, framework=fw, mode=compiled_mode, width=width)
            if not e or not c or not e[0].peak_rss_mib or not c[0].peak_rss_mib:
                continue
            e, c = e[0], c[0]
            signs.append(_sign(e.peak_rss_mib, c.peak_rss_mib))
            table_rows.append([FRAMEWORK_LABELS[fw], f"{e.params:,}", c.label, _f(e.peak_rss_mib, 0),
                               _f(c.peak_rss_mib, 0), _difference(e.peak_rss_mib, c.peak_rss_mib)])
    if not signs:
        return None
    result = ("supported" if all(s > 0 for s in signs) else "refuted" if all(s <= 0 for s in signs) else "depends")
    return Verdict(_say("c02", outcome=result, higher=signs.count(1), lower=signs.count(-1), pairs=len(signs)),
                   ["Framework", "Parameters", "Compiled as", "Eager peak MiB", "Compiled peak MiB",
                    "Eager above compiled"], table_rows,
                   _say("c02_note", hw=hw_phrase(res["size_sweep"])))


def verdict_c09(res) -> Verdict | None:
    """Memory of the two frameworks on both metrics: peak RSS and growth after build."""
    rows = S.train_rows(res.get("size_sweep"))
    table_rows, signs = [], {"peak": [], "growth": []}
    for width in sorted({r.width for r in rows}):
        for torch_mode, tf_mode in (("eager", "eager"), ("compile", "function")):
            a = S.find(rows, framework="torch", mode=torch_mode, width=width)
            b = S.find(rows, framework="tf", mode=tf_mode, width=width)
            if not a or not b or a[0].peak_rss_mib is None or b[0].peak_rss_mib is None:
                continue
            a, b = a[0], b[0]
            signs["peak"].append(_sign(a.peak_rss_mib, b.peak_rss_mib))
            grown = a.rss_growth_mib is not None and b.rss_growth_mib is not None
            if grown:
                signs["growth"].append(_sign(a.rss_growth_mib, b.rss_growth_mib))
            table_rows.append([f"{a.params:,}", f"{torch_mode} / {tf_mode}", _f(a.peak_rss_mib, 0),
                               _f(b.peak_rss_mib, 0), f"+{a.rss_growth_mib:,.0f}" if grown else "–",
                               f"+{b.rss_growth_mib:,.0f}" if grown else "–"])
    if not table_rows:
        return None

    def direction(values):
        if values and all(v > 0 for v in values):
            return "tf"  # PyTorch higher everywhere: TensorFlow used less
        if values and all(v < 0 for v in values):
            return "torch"
        if values and all(v == 0 for v in values):
            return "same"
        return "mixed"

    peak, growth = direction(signs["peak"]), direction(signs["growth"])
    result = peak if (growth != "mixed" and peak == growth) or not signs["growth"] else "metric"
    at_scale = max(r.params for r in rows) >= SCALE_PARAMS
    manifest = res["size_sweep"]["manifest"]
    return Verdict(_say("c09", outcome=result, peak=peak, growth=growth, params=_params_range(rows),
                        at_scale=at_scale),
                   ["Parameters", "PyTorch / TF mode", "PyTorch peak MiB", "TensorFlow peak MiB",
                    "PyTorch growth MiB", "TensorFlow growth MiB"], table_rows,
                   _say("c09_note", hw=hw_phrase(res["size_sweep"]), gpu=manifest["device"] == "cuda"))


def verdict_c16(res) -> Verdict | None:
    """Does eager fall further behind compiled as the batch or the model grows?"""
    rows_out, trends, all_rows = [], [], []
    sweeps = (("headline", "batch_size", "batch", (("torch", "eager-cl", "compile-cl"), ("tf", "eager", "function"))),
              ("size_sweep", "params", "parameters", (("torch", "eager", "compile"), ("tf", "eager", "function"))))
    for case, attr, what, pairs in sweeps:
        rows = [r for r in S.train_rows(res.get(case)) if r.precision == "fp32"]
        all_rows += rows
        for fw, eager_mode, compiled_mode in pairs:
            xs = sorted({getattr(r, attr) for r in S.find(rows, framework=fw, mode=eager_mode)}
                        & {getattr(r, attr) for r in S.find(rows, framework=fw, mode=compiled_mode)})
            if len(xs) < 2:
                continue
            ratios, processes = [], []
            for x in (xs[0], xs[-1]):
                e = S.find(rows, framework=fw, mode=eager_mode, **{attr: x})[0]
                c = S.find(rows, framework=fw, mode=compiled_mode, **{attr: x})[0]
                ratios.append(e.median_ms / c.median_ms)
                processes += [len(e.runs), len(c.runs)]
            # The claim holds for a sweep only if eager ends up slower AND falls further behind.
            grew = ratios[1] > ratios[0] * (1 + SAME_WITHIN) and ratios[1] > 1.0
            trends.append(grew)
            rows_out.append([f"{FRAMEWORK_LABELS[fw]}, {what} {xs[0]:,} → {xs[-1]:,}", mode_label(fw, eager_mode),
                             mode_label(fw, compiled_mode), f"{ratios[0]:.2f}× → {ratios[1]:.2f}×",
                             "yes" if grew else "no", str(min(processes))])
    if not rows_out:
        return None
    tested = (f"{_params_range(all_rows)}, batch {min(r.batch_size for r in all_rows)}–"
              f"{max(r.batch_size for r in all_rows)}, fp32")
    result = ("small" if max(r.params for r in all_rows) < SCALE_PARAMS else
              "supported" if all(trends) else "refuted" if not any(trends) else "depends")
    return Verdict(_say("c16", outcome=result, grew=sum(trends), sweeps=len(trends), tested=tested),
                   ["Sweep", "Eager", "Compiled", "Eager ÷ compiled step time, first → last",
                    "Eager fell further behind?", "Processes per point"], rows_out,
                   _say("c16_note", hw=hw_phrase(res.get("headline") or res["size_sweep"])))


def _speed_rows(res, with_machine: bool = False) -> tuple[list[list[str]], list[str]]:
    """Each framework at its fastest, per precision, at the lead batch; and each row's outcome."""
    rows = S.train_rows(res.get("headline"), res.get("ceiling"))
    if not rows:
        return [], []
    batch = lead_batch(rows)
    table_rows, outcomes = [], []
    for b, precision, a, t in best_pairs(rows):
        if b != batch:
            continue
        ratio = S.compare(a, t)
        outcomes.append(outcome(ratio))
        table_rows.append(([hw_phrase(res["headline"])] if with_machine else [])
                          + [str(b), PRECISION_NAMES[precision], a.label, _f(a.median_ms, 2), t.label,
                             _f(t.median_ms, 2), ratio_ci(ratio, "×"), outcome_cell(ratio)])
    return table_rows, outcomes


_SPEED_HEADER = ["Batch", "Precision", "PyTorch's fastest", "ms", "TensorFlow's fastest", "ms",
                 "PyTorch ÷ TF time (95% CI)", "Result"]


def verdict_c07(res, all_results) -> Verdict | None:
    gpu = gpu_results(all_results)
    if gpu:
        table_rows, outcomes = [], []
        for _machine, cases in gpu:
            rows, found = _speed_rows(cases, with_machine=True)
            table_rows += rows
            outcomes += found
        if not outcomes:
            return None
        same = outcomes.count("no significant difference")
        result = "supported" if same == len(outcomes) else "refuted" if same == 0 else "depends"
        return Verdict(_say("c07", outcome=result, same=same, pairs=len(outcomes)),
                       ["Measured on", *_SPEED_HEADER], table_rows, _say("c07_note", hw=None))
    table_rows, outcomes = _speed_rows(res)
    if not table_rows:
        return None
    return Verdict(_say("c07", outcome="cpu", same=outcomes.count("no significant difference"), pairs=len(outcomes)),
                   _SPEED_HEADER, table_rows, _say("c07_note", hw=hw_phrase(res["headline"])))


def _utilization(res) -> tuple[list[list[str]], list[tuple[float, float]], int | None]:
    """At the lead batch, per precision, each framework's fastest row against its own and the machine's ceiling;
    with each pair's (PyTorch, TensorFlow) share of its own ceiling, and that batch."""
    rows = S.train_rows(res.get("headline"), res.get("ceiling"))
    table_rows, shares = [], []
    lead = lead_batch(rows) if rows else None  # the other batches are in the full table: keep this one small
    for batch, precision, a, b in best_pairs(rows):
        if batch != lead or not (a.peak and a.own_peak and b.own_peak):
            continue
        shares.append((a.fraction_of_own_peak, b.fraction_of_own_peak))
        for r in (a, b):
            table_rows.append([PRECISION_NAMES[precision], r.label, f"{r.flops_per_s / 1e9:.1f}",
                               f"{100 * r.fraction_of_own_peak:.1f} % of {r.own_peak / 1e9:.1f}",
                               f"{100 * r.fraction_of_peak:.1f} % of {r.peak / 1e9:.1f}"])
    return table_rows, shares, lead


_UTILIZATION_HEADER = ["Precision", "Fastest row", "GFLOP/s", "Share of own framework's ceiling (GFLOP/s)",
                       "Share of the machine's ceiling (GFLOP/s)"]


def _utilization_source(res, all_results):
    """The GPU results where any are stored, else this build's own (CPU) ones."""
    gpu = gpu_results(all_results)
    return (gpu[0][1], True) if gpu else (res, False)


def verdict_c08(res, all_results) -> Verdict | None:
    source, on_gpu = _utilization_source(res, all_results)
    table_rows, shares, batch = _utilization(source)
    if not table_rows:
        return None
    tf_ahead = sum(tf > torch for torch, tf in shares)
    result = ("cpu" if not on_gpu else "supported" if tf_ahead == len(shares) else
              "refuted" if tf_ahead == 0 else "depends")
    return Verdict(_say("c08", outcome=result, tf_ahead=tf_ahead, pairs=len(shares)), _UTILIZATION_HEADER,
                   table_rows, _say("utilization_note", batch=batch, hw=hw_phrase(source["headline"])))


def verdict_c19(res, all_results) -> Verdict | None:
    source, on_gpu = _utilization_source(res, all_results)
    table_rows, shares, batch = _utilization(source)
    if not table_rows:
        return None
    own = [share for pair in shares for share in pair]
    return Verdict(_say("c19", on_gpu=on_gpu, low=f"{100 * min(own):.1f}", high=f"{100 * max(own):.1f}"),
                   _UTILIZATION_HEADER, table_rows, _say("utilization_note", batch=batch, hw=hw_phrase(source["headline"])))


def verdicts_md(res, all_results) -> dict[str, str]:
    """Every measured claim's verdict fragment, ``NOT_MEASURED`` in words where its results are missing."""
    makers = {
        "c02": lambda: verdict_c02(res), "c03": lambda: verdict_c03(res),
        "c07": lambda: verdict_c07(res, all_results), "c08": lambda: verdict_c08(res, all_results),
        "c09": lambda: verdict_c09(res), "c16": lambda: verdict_c16(res),
        "c19": lambda: verdict_c19(res, all_results),
    }
    texts = {}
    for claim in MEASURED_CLAIMS:
        try:
            verdict = makers[claim]() if res else None
        except (KeyError, IndexError, ValueError):
            verdict = None
        texts[claim] = verdict.md() if verdict else f"*{CLAIM_TITLES[claim]}: {NOT_MEASURED}.*"
    return texts
