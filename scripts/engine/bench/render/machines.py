"""Results from many machines, side by side: the Speed page's "Machines" section and whose numbers a page shows.

Every folder under ``results/`` is one machine (engine.machine). This module
renders, from all of them:

* ``machines.md``: one row per machine (what it is, the versions and profile it
  was measured with, when, and whether its results are still current), then one
  generated sentence on whether each best-vs-best verdict holds on every machine;
* ``machines_ratios.md``: each machine's best-vs-best ratio per model and
  precision, with its interval and the noise rule's verdict;
* ``machines.svg`` (and ``-dark``): the same ratios with their intervals, per machine;
* ``whose.md``: the line that opens the Speed page, saying which machine measured
  its tables and whether that is this build's machine.

A machine's results are never deleted here: a result whose timed code changed
since it was measured is shown, labelled stale with its date and code hash.
"""

from __future__ import annotations

from engine import machine
from engine.bench import store
from engine.bench import summarize as S
from engine.bench.cases import CASES
from engine.bench.render.charts import _TEXT, _pyplot, _svg, _themed, chart_md, chart_placeholder
from engine.bench.render.format import PRECISION_NAMES, lead_batch, ratio_ci, say, table
from engine.bench.render.tables import best_pairs, outcome

# The models whose best-vs-best comparison every machine is compared on, in page order.
MODELS = (("headline", "CNN"), ("transformer", "Transformer"), ("resnet", "ResNet"))
_MACHINE_COLORS = ("#c2410c", "#1d4ed8", "#15803d", "#7e22ce", "#a16207", "#0e7490")
_MACHINE_COLORS_DARK = ("#ff8a5b", "#7fb0ff", "#6ee7a0", "#d8b4fe", "#fcd34d", "#5ad1e6")


def _say(macro: str, **values) -> str:
    return say("machines.md.j2", macro, **values)


def fingerprint_of(results: dict[str, dict]) -> dict:
    """A machine folder's fingerprint, from its headline result where there is one."""
    result = results.get("headline") or next(iter(results.values()))
    return machine.fingerprint_from_manifest(result["manifest"])


def names(all_results: dict) -> dict[str, str]:
    """A short, unique name per machine: ``AMD EPYC (avx512_bf16, no AMX)``; the id where two would read alike."""
    short = {}
    for mid, results in all_results.items():
        fp = fingerprint_of(results)
        short[mid] = (fp.get("name") if fp.get("kind") == "gpu"
                      else f"{fp.get('model_name') or 'CPU'} ({machine.bf16_phrase(fp.get('isa') or {})})")
    counts = {name: list(short.values()).count(name) for name in short.values()}
    return {mid: f"{name} [{mid}]" if counts[name] > 1 else name for mid, name in short.items()}


def comparisons(results: dict[str, dict]) -> list[dict]:
    """Each model's best-vs-best comparison at its lead batch, per precision, for one machine's results."""
    found = []
    for case, model in MODELS:
        rows = S.train_rows(results.get(case), results.get("ceiling"))
        if not rows:
            continue
        batch = lead_batch(rows)
        for b, precision, a, t in best_pairs(rows):
            if b == batch:
                found.append({"model": model, "case": case, "precision": precision, "batch": b,
                              "torch": a, "tf": t, "ratio": S.compare(a, t)})
    return found


def _stale_files(results: dict[str, dict]) -> list[str]:
    return [f"{name} ({'; '.join(store.code_reasons(result, CASES[name]))})" for name, result in sorted(results.items())
            if name in CASES and store.code_reasons(result, CASES[name])]


def _dates(results: dict[str, dict]) -> str:
    days = sorted({r["manifest"].get("timestamp", "?")[:10] for r in results.values()})
    return days[0] if len(days) == 1 else f"{days[0]} to {days[-1]}"


def machine_rows(all_results: dict, here: str, label_of: dict[str, str]) -> list[list[str]]:
    rows = []
    for mid in sorted(all_results):
        results = all_results[mid]
        fp = fingerprint_of(results)
        versions = (results.get("headline") or next(iter(results.values())))["manifest"].get("versions", {})
        stale = _stale_files(results)
        state = (_say("state_stale", count=len(stale), total=len(results), files=stale) if stale
                 else _say("state_current", total=len(results)))
        profiles = ", ".join(sorted({r["profile"] for r in results.values()}))
        cores = results[next(iter(results))]["manifest"].get("usable_cores", fp.get("cores", "?"))
        rows.append([label_of[mid] + (" **(this build)**" if mid == here else ""), str(cores),
                     versions.get("torch", "?"), versions.get("tensorflow") or versions.get("tensorflow-cpu", "?"),
                     profiles, _dates(results), state])
    return rows


def verdict(ratio) -> str | None:
    """The noise rule's verdict, or None where too few processes stand behind a side to decide at all
    (a quick profile's single process): "not decided" is not "no significant difference"."""
    return outcome(ratio) if ratio.enough_processes else None


def agreement(all_results: dict, label_of: dict[str, str]) -> str:
    """One sentence: does each best-vs-best verdict hold on every machine that decided it, or where does it flip."""
    by_comparison: dict[tuple[str, str], dict[str, str]] = {}
    undecided: dict[str, int] = {}
    for mid in sorted(all_results):
        for c in comparisons(all_results[mid]):
            if verdict(c["ratio"]) is None:
                undecided[label_of[mid]] = undecided.get(label_of[mid], 0) + 1
                continue
            by_comparison.setdefault((c["model"], c["precision"]), {})[mid] = verdict(c["ratio"])
    shared = {key: verdicts for key, verdicts in by_comparison.items() if len(verdicts) > 1}
    undecided_note = _say("undecided", machines=undecided) if undecided else ""
    if len(all_results) < 2:
        return _say("agreement_one", machines=[label_of[mid] for mid in sorted(all_results)])
    if not shared:
        return _say("agreement_none", machines=len(all_results)) + undecided_note
    flips = []
    for (model, precision), verdicts in shared.items():
        if len(set(verdicts.values())) > 1:
            flips.append({"what": f"{model} {PRECISION_NAMES[precision]}",
                          "where": [f"{verdict} on {label_of[mid]}" for mid, verdict in verdicts.items()]})
    return _say("agreement", machines=len(all_results), shared=len(shared), holds=len(shared) - len(flips),
                flips=flips) + undecided_note


def ratio_rows(all_results: dict, here: str, label_of: dict[str, str]) -> list[list[str]]:
    rows = []
    for mid in sorted(all_results):
        for c in comparisons(all_results[mid]):
            ratio = c["ratio"]
            decided = verdict(ratio)
            said = (decided + (f" ({ratio.why_not})" if not ratio.significant else "") if decided
                    else f"not decided ({ratio.why_not.removeprefix('not decided: ')})")
            rows.append([label_of[mid] + (" (this build)" if mid == here else ""), c["model"],
                         PRECISION_NAMES[c["precision"]], str(c["batch"]), c["torch"].label, c["tf"].label,
                         ratio_ci(ratio, "×"), said])
    return rows


def chart(all_results: dict, label_of: dict[str, str], theme: str) -> bytes | None:
    """Each machine's best-vs-best ratios with their 95 % intervals, one row per model and precision."""
    series = {mid: comparisons(all_results[mid]) for mid in sorted(all_results)}
    keys = []
    for found in series.values():
        for c in found:
            if (c["model"], c["precision"]) not in keys:
                keys.append((c["model"], c["precision"]))
    if not keys:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 0.5 + 0.45 * len(keys) * max(1, len(series)) ** 0.5))
    colors = _MACHINE_COLORS if theme == "light" else _MACHINE_COLORS_DARK
    step = 0.7 / max(1, len(series))
    for index, (mid, found) in enumerate(series.items()):
        color = colors[index % len(colors)]
        for decided in (True, False):  # a hollow marker: too few processes for the noise rule to decide
            chosen = [c for c in found if (verdict(c["ratio"]) is not None) == decided]
            if not chosen:
                continue
            ys = [keys.index((c["model"], c["precision"])) + (index - (len(series) - 1) / 2) * step for c in chosen]
            xs = [c["ratio"].ratio for c in chosen]
            xerr = [[c["ratio"].ratio - c["ratio"].low for c in chosen], [c["ratio"].high - c["ratio"].ratio for c in chosen]]
            ax.errorbar(xs, ys, xerr=xerr, fmt="o", capsize=3, color=color, mfc=color if decided else "none",
                        label=label_of[mid] + ("" if decided else " (not decided)"))
    ax.axvline(1.0, color=_TEXT[theme], linewidth=0.8, linestyle="--")
    ax.set_xscale("log")
    from matplotlib.ticker import FuncFormatter

    for axis_ticks in (ax.xaxis.set_major_formatter, ax.xaxis.set_minor_formatter):
        axis_ticks(FuncFormatter(lambda value, _pos: f"{value:g}×"))
    ax.set_yticks(range(len(keys)), [f"{model} {PRECISION_NAMES[p]}" for model, p in keys])
    ax.invert_yaxis()
    ax.set_xlabel("PyTorch ÷ TensorFlow step time, each at its fastest (95 % interval); left of 1: PyTorch faster")
    ax.legend(fontsize=7, loc="best")
    ax.grid(True, axis="x", which="both", alpha=0.3)
    _themed(fig, ax, theme)
    data = _svg(fig)
    plt.close(fig)
    return data


def alt_text(all_results: dict, label_of: dict[str, str]) -> str:
    return _say("alt", machines=[label_of[mid] for mid in sorted(all_results)])


def machines_files(all_results: dict, here: str) -> dict[str, str | bytes]:
    """The Machines section's fragments and chart (see the module docstring)."""
    label_of = names(all_results)
    files: dict[str, str | bytes] = {}
    header = ["Machine", "Cores", "PyTorch", "TensorFlow", "Profile", "Measured", "Results"]
    rows = machine_rows(all_results, here, label_of)
    files["machines.md"] = (table(header, rows) if rows else _say("no_results") + "\n") + "\n" + \
        agreement(all_results, label_of) + "\n"
    ratios = ratio_rows(all_results, here, label_of)
    files["machines_ratios.md"] = table(["Machine", "Model", "Precision", "Batch", "PyTorch's fastest",
                                         "TensorFlow's fastest", "PyTorch ÷ TF time (95% CI)", "Verdict"],
                                        ratios) if ratios else _say("no_results") + "\n"
    for theme in ("light", "dark"):
        name = "machines.svg" if theme == "light" else "machines-dark.svg"
        files[name] = chart(all_results, label_of, theme) or chart_placeholder("Best-vs-best ratio per machine", theme)
    files["machines_chart.md"] = chart_md("machines", alt_text(all_results, label_of), "speed.md#machines",
                                          "the per-machine table below the chart")
    return files


def whose(all_results: dict, primary: str | None, here: str, here_label: str) -> str:
    """The Speed page's first line: which machine measured the tables below, and whether it is this build's."""
    if primary is None:
        return _say("whose_none", here_label=here_label)
    results = all_results[primary]
    return _say("whose", builder=primary == here, label=machine.label(fingerprint_of(results)), dates=_dates(results),
                profiles=sorted({r["profile"] for r in results.values()}), here_label=here_label,
                others=len(all_results) - 1)
