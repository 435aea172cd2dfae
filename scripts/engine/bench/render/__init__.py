"""Render stored results into Markdown fragments and SVG charts under docs/generated/bench/.

Same results in, same bytes out: the bootstrap is seeded, the SVG hash salt
and fonts are fixed, no dates are stamped except the results' own, and every
file goes through ``write_if_changed``. Figures in prose come from the
results, never from a typed number; the prose itself is in Jinja2 templates
(``scripts/engine/bench/templates/``), so a writer can reword a sentence
without reading Python.

    format    numbers, Markdown tables, the hardware line, the template loader
    charts    SVG charts, their alt text and the Markdown that shows them
    tables    one table (and the notes under it) per fragment
    verdicts  the measured claims' verdicts: word, sentence, figures
    summary   the Speed page's opening findings
    (here)    the provenance line above each table and ``render_all``, the list of outputs
"""

from __future__ import annotations

import textwrap
from pathlib import Path

from engine import atomic, claims, environment, machine, paths
from engine.bench import decide, generic, glance, store
from engine.bench import summarize as S
from engine.bench.cases import CASES
from engine.bench.render import machines as machines_mod
from engine.bench.render.blocks import blocks_md
from engine.bench.render.charts import (
    THEMES,
    alt_memory,
    alt_profile,
    alt_step_time,
    chart_md,
    chart_memory,
    chart_placeholder,
    chart_profile,
    chart_step_time,
    series_style,
)
from engine.bench.render.format import BANNER, NOT_MEASURED, hardware, hw_phrase, say
from engine.bench.render.pairing import pairing_md
from engine.bench.render.summary import summary_md
from engine.bench.render.tables import (
    accuracy_md,
    allocator_md,
    best_md,
    best_pairs,
    ceiling_md,
    dispatch_md,
    headline_md,
    inference_md,
    profile_md,
    profile_selection,
    size_md,
    workloads_md,
)
from engine.bench.render.verdicts import CLAIM_TITLES, MEASURED_CLAIMS, gpu_results, verdicts_md

# What other code and the tests reach through ``render`` itself (``render.render_all``, ``render.best_pairs``).
__all__ = ["CLAIM_TITLES", "MEASURED_CLAIMS", "best_md", "best_pairs", "headline_md", "out_dir", "render_all",
           "series_style", "summary_md"]


def out_dir() -> Path:
    return paths.GENERATED_DIR / "bench"


def _prov(macro: str, **values) -> str:
    return say("provenance.md.j2", macro, **values)


def _allocator_settings(manifest: dict) -> list[str | None] | None:
    """The glibc malloc setting each timed process ran with (``None``: glibc's defaults)."""
    if manifest.get("child_env_variants"):  # a case that compares settings names each one
        return [env.get("GLIBC_TUNABLES") for env in manifest["child_env_variants"].values()]
    if manifest.get("child_env") is None:  # results from before the harness recorded its environment
        return None
    return [manifest["child_env"].get("GLIBC_TUNABLES")]


def provenance(result: dict, reasons: list[str]) -> str:
    m = result["manifest"]
    v = m.get("versions", {})
    settings = _allocator_settings(m)
    text = _prov("line", hardware=hardware(result), torch=v.get("torch", "?"),
                 tensorflow=v.get("tensorflow") or v.get("tensorflow-cpu", "?"), keras=v.get("keras", "?"),
                 python=v.get("python", "?"), date=m.get("timestamp", "?")[:10], profile=result["profile"],
                 threads=m.get("threads", {}).get("intra_op", "?"),
                 allocator=_prov("allocator", settings=settings) if settings else "")
    load = m.get("load_average_before")
    if load and load[0] > m.get("usable_cores", 1):
        text += _prov("busy", load=f"{load[0]:.1f}", cores=m["usable_cores"]) + "\n"
    if reasons:
        text += _prov("stale", reasons=reasons) + "\n"
    failed = S.failed_runs(result)
    if result.get("status") in ("failed", "partial") or failed:
        text += _prov("failed", count=len(failed), reason=result.get("failure", {}).get("reason", "see results file")) + "\n"
    return text + "\n"


def primary_machine(all_results: dict, here: str | None = None) -> str | None:
    """The machine whose results fill the page's tables: this build's wherever it has any.

    Only a build that did not measure (GUIDE_RUN=none, GUIDE_BENCH_RUN=none) on a machine with no
    stored results shows another machine's, the newest, and ``whose.md`` says so in the page's first lines.
    """
    if not all_results:
        return None
    here = here or environment.machine_id()
    if here in all_results:
        return here
    return max(all_results, key=lambda mid: max(r["manifest"].get("timestamp", "") for r in all_results[mid].values()))


def render_all(root: Path | None = None, target: Path | None = None) -> list[Path]:
    """Write every fragment and chart; return the files that changed."""
    all_results = store.load_all(root)
    target = target or out_dir()
    here = environment.machine_id()
    primary = primary_machine(all_results, here)
    res = all_results.get(primary, {}) if primary else {}
    files: dict[str, str | bytes] = {}

    def stale(case_name):
        result = res.get(case_name)
        if not result or case_name not in CASES:
            return []
        # Another machine's results are not stale for being another machine's: whose.md says whose they are.
        return store.stale_reasons(result, CASES[case_name]) if primary == here else \
            store.code_reasons(result, CASES[case_name])

    def fragment(name, case_name, body_fn):
        result = res.get(case_name)
        title = CASES[case_name].title
        if not result or not S.ok_runs(result):
            reason = result["failure"]["reason"] if result and result.get("failure") else ""
            files[name] = BANNER + _prov("missing", title=title, text=NOT_MEASURED, reason=reason) + "\n"
            return
        wrong = S.device_mismatches(result)
        if wrong:  # a table labelled with one device must not show rows measured on another
            files[name] = BANNER + _prov("wrong_device", title=title, device=result["manifest"]["device"],
                                         problems=wrong[:5]) + "\n"
            return
        files[name] = BANNER + provenance(result, stale(case_name)) + "\n" + body_fn(result)

    fragment("ceiling.md", "ceiling", ceiling_md)
    fragment("headline.md", "headline", lambda r: headline_md(r, res.get("ceiling")))
    fragment("best.md", "headline", lambda r: best_md(r, res.get("ceiling")))
    fragment("allocator.md", "allocator", allocator_md)
    for name in ("transformer", "resnet"):  # the models people train now, same tables as the CNN's
        fragment(f"{name}.md", name, lambda r: headline_md(r, res.get("ceiling")))
        fragment(f"{name}_best.md", name, lambda r: best_md(r, res.get("ceiling")))
    files["workloads.md"] = BANNER + workloads_md()
    fragment("size_sweep.md", "size_sweep", lambda r: size_md(r, res.get("ceiling")))
    fragment("input_pipeline.md", "input_pipeline", lambda r: headline_md(r, res.get("ceiling")))
    fragment("inference.md", "inference", inference_md)
    fragment("op_profile.md", "op_profile", lambda r: profile_md(r, res.get("headline")))
    fragment("dispatch.md", "dispatch", dispatch_md)
    fragment("time_to_accuracy.md", "time_to_accuracy", accuracy_md)
    for name in generic.cases_without_fragment(files):  # a page's case with no renderer of its own
        fragment(f"{name}.md", name, generic.case_md)

    size_x = "trainable parameters (Transformer sizes)"
    for case_name, stem, fn, alt_fn, link in (
        ("headline", "headline_step_time",
         lambda rows, cap, theme: chart_step_time(rows, "batch_size", "batch size", cap, theme),
         lambda rows, title: alt_step_time(rows, "batch_size", "batch", title),
         ("speed.md#c07", "the training-speed table")),
        ("size_sweep", "size_sweep_step_time",
         lambda rows, cap, theme: chart_step_time(rows, "params", size_x, cap, theme),
         lambda rows, title: alt_step_time(rows, "params", "parameters", title),
         ("speed.md#c02", "the model-size table")),
        ("size_sweep", "size_sweep_memory", chart_memory, alt_memory, ("speed.md#c02", "the model-size table")),
    ):
        rows = S.train_rows(res.get(case_name), res.get("ceiling"))
        title = CASES[case_name].title
        for theme in THEMES:
            name = f"{stem}.svg" if theme == "light" else f"{stem}-dark.svg"
            files[name] = (fn(rows, f"{title}\n{hw_phrase(res[case_name])}", theme) if rows
                           else chart_placeholder(title, theme))
        alt = alt_fn(rows, f"{title}, {hw_phrase(res[case_name])}") if rows else f"{title}: {NOT_MEASURED}"
        files[f"{stem}.md"] = BANNER + chart_md(stem, alt, *link)

    chosen = profile_selection(S.profile_rows(res.get("op_profile")), res.get("headline"))
    profile_title = CASES["op_profile"].title
    for theme in THEMES:
        name = "op_profile.svg" if theme == "light" else "op_profile-dark.svg"
        files[name] = (chart_profile(chosen, f"{profile_title}\n{hw_phrase(res['op_profile'])}", theme)
                       if chosen else chart_placeholder(profile_title, theme))
    files["op_profile_chart.md"] = BANNER + chart_md(
        "op_profile", alt_profile(chosen, f"{profile_title}, {hw_phrase(res['op_profile'])}") if chosen
        else f"{profile_title}: {NOT_MEASURED}", "speed.md#why", "the op-profile table")
    files["summary.md"] = BANNER + summary_md(res, all_results)
    verdict_texts = verdicts_md(res, all_results)
    for claim, text in verdict_texts.items():
        files[f"verdict_{claim}.md"] = BANNER + text + "\n"
    gpu = gpu_results(all_results)
    here_label = machine.label(environment.fingerprint())
    if not res.get("headline"):
        device_note = f"*{NOT_MEASURED}.*"
    elif primary == here:
        device_note = f"*Benchmarks from this build's machine: {hw_phrase(res['headline'])}.*"
    else:
        device_note = (f"*Benchmarks from {hw_phrase(res['headline'])}: **not this build's machine** ({here_label}), "
                       "which has no stored results; see [Speed](speed.md).*")
    files["glance.md"] = BANNER + glance.glance_md(
        res, verdict_texts, device_note, gpu[0][1] if gpu else None,
        machine_verdicts=glance.verdicts_per_machine(all_results, verdicts_md, machines_mod.names(all_results)))
    files["decide.md"] = BANNER + decide.decide_md(res, claims.verdict_table(verdict_texts))
    files["pairing.md"] = BANNER + pairing_md(all_results)
    files["blocks.md"] = BANNER + blocks_md(all_results)
    files["whose.md"] = BANNER + machines_mod.whose(all_results, primary, here, here_label) + "\n"
    for name, data in machines_mod.machines_files(all_results, here).items():
        files[name] = data if isinstance(data, bytes) else BANNER + data

    others = []
    for mid in sorted(all_results):
        if mid == primary or "headline" not in all_results[mid]:
            continue
        result = all_results[mid]["headline"]
        # Folded: another machine's table is reference, and the page opens short whatever is stored.
        body = textwrap.indent(headline_md(result, all_results[mid].get("ceiling")), "    ")
        others.append(f"### {hardware(result)}\n\n" + provenance(result, store.code_reasons(result, CASES["headline"]))
                      + f'??? note "{CASES["headline"].title}: every row on this machine"\n\n{body}\n')
    files["other_machines.md"] = BANNER + ("\n".join(others) if others else _prov("no_other_machines") + "\n")

    changed = []
    for name, data in sorted(files.items()):
        if atomic.write_if_changed(target / name, data):
            changed.append(target / name)
    return changed
