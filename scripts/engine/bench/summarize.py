"""Turn stored results into rows of numbers: the one place renderers get figures from."""

from __future__ import annotations

from dataclasses import dataclass

from engine.bench import flops, stats
from engine.bench.cases import COMPILED_MODES, MODE_LABELS, TIERS


def _key(run: dict) -> tuple:
    return (run["framework"], run["mode"], run["batch_size"], run["width"])


def ok_runs(result: dict | None, include_noise: bool = False) -> list[dict]:
    if not result:
        return []
    return [r for r in result["runs"] if r.get("ok") and (include_noise or not r.get("noise_check"))]


def failed_runs(result: dict | None) -> list[dict]:
    return [r for r in (result or {}).get("runs", []) if not r.get("ok")]


def _ms(samples_ns) -> list[float]:
    return [s / 1e6 for s in samples_ns]


def peak_flops(ceiling: dict | None) -> float | None:
    values = [r["result"]["matmul_float32_flops"] for r in ok_runs(ceiling)]
    return max(values) if values else None


def peak_copy(ceiling: dict | None) -> float | None:
    values = [r["result"]["copy_bytes_per_s"] for r in ok_runs(ceiling)]
    return max(values) if values else None


@dataclass
class TrainRow:
    framework: str
    mode: str
    batch_size: int
    width: int
    runs: list[list[float]]  # per process, step times in ms
    first_step_s: float
    peak_rss_mib: float | None
    rss_growth_mib: float | None
    params: int
    peak: float | None
    carried_over: bool
    foreign_cores: float | None = None  # CPU other work used while this row ran (worst process)

    @property
    def label(self) -> str:
        return MODE_LABELS[(self.framework, self.mode)]

    @property
    def tier(self) -> str:
        return TIERS[(self.framework, self.mode)]

    @property
    def compiled(self) -> bool:
        return (self.framework, self.mode) in COMPILED_MODES

    @property
    def median_ms(self) -> float:
        return stats.median_of_medians(self.runs)

    @property
    def iqr_ms(self) -> tuple[float, float]:
        return stats.iqr([s for run in self.runs for s in run])

    @property
    def samples_per_s(self) -> float:
        return self.batch_size / (self.median_ms / 1e3)

    @property
    def flops_per_s(self) -> float:
        return flops.train_step_flops(self.batch_size, self.width) / (self.median_ms / 1e3)

    @property
    def fraction_of_peak(self) -> float | None:
        return self.flops_per_s / self.peak if self.peak else None

    @property
    def n_samples(self) -> int:
        return sum(len(run) for run in self.runs)


def train_rows(result: dict | None, ceiling: dict | None = None, variant: str | None = None) -> list[TrainRow]:
    """One row per configuration; in a case with variants, the rows of one ``variant``."""
    groups: dict[tuple, list[dict]] = {}
    for run in ok_runs(result):
        if run.get("variant") != variant:
            continue
        groups.setdefault(_key(run), []).append(run)
    peak = peak_flops(ceiling)
    rows = []
    for key in sorted(groups, key=lambda k: (k[3], k[2], k[0] != "torch", k[1])):
        runs = groups[key]
        rss = [r["peak_rss_bytes"] for r in runs if r.get("peak_rss_bytes")]
        growth = [r["peak_rss_bytes"] - r["result"]["rss_baseline_bytes"] for r in runs
                  if r.get("peak_rss_bytes") and r["result"].get("rss_baseline_bytes")]
        rows.append(TrainRow(
            framework=key[0], mode=key[1], batch_size=key[2], width=key[3],
            runs=[_ms(r["result"]["samples_ns"]) for r in runs],
            first_step_s=stats.median([r["result"]["first_step_ns"] / 1e9 for r in runs]),
            peak_rss_mib=stats.median(rss) / 2**20 if rss else None,
            rss_growth_mib=stats.median(growth) / 2**20 if growth else None,
            params=runs[0]["result"]["params"], peak=peak,
            carried_over=any(r.get("carried_over") for r in runs),
            foreign_cores=max((r["foreign_cores"] for r in runs if r.get("foreign_cores") is not None),
                              default=None),
        ))
    return rows


def find(rows, **where):
    return [r for r in rows if all(getattr(r, k) == v for k, v in where.items())]


def best(rows, framework: str, **where):
    candidates = find(rows, framework=framework, **where)
    return min(candidates, key=lambda r: r.median_ms) if candidates else None


def paired(rows: list[TrainRow], reference: list[TrainRow]) -> list[tuple[TrainRow, TrainRow | None]]:
    """Each row with the same configuration's row in ``reference`` (None when it was not measured)."""
    return [(r, next(iter(find(reference, framework=r.framework, mode=r.mode, batch_size=r.batch_size,
                                   width=r.width)), None)) for r in rows]


def compare(a: TrainRow, b: TrainRow) -> stats.Ratio:
    return stats.ratio_of_medians(a.runs, b.runs)


def noise_checks(result: dict | None) -> list[dict]:
    """Rule 6: the regular runs of a configuration against its second measurement in the same regen.

    Each side is summarized the way the table summarizes it (median of the
    per-process medians), so the check asks whether the published figure repeats.
    """
    regular: dict[tuple, list[float]] = {}
    again: dict[tuple, list[float]] = {}
    for run in ok_runs(result, include_noise=True):
        side = again if run.get("noise_check") else regular
        side.setdefault(_key(run), []).append(stats.median(run["result"]["samples_ns"]))
    checks = []
    for key in sorted(set(regular) & set(again), key=lambda k: (k[0] != "torch", k)):
        first, second = stats.median(regular[key]) / 1e6, stats.median(again[key]) / 1e6
        checks.append({"framework": key[0], "mode": key[1], "batch_size": key[2],
                       "first_ms": first, "second_ms": second, "processes": (len(regular[key]), len(again[key])),
                       # The per-process spread says whether the gap is a few odd processes or all of them.
                       "ranges_ms": tuple((min(side[key]) / 1e6, max(side[key]) / 1e6) for side in (regular, again)),
                       "difference": stats.relative_difference(first, second),
                       "noisy": stats.is_noisy(first, second)})
    return checks


INFER_LABELS = {("tf", "eager"): "TF eager (model called directly)",
                ("torch", "eager"): "PyTorch eager (inference_mode)"}


def infer_rows(result: dict | None) -> list[dict]:
    groups: dict[tuple, list[dict]] = {}
    for run in ok_runs(result):
        groups.setdefault(_key(run), []).append(run)
    rows = []
    for key in sorted(groups, key=lambda k: (k[0] != "torch", k[1])):
        runs = groups[key]
        key = (key[0], key[1])
        pooled = [s / 1e6 for r in runs for s in r["result"]["samples_ns"]]
        rows.append({
            "framework": key[0], "mode": key[1], "label": INFER_LABELS.get(key, MODE_LABELS[key]),
            "import_s": stats.median([r["result"]["import_ns"] / 1e9 for r in runs]),
            "build_s": stats.median([r["result"]["build_ns"] / 1e9 for r in runs]),
            "first_call_ms": stats.median([r["result"]["first_call_ns"] / 1e6 for r in runs]),
            "p50": stats.percentile(pooled, 50), "p90": stats.percentile(pooled, 90),
            "p99": stats.percentile(pooled, 99), "n": len(pooled), "processes": len(runs),
            "runs": [_ms(r["result"]["samples_ns"]) for r in runs],
        })
    return rows


def accuracy_rows(result: dict | None) -> list[dict]:
    groups: dict[tuple, list[dict]] = {}
    for run in ok_runs(result):
        groups.setdefault(_key(run), []).append(run)
    rows = []
    for key in sorted(groups, key=lambda k: (k[0] != "torch", k[1])):
        res = [r["result"] for r in groups[key]]
        rows.append({
            "framework": key[0], "mode": key[1], "label": MODE_LABELS[(key[0], key[1])],
            "reached": all(r["reached"] for r in res), "target": res[0]["target"],
            "test_accuracy": stats.median([r["test_accuracy"] for r in res]),
            "epochs": stats.median([r["epochs"] for r in res]),
            "steps": stats.median([r["steps"] for r in res]),
            "train_s": stats.median([r["train_seconds"] for r in res]),
            "runs": [[r["train_seconds"]] for r in res],
            "processes": len(res), "dataset": res[0]["dataset"], "batch_size": res[0]["batch_size"],
        })
    return rows


def ceiling_rows(result: dict | None) -> list[dict]:
    rows = []
    for run in ok_runs(result):
        res = run["result"]
        rows.append({"framework": run["framework"], "matmul_size": res["matmul_size"],
                     "fp32": res["matmul_float32_flops"], "copy": res["copy_bytes_per_s"],
                     "bf16": res.get("matmul_bfloat16_flops"), "tf32": res.get("matmul_tf32_flops")})
    return rows
