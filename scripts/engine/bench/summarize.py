"""Turn stored results into rows of numbers: the one place renderers get figures from."""

from __future__ import annotations

from dataclasses import dataclass

from engine import sides
from engine.bench import op_buckets, stats
from engine.bench.cases import CASES, is_compiled, mode_label, precision_of, tier_of


def _key(run: dict) -> tuple:
    return (run["framework"], run["mode"], run["batch_size"], run["width"])


def ok_runs(result: dict | None) -> list[dict]:
    """The runs that measured something, less block runs a flagged order check replaced
    (``superseded``, docs/method.md#noise-blocks): they stay in the file, not in the figures."""
    if not result:
        return []
    return [r for r in result["runs"] if r.get("ok") and not r.get("superseded")]


def device_mismatches(result: dict | None) -> list[str]:
    """Runs whose child reported a device other than the one the result (and its table) is labelled with."""
    label = (result or {}).get("manifest", {}).get("device")
    found = []
    for run in ok_runs(result):
        # The device the model's output really lived on, where the run recorded it; else the one it configured.
        used = str(run["result"].get("device_used") or run["result"].get("settings", {}).get("device", label or ""))
        used = used.split(":")[0]
        if label and used and used != label:
            found.append(f"{run['framework']} {run['mode']} batch {run['batch_size']} ran on {used}")
    return found


def failed_runs(result: dict | None) -> list[dict]:
    return [r for r in (result or {}).get("runs", []) if not r.get("ok")]


def _ms(samples_ns) -> list[float]:
    return [s / 1e6 for s in samples_ns]


CEILING_DTYPES = {"fp32": "float32", "bf16": "bfloat16", "tf32": "tf32"}


def ceilings(ceiling: dict | None, precision: str = "fp32", framework: str | None = None) -> dict[str, float]:
    """Best-of throughput per kernel ("matmul", "conv") at ``precision``, over one framework or both."""
    dtype = CEILING_DTYPES[precision]
    best: dict[str, float] = {}
    for run in ok_runs(ceiling):
        if framework and run["framework"] != framework:
            continue
        for kernel in ("matmul", "conv"):
            value = run["result"].get(f"{kernel}_{dtype}_flops")
            if value:
                best[kernel] = max(best.get(kernel, 0.0), value)
    return best


def peak_flops(ceiling: dict | None, precision: str = "fp32", framework: str | None = None) -> float | None:
    """The highest measured rate a training row at ``precision`` could reach: best kernel, best framework."""
    values = ceilings(ceiling, precision, framework).values()
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
    peak: float | None  # the machine's best measured rate at this row's precision (either framework)
    carried_over: bool
    foreign_cores: float | None = None  # CPU other work used while this row ran (worst process)
    own_peak: float | None = None  # this framework's own best measured rate at this precision
    step_flops: int = 0  # FLOPs of one step, from the workload's description (engine.bench.workload)
    items_per_sample: int = 1  # tokens per sequence for a language model, 1 for images
    # The round each of ``runs`` was measured in, and which regen measured them: two rows of one
    # regen are compared round by round (``compare``). Empty where runs were carried over.
    rounds: tuple[int, ...] = ()
    measured_at: str = ""

    @property
    def label(self) -> str:
        return mode_label(self.framework, self.mode)

    @property
    def tier(self) -> str:
        return tier_of(self.framework, self.mode)

    @property
    def compiled(self) -> bool:
        return is_compiled(self.framework, self.mode)

    @property
    def precision(self) -> str:
        return precision_of(self.mode)

    @property
    def median_ms(self) -> float:
        return stats.median_of_medians(self.runs)

    @property
    def median_interval_ms(self) -> tuple[float, float]:
        """The 95 % bootstrap interval of ``median_ms``: what the charts' bars show."""
        return stats.median_interval(self.runs)

    @property
    def iqr_ms(self) -> tuple[float, float]:
        return stats.iqr([s for run in self.runs for s in run])

    @property
    def process_medians_ms(self) -> list[float]:
        return stats.process_medians(self.runs)

    @property
    def noise_band(self) -> float:
        """Relative IQR of the process medians (docs/method.md#noise)."""
        return stats.noise_band(self.runs)

    @property
    def unstable(self) -> bool:
        return stats.is_unstable(self.runs)

    @property
    def compile_s(self) -> float:
        """What the first step cost beyond a warm one: tracing, compilation, first allocations."""
        return max(0.0, self.first_step_s - self.median_ms / 1e3)

    @property
    def samples_per_s(self) -> float:
        return self.batch_size / (self.median_ms / 1e3)

    @property
    def items_per_s(self) -> float:
        """Throughput in the workload's unit: images/s, or tokens/s for a language model."""
        return self.samples_per_s * self.items_per_sample

    @property
    def flops_per_s(self) -> float:
        return self.step_flops / (self.median_ms / 1e3)

    @property
    def fraction_of_peak(self) -> float | None:
        return self.flops_per_s / self.peak if self.peak else None

    @property
    def fraction_of_own_peak(self) -> float | None:
        return self.flops_per_s / self.own_peak if self.own_peak else None

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
    rows = []
    for key in sorted(groups, key=lambda k: (k[3], k[2], sides.order(k[0]), k[1])):
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
            params=runs[0]["result"]["params"], peak=peak_flops(ceiling, precision_of(key[1])),
            carried_over=any(r.get("carried_over") for r in runs),
            foreign_cores=max((r["foreign_cores"] for r in runs if r.get("foreign_cores") is not None),
                              default=None),
            own_peak=peak_flops(ceiling, precision_of(key[1]), key[0]),
            step_flops=_step_flops(result, runs[0], key[2], key[3]),
            items_per_sample=runs[0]["result"].get("items_per_sample", 1),
            rounds=() if any(r.get("carried_over") for r in runs) else tuple(r["repeat"] for r in runs),
            measured_at=result.get("manifest", {}).get("timestamp", ""),
        ))
    return rows


def _step_flops(result: dict, run: dict, batch_size: int, size: int) -> int:
    """FLOPs of one step as the run recorded them; results from before runs recorded them
    (other machines' files) get the same count from the case's workload description."""
    if "train_step_flops" in run["result"]:
        return run["result"]["train_step_flops"]
    return CASES[result["case"]].description.train_step_flops(batch_size, size)


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
    """``a`` against ``b`` by the rule of docs/method.md#noise.

    Rows of one regen that share at least ``stats.MIN_PAIRED_ROUNDS`` rounds are
    compared round by round (#noise-pairing); others, such as a row carried over
    from an earlier regen or a profile with fewer rounds, by their process medians.
    """
    rounds = shared_rounds(a, b)
    if len(rounds) >= stats.MIN_PAIRED_ROUNDS:
        return stats.paired_ratio(rounds)
    return stats.ratio_of_medians(a.runs, b.runs)


def shared_rounds(a: TrainRow, b: TrainRow) -> list[tuple[list[float], list[float]]]:
    """The step samples of ``a`` and ``b`` in each round both were measured in, by round number
    (none for rows of different regens: round 3 of one is not round 3 of another)."""
    if a.measured_at != b.measured_at or not a.rounds or not b.rounds:  # no rounds: carried-over runs
        return []
    by_a, by_b = dict(zip(a.rounds, a.runs, strict=True)), dict(zip(b.rounds, b.runs, strict=True))
    return [(by_a[r], by_b[r]) for r in sorted(by_a.keys() & by_b.keys())]


def repeat_checks(rows: list[TrainRow], result: dict | None) -> list[dict]:
    """Repeat vs repeat (docs/method.md#noise): each configuration's even rounds against its odd ones.

    Both halves are the same configuration, spread over the same case, so the
    comparison rule should find no difference; a configuration where it does
    is reported, because then the rule would also "find" differences between
    rows that are really the same.
    """
    by_round: dict[tuple, dict[int, list[float]]] = {}
    for run in ok_runs(result):
        key = (run["framework"], run["mode"], run["batch_size"], run["width"], run.get("variant"))
        by_round.setdefault(key, {})[run["repeat"]] = _ms(run["result"]["samples_ns"])
    checks = []
    for row in rows:
        rounds = by_round.get((row.framework, row.mode, row.batch_size, row.width, None), {})
        even = [samples for r, samples in sorted(rounds.items()) if r % 2 == 0]
        odd = [samples for r, samples in sorted(rounds.items()) if r % 2 == 1]
        if len(even) < 2 or len(odd) < 2:
            continue
        ratio = stats.ratio_of_medians(even, odd)
        checks.append({"row": row, "ratio": ratio, "processes": (len(even), len(odd)),
                       "disagrees": ratio.significant})
    return checks


def order_checks(result: dict | None) -> list[dict]:
    """Per framework, batch and size measured in blocks: does a tier's time depend on its place?

    One check per block group (docs/method.md#noise-blocks), pooling its tiers:
    ``stats.order_effect`` on each tier's (position, process median), against
    the median of the tiers' noise bands. Block runs a flagged check had
    re-measured (``superseded``) still count here: they are what was checked.
    """
    groups: dict[tuple, dict[str, list[list[float]]]] = {}
    placed: dict[tuple, dict[str, list[tuple[int, float]]]] = {}
    sizes: dict[tuple, int] = {}
    superseded: set[tuple] = set()
    for run in (result or {}).get("runs", []):
        if not run.get("ok") or "block" not in run or run.get("variant"):
            continue
        key = (run["framework"], run["batch_size"], run["width"])
        samples = _ms(run["result"]["samples_ns"])
        groups.setdefault(key, {}).setdefault(run["mode"], []).append(samples)
        placed.setdefault(key, {}).setdefault(run["mode"], []).append((run["block"]["position"], stats.median(samples)))
        sizes[key] = max(sizes.get(key, 0), run["block"]["size"])
        if run.get("superseded"):
            superseded.add(key)
    checks = []
    for key in sorted(groups, key=lambda k: (k[2], k[1], sides.order(k[0]))):
        bands = [stats.noise_band(runs) for runs in groups[key].values() if len(runs) >= 2]
        effect = stats.order_effect(placed[key], sizes[key], stats.median(bands) if bands else 0.0)
        checks.append({"framework": key[0], "batch_size": key[1], "width": key[2], "tiers": len(groups[key]),
                       "effect": effect, "re_measured": key in superseded})
    return checks


def blocks_of(row: TrainRow, result: dict | None) -> bool:
    """Whether the row's runs were measured in blocks (several tiers per process)."""
    return any("block" in r for r in ok_runs(result) if _key(r) == (row.framework, row.mode, row.batch_size, row.width)
               and not r.get("variant"))


INFER_LABELS = {("tf", "eager"): "TF eager (model called directly)",
                ("torch", "eager"): "PyTorch eager (inference_mode)"}


def infer_rows(result: dict | None) -> list[dict]:
    groups: dict[tuple, list[dict]] = {}
    for run in ok_runs(result):
        groups.setdefault(_key(run), []).append(run)
    rows = []
    for key in sorted(groups, key=lambda k: (sides.order(k[0]), k[1])):
        runs = groups[key]
        key = (key[0], key[1])
        pooled = [s / 1e6 for r in runs for s in r["result"]["samples_ns"]]
        rows.append({
            "framework": key[0], "mode": key[1], "label": INFER_LABELS.get(key, mode_label(*key)),
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
    for key in sorted(groups, key=lambda k: (sides.order(k[0]), k[1])):
        res = [r["result"] for r in groups[key]]
        rows.append({
            "framework": key[0], "mode": key[1], "label": mode_label(key[0], key[1]),
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
    """One row per framework, in registry order: the best of its processes for every figure (best-of figures)."""
    rows = []
    for framework in sides.IDS:
        runs = [run["result"] for run in ok_runs(result) if run["framework"] == framework]
        if not runs:
            continue

        def best(key, runs=runs):
            values = [r[key] for r in runs if r.get(key)]
            return max(values) if values else None

        layouts: dict[str, dict[str, float]] = {}
        for r in runs:
            for dtype in ("float32", "bfloat16"):
                for layout, value in r.get(f"conv_{dtype}_by_layout", {}).items():
                    layouts.setdefault(dtype, {})[layout] = max(layouts.get(dtype, {}).get(layout, 0.0), value)
        rows.append({"framework": framework, "matmul_size": runs[0]["matmul_size"],
                     "fp32": best("matmul_float32_flops"), "copy": best("copy_bytes_per_s"),
                     "bf16": best("matmul_bfloat16_flops"), "tf32": best("matmul_tf32_flops"),
                     "conv_fp32": best("conv_float32_flops"), "conv_bf16": best("conv_bfloat16_flops"),
                     "conv_layouts": layouts, "processes": len(runs)})
    return rows


def profile_rows(result: dict | None) -> list[dict]:
    """Each profiled tier reduced to the shared buckets (docs/method.md#profile), per step."""
    rows = []
    for run in ok_runs(result):
        reduced = op_buckets.reduce(run["result"])
        rows.append({**reduced, "framework": run["framework"], "mode": run["mode"],
                     "label": mode_label(run["framework"], run["mode"]), "precision": precision_of(run["mode"])})
    return sorted(rows, key=lambda r: (sides.order(r["framework"]), r["precision"], r["mode"]))


def dispatch_rows(result: dict | None) -> dict[str, dict]:
    """The dispatch probe of each framework: {framework: facts}."""
    return {run["framework"]: run["result"] for run in ok_runs(result)}
