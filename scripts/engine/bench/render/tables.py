"""The benchmark tables: one function per fragment, each a Markdown table and the notes under it.

The tables are data (headers and formatted cells, here); the notes under them
are sentences, in ``templates/notes.md.j2``.
"""

from __future__ import annotations

import itertools

from engine import sides
from engine.bench import stats
from engine.bench import summarize as S
from engine.bench.cases import CASES, FRAMEWORK_LABELS, GLIBC_DEFAULTS, HARNESS_SETTING, mode_label
from engine.bench.op_buckets import BUCKETS
from engine.bench.render.format import NOT_MEASURED, PRECISION_NAMES, _f, _pct, ratio_ci, say, table

CONTAMINATED_CORES = 0.25  # other work's CPU use during a job above which its row is flagged


def _note(macro: str, **values) -> str:
    return say("notes.md.j2", macro, **values)


def _failed_notes(result) -> list[str]:
    return [_note("failed", framework=fail["framework"], mode=fail["mode"], batch=fail["batch_size"],
                  reason=fail["reason"]) for fail in S.failed_runs(result)]


def absent_tiers(result: dict) -> list[str]:
    """Why a precision's rows are missing, from the capability check stored with the result."""
    case = CASES.get(result.get("case"))
    caps = result["manifest"].get("capabilities")
    if not case or not caps:
        return []
    reasons: dict[str, list[str]] = {}
    for (fw, mode, _b, _w), evidence in case.absent(result["profile"], caps):
        labels = reasons.setdefault(evidence, [])
        if mode_label(fw, mode) not in labels:
            labels.append(mode_label(fw, mode))
    return [_note("absent_reason", evidence=evidence, labels=labels) for evidence, labels in reasons.items()]


def best_pairs(rows: list[S.TrainRow]) -> list[tuple[int, str, S.TrainRow, S.TrainRow]]:
    """Per batch size and precision, each framework's fastest measured row (picked here, never by hand)."""
    pairs = []
    for batch in sorted({r.batch_size for r in rows}):
        for precision in ("fp32", "bf16", "tf32"):
            a = S.best(rows, "torch", batch_size=batch, precision=precision)
            b = S.best(rows, "tf", batch_size=batch, precision=precision)
            if a and b:
                pairs.append((batch, precision, a, b))
    return pairs


def outcome(ratio: stats.Ratio, faster_a: str = "PyTorch faster", faster_b: str = "TensorFlow faster") -> str:
    """The noise rule's answer, in words (what the verdicts count)."""
    if not ratio.significant:
        return "no significant difference"
    return faster_a if ratio.ratio < 1 else faster_b


def outcome_cell(ratio: stats.Ratio, faster_a: str = "PyTorch faster", faster_b: str = "TensorFlow faster") -> str:
    """The Result cell: ``outcome``, and where the interval excludes 1.0 but the rule still says no
    difference, which of its tests held the difference back, in the same cell."""
    said = outcome(ratio, faster_a, faster_b)
    if ratio.equivalent:  # decided: tight enough to say how close (docs/method.md#noise-rule)
        said += f": the same within {100 * ratio.same_within:.1f} %"
    if not ratio.significant and ratio.interval_excludes_one and ratio.why_not:
        return f"{said} (the interval excludes 1.0; held back: {ratio.why_not})"
    return said


def _comparison_row(batch: int, what: str, a: S.TrainRow, b: S.TrainRow) -> list[str]:
    """One row of the each-at-its-best table: PyTorch's row against TensorFlow's, with the verdict."""
    ratio = S.compare(a, b)
    paired = f" paired, {ratio.processes[0]} rounds" if ratio.paired else ""
    return [str(batch), what, a.label, _f(a.median_ms, 2), b.label, _f(b.median_ms, 2),
            ratio_ci(ratio) + paired, f"**{outcome_cell(ratio)}**"]


def best_md(result, ceiling) -> str:
    """The comparison the page leads with: each framework's fastest tier, per batch and precision."""
    rows = S.train_rows(result, ceiling)
    table_rows = []
    for batch, precision, a, b in best_pairs(rows):
        table_rows.append(_comparison_row(batch, PRECISION_NAMES[precision], a, b))
    for batch in sorted({r.batch_size for r in rows}):
        a = S.find(rows, framework="torch", mode="eager", batch_size=batch)
        b = S.find(rows, framework="tf", mode="fit", batch_size=batch)
        if a and b:
            table_rows.append(_comparison_row(batch, "fp32, out of the box", a[0], b[0]))
    if not table_rows:
        return NOT_MEASURED + "\n"
    body = table(["Batch", "Precision", "PyTorch's fastest", "ms", "TensorFlow's fastest", "ms",
                  "PyTorch / TF time (95% CI)", "Verdict"], table_rows)
    notes = [_note("absent", line=line) for line in absent_tiers(result)]
    if any("paired," in row[6] for row in table_rows):
        notes.append("- A *paired* ratio is the median of the rounds' own ratios ([pairing](method.md#noise-pairing)), "
                     "so it can differ from the quotient of the two medians beside it.")
    return body + ("\n" + "\n".join(notes) + "\n" if notes else "")


def _throughput_header(rows) -> str:
    return "Tokens/s" if any(r.items_per_sample > 1 for r in rows) else "Samples/s"


def headline_md(result, ceiling) -> str:
    rows = S.train_rows(result, ceiling)
    body = table(
        ["Mode", "Tier", "Precision", "Batch", "Step ms (median)", "Process medians ms", "Noise band",
         _throughput_header(rows), "Compile s", "Peak RSS MiB", "GFLOP/s", "% of own ceiling", "% of machine ceiling",
         "Rounds × steps", "Other load (cores)"],
        [[r.label + (" *(carried over)*" if r.carried_over else ""), r.tier, PRECISION_NAMES[r.precision],
          str(r.batch_size), _f(r.median_ms, 2),
          f"{_f(min(r.process_medians_ms), 2)}–{_f(max(r.process_medians_ms), 2)}",
          _pct(r.noise_band) + (" **unstable**" if r.unstable else ""), _f(r.items_per_s, 0),
          _f(r.compile_s, 2), _f(r.peak_rss_mib, 0), _f(r.flops_per_s / 1e9, 1),
          _pct(r.fraction_of_own_peak), _pct(r.fraction_of_peak), f"{len(r.runs)} × {len(r.runs[0])}",
          _f(r.foreign_cores, 2)] for r in rows])
    lines = _failed_notes(result)
    if blocked := [r for r in rows if S.blocks_of(r, result)]:
        lines.append(_note("blocks", count=len(blocked)))
    unstable = [r for r in rows if r.unstable]
    if unstable:
        lines.append(_note("unstable", count=len(unstable), limit=f"{100 * stats.UNSTABLE_RIQR:.0f}",
                           rows=[f"{r.label}, batch {r.batch_size}" for r in unstable]))
    busy = [r for r in rows if r.foreign_cores and r.foreign_cores > CONTAMINATED_CORES]
    if busy:
        lines.append(_note("busy", count=len(busy), cores=CONTAMINATED_CORES))
    over = [r for r in rows if r.fraction_of_own_peak and r.fraction_of_own_peak > 1.0]
    if over:
        lines.append(_note("over_ceiling", count=len(over)))
    checks = S.repeat_checks(rows, result)
    if checks:
        disagree = [{"label": c["row"].label, "batch": c["row"].batch_size, "ratio": f"{c['ratio'].ratio:.2f}"}
                    for c in checks if c["disagrees"]]
        lines.append(_note("repeat_check", agreed=len(checks) - len(disagree), total=len(checks), disagree=disagree))
    return body + "\n" + "\n".join(lines) + "\n"


def allocator_pairs(result) -> list[tuple[S.TrainRow, S.TrainRow | None]]:
    """Each configuration under glibc's defaults with the same one under the harness's setting."""
    return S.paired(S.train_rows(result, variant=GLIBC_DEFAULTS),
                    S.train_rows(result, variant=HARNESS_SETTING))


def allocator_md(result) -> str:
    """The same steps under glibc's malloc defaults and the harness's setting, measured back to back."""

    def spread(row):
        medians = [stats.median(run) for run in row.runs]
        return f"{_f(min(medians), 2)}–{_f(max(medians), 2)}"

    table_rows, lines = [], []
    for r, h in allocator_pairs(result):
        table_rows.append([r.label, str(r.batch_size), _f(r.median_ms, 2), spread(r),
                           _f(h.median_ms, 2) if h else NOT_MEASURED, spread(h) if h else "–",
                           _f(r.peak_rss_mib, 0), _f(h.peak_rss_mib, 0) if h else "–",
                           f"{len(r.runs)} / {len(h.runs) if h else 0}"])
        if h:
            lines.append(_note("allocator_pair", label=r.label, batch=r.batch_size,
                               comparison=S.compare(r, h).describe("glibc's defaults", "the harness's setting")))
    body = table(["Mode", "Batch", "glibc defaults: step ms", "Process medians ms",
                  "Harness setting: step ms", "Process medians ms", "Peak RSS MiB (defaults)",
                  "Peak RSS MiB (harness)", "Processes (defaults / harness)"], table_rows)
    lines += _failed_notes(result)
    return body + "\n" + "\n".join(lines) + "\n"


def size_name(result: dict, size: int) -> str:
    """The workload's own name for a size ("4 layers, width 256, 4 heads")."""
    described = CASES[result["case"]].description
    return described.size_label(size) if described else str(size)


def size_md(result, ceiling) -> str:
    rows = S.train_rows(result, ceiling)
    return table(
        ["Mode", "Size", "Parameters", "Step ms (median)", "IQR ms", "Peak RSS MiB",
         "RSS growth after build MiB", "GFLOP/s", "% of own ceiling", "% of machine ceiling", "Processes",
         "Other load (cores)"],
        [[r.label, size_name(result, r.width), f"{r.params:,}", _f(r.median_ms, 2),
          f"{_f(r.iqr_ms[0], 2)}–{_f(r.iqr_ms[1], 2)}", _f(r.peak_rss_mib, 0), _f(r.rss_growth_mib, 0),
          _f(r.flops_per_s / 1e9, 1), _pct(r.fraction_of_own_peak), _pct(r.fraction_of_peak), str(len(r.runs)),
          _f(r.foreign_cores, 2)] for r in rows])


def workloads_md() -> str:
    """What each timed model is, from its own description (engine.bench.workload): nothing typed here."""
    seen, table_rows = set(), []
    for case in CASES.values():
        described = case.description
        if described is None or case.kind != "train" or described.__name__ in seen:
            continue
        seen.add(described.__name__)  # one row per model, however many cases time it
        config = case.grid["default"][0]
        size = described.DEFAULT_SIZE
        data = described.DATA
        data = data[case.options["data"]] if isinstance(data, dict) else data
        table_rows.append([described.TITLE, described.size_label(size), f"{described.trainable_params(size):,}",
                           str(config[2]), _f(described.train_step_flops(config[2], size) / 1e9, 2), data])
    return table(["Model", "Default size", "Trainable parameters", "Batch", "GFLOP per training step",
                  "Data"], table_rows)


def inference_md(result) -> str:
    rows = S.infer_rows(result)
    return table(
        ["Mode", "Import s", "Build s", "First call ms", "p50 ms", "p90 ms", "p99 ms", "Samples (processes)"],
        [[r["label"], _f(r["import_s"], 2), _f(r["build_s"], 2), _f(r["first_call_ms"], 1),
          _f(r["p50"], 3), _f(r["p90"], 3), _f(r["p99"], 3), f"{r['n']:,} ({r['processes']})"] for r in rows])


def accuracy_md(result) -> str:
    rows = S.accuracy_rows(result)
    if not rows:
        return NOT_MEASURED + "\n"
    head = _note("accuracy_head", dataset=rows[0]["dataset"], batch=rows[0]["batch_size"],
                 target=f"{rows[0]['target']:.2f}") + "\n\n"
    return head + table(
        ["Mode", "Reached target", "Test accuracy", "Epochs", "Steps", "Training time s (excl. evaluation)", "Processes"],
        [[r["label"], "yes" if r["reached"] else "**no**", f"{r['test_accuracy']:.3f}", _f(r["epochs"], 0),
          _f(r["steps"], 0), _f(r["train_s"], 2), str(r["processes"])] for r in rows])


def ceiling_md(result) -> str:
    rows = S.ceiling_rows(result)
    if not rows:
        return NOT_MEASURED + "\n"

    def gflops(value):
        return _f(value / 1e9 if value else None)

    body = table(
        ["Measured with", "Matmul n", "fp32 matmul GFLOP/s", "fp32 conv GFLOP/s", "bf16 matmul GFLOP/s",
         "bf16 conv GFLOP/s", "TF32 matmul GFLOP/s", "Copy GB/s (read+write)"],
        [[FRAMEWORK_LABELS[r["framework"]], str(r["matmul_size"]), gflops(r["fp32"]), gflops(r["conv_fp32"]),
          gflops(r["bf16"]), gflops(r["conv_bf16"]), gflops(r["tf32"]), _f(r["copy"] / 1e9)] for r in rows])
    notes = []
    for r in (r for r in rows if r.get("conv_layouts")):
        for dtype, by_layout in r["conv_layouts"].items():
            if len(by_layout) > 1:
                notes.append(_note("conv_layouts", framework=FRAMEWORK_LABELS[r["framework"]], dtype=dtype,
                                   layouts=[{"layout": layout, "gflops": _f(v / 1e9)}
                                            for layout, v in sorted(by_layout.items())]))
    text = body + "\n" + _note("ceiling_explained") + "\n"
    if notes:
        text += "\n" + "\n".join(notes) + "\n"
    return text


def profile_selection(profiles: list[dict], headline: dict | None) -> list[tuple[str, dict]]:
    """The profiles the chart shows: each framework's fastest fp32 and bf16 tier at batch 128 and the
    out-of-the-box setups, as the headline measured them (so the chart explains the comparison table)."""
    rows = S.train_rows(headline)
    wanted = []
    for batch, precision, a, b in best_pairs(rows):
        if batch == 128:
            wanted += [(f"fastest {PRECISION_NAMES[precision]}", a), (f"fastest {PRECISION_NAMES[precision]}", b)]
    wanted += [("out of the box", r) for r in S.find(rows, batch_size=128, mode="eager", framework="torch")]
    wanted += [("out of the box", r) for r in S.find(rows, batch_size=128, mode="fit", framework="tf")]
    chosen, seen = [], set()
    for why, row in wanted:
        match = next((p for p in profiles if (p["framework"], p["mode"]) == (row.framework, row.mode)), None)
        if match and (row.framework, row.mode) not in seen:
            seen.add((row.framework, row.mode))
            chosen.append((why, match))
    return chosen


def _bucket_gap(a: dict, b: dict, top: int = 3) -> str:
    """The buckets where two profiles differ most, in profiled ms per step, largest first."""
    diffs = sorted(BUCKETS, key=lambda k: -abs(a["buckets_ns_per_step"][k] - b["buckets_ns_per_step"][k]))[:top]
    return ", ".join(f"{k} {a['buckets_ns_per_step'][k] / 1e6:.2f} vs {b['buckets_ns_per_step'][k] / 1e6:.2f} ms"
                     for k in diffs)


def _profile_gaps(profiles: list[dict], headline: dict | None) -> list[str]:
    """Generated explanations: where the compared tiers' profiled time differs most."""
    by_mode = {(p["framework"], p["mode"]): p for p in profiles}
    lines = []
    for batch, precision, a, b in best_pairs(S.train_rows(headline)):
        pa, pb = by_mode.get(("torch", a.mode)), by_mode.get(("tf", b.mode))
        if batch == 128 and pa and pb:
            lines.append(_note("profile_gap_best", precision=PRECISION_NAMES[precision], torch_label=a.label,
                               tf_label=b.label, gap=_bucket_gap(pa, pb)))
    for fw, eager_mode, compiled_modes in (("torch", "eager-cl", ("compile-cl", "autotune-cl")),
                                           ("torch", "eager", ("compile",)), ("tf", "eager", ("function", "xla"))):
        for compiled in compiled_modes:
            pe, pc = by_mode.get((fw, eager_mode)), by_mode.get((fw, compiled))
            if pe and pc:
                lines.append(_note("profile_gap_compiled", compiled=mode_label(fw, compiled),
                                   eager=mode_label(fw, eager_mode), gap=_bucket_gap(pc, pe)))
    return lines


def profile_md(result, headline) -> str:
    profiles = S.profile_rows(result)
    if not profiles:
        return NOT_MEASURED + "\n"
    chosen = {(p["framework"], p["mode"]): why for why, p in profile_selection(profiles, headline)}
    body = table(["Tier", "Batch", "Profiled ms per step", *[f"{b} ms" for b in BUCKETS], "Ops no rule knows"],
                 [[p["label"] + (f" (*{chosen[(p['framework'], p['mode'])]}*)" if (p["framework"], p["mode"]) in chosen
                                 else ""), str(p["batch_size"]), _f(p["wall_ns_per_step"] / 1e6, 2),
                   *[_f(p["buckets_ns_per_step"][b] / 1e6, 2) for b in BUCKETS], str(len(p["unmapped"]))]
                  for p in profiles])
    notes = [_note("profile_method", steps=profiles[0]["steps"])]
    over = [p for p in profiles if p["ops_exceed_wall"]]
    if over:
        notes.append(_note("profile_parallel", count=len(over), labels=[p["label"] for p in over]))
    notes += _profile_gaps(profiles, headline)
    unmapped = sorted({name for p in profiles for name in p["unmapped"]})
    if unmapped:
        notes.append(_note("profile_unmapped", names=[f"`{n}`" for n in unmapped[:12]], more=len(unmapped) > 12))
    return body + "\n" + "\n".join(notes) + "\n"


def dispatch_md(result) -> str:
    probes = S.dispatch_rows(result)
    if not probes:
        return NOT_MEASURED + "\n"
    rows, facts, raw = [], [], []
    for fw, probe in sorted(probes.items(), key=lambda item: sides.order(item[0])):
        for case, call in probe.items():
            if isinstance(call, dict) and "library" in call:
                rows.append([FRAMEWORK_LABELS[fw], f"`{case}`", call["library"], f"`{call.get('impl') or '–'}`",
                             call.get("isa", "not logged") + (" (from the library's banner)" if call.get("isa_from") else "")])
        facts += [f"{FRAMEWORK_LABELS[fw]}: {key} = `{value}`" for key, value in sorted(probe.items())
                  if isinstance(value, str) and key not in ("framework", "glibc_tunables", "onednn_opts_env") and value]
        raw += [f"{fw}: {line}" for line in probe.get("raw", [])]
    text = table(["Framework", "Operation", "Library", "Implementation", "Instruction set"], rows)
    pairs = list(itertools.combinations([fw for fw in sides.IDS if fw in probes], 2))  # each two sides, in order
    for fw_a, fw_b in pairs:
        for case in sorted(set(probes[fw_a]) & set(probes[fw_b])):
            a, b = probes[fw_a][case], probes[fw_b][case]
            if isinstance(a, dict) and isinstance(b, dict) and "library" in a and "library" in b:
                text += "\n" + _note("dispatch_same", case=case, a_label=FRAMEWORK_LABELS[fw_a], a_library=a["library"],
                                     b_label=FRAMEWORK_LABELS[fw_b], b_library=b["library"],
                                     same_library=a["library"] == b["library"],
                                     same_kernel=a.get("impl") == b.get("impl"))
    if pairs:
        text += "\n"
    text += "\n" + "\n".join(f"- {fact}" for fact in facts) + "\n"
    if raw:
        text += "\n" + _note("dispatch_raw", lines=[line[:300] for line in raw]) + "\n"
    return text
