"""The table a benchmark case gets when no renderer of its own writes it.

The Speed page's cases each have a hand-made table (``render/tables.py``). A case a
page folder adds (``snippets/<page>/<page>_cases.py``) gets this one, as
``docs/generated/bench/<case>.md``, so a new page can include its results
without a line in the engine: one row per configuration, with the median step
time, its spread, the throughput and the peak memory, all from the stored runs.
"""

from __future__ import annotations

from engine.bench import summarize as S
from engine.bench.cases import CASES

GENERIC_KINDS = ("train", "infer")  # the kinds whose runs carry step times this table can show


def cases_without_fragment(files: dict) -> list[str]:
    """The cases no renderer wrote ``<case>.md`` for, among the fragments written so far."""
    return [name for name in CASES if f"{name}.md" not in files]


def case_md(result: dict) -> str:
    """One row per configuration of ``result``'s case (a train or infer case's runs)."""
    from engine.bench.render.format import table  # the render package imports this module
    from engine.bench.render.tables import inference_md

    case = CASES[result["case"]]
    if case.kind == "infer":
        return inference_md(result)
    if case.kind not in GENERIC_KINDS:
        raise ValueError(f"case {case.name}: kind {case.kind!r} has no generic table "
                         f"(only {', '.join(GENERIC_KINDS)}); give it a renderer of its own")
    described = case.description
    size = described.size_label if described else str
    unit = described.UNIT if described else "samples"
    rows = S.train_rows(result)
    return table(
        ["Mode", "Batch", "Size", "Median step ms", "IQR ms", f"{unit.capitalize()}/s", "Peak RSS MiB",
         "Processes"],
        [[r.label, str(r.batch_size), size(r.width), f"{r.median_ms:.2f}",
          f"{r.iqr_ms[0]:.2f}–{r.iqr_ms[1]:.2f}", f"{r.items_per_s:,.0f}",
          f"{r.peak_rss_mib:,.0f}" if r.peak_rss_mib is not None else "—", str(len(r.runs))]
         for r in rows])
