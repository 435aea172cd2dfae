"""Method's pairing evidence: how strongly two configurations measured in the same round move together.

Pairing by round (docs/method.md#noise-pairing) is worth it only if a round that
is slow for one configuration is slow for the others too. This block measures
that on every stored machine's headline case, from the rounds it ran, and
shows what pairing did to the intervals of the framework-vs-framework
comparisons there.
"""

from __future__ import annotations

import numpy as np

from engine.bench import stats
from engine.bench import summarize as S
from engine.bench.render.format import hw_phrase


def cross_framework_pairs(result: dict) -> list[tuple[S.TrainRow, S.TrainRow]]:
    """Every PyTorch row with every TensorFlow row of the same batch that shares enough rounds to pair."""
    rows = S.train_rows(result)
    return [(a, b) for a in rows for b in rows
            if a.framework < b.framework and a.batch_size == b.batch_size
            and len(S.shared_rounds(a, b)) >= stats.MIN_PAIRED_ROUNDS]


def pairing_md(all_results: dict) -> str:
    lines = []
    for mid in sorted(all_results):
        result = all_results[mid].get("headline")
        pairs = cross_framework_pairs(result) if result else []
        correlations = [c for a, b in pairs if (c := stats.adjacent_correlation(S.shared_rounds(a, b))) is not None]
        if not correlations:
            continue
        q1, med, q3 = np.percentile(correlations, [25, 50, 75])
        unpaired = [stats.ratio_of_medians(a.runs, b.runs).half_width for a, b in pairs]
        paired = [stats.paired_ratio(S.shared_rounds(a, b)).half_width for a, b in pairs]
        lines.append(
            f"- **{hw_phrase(result)}** ({result['profile']} profile): over {len(correlations)} pairs of a "
            f"PyTorch and a TensorFlow configuration measured in the same rounds, the rounds' deviations "
            f"correlate with a median Pearson r of {med:.2f} (IQR {q1:.2f}–{q3:.2f}). The median half-width "
            f"of the ratio's 95 % interval is {100 * float(np.median(paired)):.1f} % paired by round, "
            f"against {100 * float(np.median(unpaired)):.1f} % from the process medians alone.")
    if not lines:
        return (f"*Not measured here: no stored headline result has {stats.MIN_PAIRED_ROUNDS} rounds of "
                "both frameworks (a quick profile runs one).*\n")
    return "\n".join(lines) + "\n"
