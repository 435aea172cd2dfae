"""What a benchmark case is: which workload, which modes, which sizes, per profile.

A case is a set of configurations of one workload pair in its page's folder
(``snippets/<page>/``); the page declares its cases in ``<page>_cases.py``
(``engine.pages``), and ``CASES`` holds every page's, by name. Each
(framework, configuration, repeat) becomes one job, run in its own process by
the harness. Profiles trade time for confidence:

* ``quick``  one process per configuration, few steps, the sizes that matter most;
* ``default`` nine rounds per configuration (docs/method.md#noise), unless the case says
  otherwise with its ``repeats`` (the speed page's cases do, each with its reason); a case
  measured in blocks shares a process among a framework's tiers (#noise-blocks);
* ``full``   fifteen, more steps and sizes.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from common import tiers
from engine import paths, sides
from engine.bench import workload as workload_contract

PROFILES = ("quick", "default", "full")
# The sides, their labels and their executions come from the registry (engine.sides).
FRAMEWORKS = sides.IDS
FRAMEWORK_LABELS = sides.LABELS

# Rule 11: every row names its mode and tier. A mode is "<execution>[-cl][-bf16|-tf32]"
# (common/tiers.py); its label is built from those parts, so every mode has exactly one.
EXECUTION_LABELS = {(side.id, execution): label for side in sides.SIDES for execution, label in side.executions.items()}
PRECISION_LABELS = {(side.id, p): label for side in sides.SIDES for p, label in side.precision_labels.items()}
# Executions a newcomer's first training loop runs; everything else is tuned.
OUT_OF_THE_BOX = {(side.id, execution) for side in sides.SIDES for execution in side.out_of_the_box}


def mode_label(framework: str, mode: str) -> str:
    tier = tiers.parse(mode)
    parts = [EXECUTION_LABELS[(framework, tier.execution)]]
    if tier.channels_last:
        parts.append("channels_last")
    if tier.precision != "fp32":
        parts.append(PRECISION_LABELS[(framework, tier.precision)])
    return ", ".join(parts)


def tier_of(framework: str, mode: str) -> str:
    """out-of-the-box: a default loop in fp32 and the default layout; tuned: anything the user opts into."""
    tier = tiers.parse(mode)
    default = (framework, tier.execution) in OUT_OF_THE_BOX and not tier.channels_last and tier.precision == "fp32"
    return "out-of-the-box" if default else "tuned"


def is_compiled(framework: str, mode: str) -> bool:
    return tiers.parse(mode).execution != "eager"


def precision_of(mode: str) -> str:
    return tiers.parse(mode).precision


REPEATS = {"quick": 1, "default": 9, "full": 15}  # docs/method.md#noise: at least 9 in the default profile
TIMEOUT_S = {"quick": 300, "default": 600, "full": 900}


@dataclass(frozen=True)
class Case:
    name: str
    kind: str  # train | infer | accuracy | ceiling | profile | probe
    title: str
    workload: str  # module stem in snippets/<page>/ without the _torch/_tf suffix
    # profile -> list of (framework, mode, batch_size, width)
    grid: dict[str, list[tuple[str, str, int, int]]]
    # profile -> (warmup, steps)
    steps: dict[str, tuple[int, int]]
    # name -> environment overrides for the timed process (None removes a variable). A case
    # with variants runs each configuration once per variant, back to back, so a comparison
    # between variants sees the same machine at the same moment.
    variants: dict[str, dict[str, str | None]] = field(default_factory=dict)
    # profile -> processes per configuration, where the case departs from REPEATS (the page says so)
    repeats: dict[str, int] = field(default_factory=dict)
    extra: dict = field(default_factory=dict)
    # The model the case times, described in snippets/<page>/<model>.py (engine.bench.workload); None
    # for a case that times no model (the ceiling). Defaults to the workload's own description.
    model: str | None = ""
    # Options the workload's functions take beyond the mode (the Transformer's ``data``).
    options: dict = field(default_factory=dict)
    # profile -> processes for configurations at a batch size, where they depart from processes()
    batch_repeats: dict[str, dict[int, int]] = field(default_factory=dict)
    # The page folder the case and its workload live in; set by discovery (engine.pages) to the
    # folder whose <page>_cases.py declares it.
    page: str = ""
    # Blocks (docs/method.md#noise-blocks): one process per framework, batch and size per round
    # measures all of that framework's configurations there, in an order drawn per process, so
    # the import is paid once per block instead of once per tier. False: one tier per process
    # (a case whose figure is per process, such as peak RSS, or that compares environments).
    block: bool = False
    # profile -> the most rounds a contender may get (docs/method.md#noise-adaptive): after the
    # screening rounds (processes()), only each framework's best and runner-up get more blocks,
    # until the comparisons the page decides on are within 5 % or this cap is reached.
    adaptive_cap: dict[str, int] = field(default_factory=dict)

    @property
    def claims(self) -> tuple[str, ...]:
        """The claims it tests: those whose row in the claims table (claims.toml) names this case."""
        from engine import claims

        return claims.claims_tested_by(self.name)

    def module(self, framework: str) -> str:
        return f"{self.page}.{self.workload}_{framework}"

    @property
    def frameworks(self) -> tuple[str, ...]:
        """The sides its grid names in any profile, in registry order: the sides it has workload files for."""
        named = {config[0] for configs in self.grid.values() for config in configs}
        return tuple(fw for fw in FRAMEWORKS if fw in named)

    def files(self) -> list[Path]:
        """Its workload files, one per side it measures (a side the case leaves out needs none)."""
        return [paths.SNIPPETS_DIR / self.page / f"{self.workload}{sides.by_id(fw).suffix}.py"
                for fw in self.frameworks]

    def processes(self, profile: str, batch_size: int | None = None) -> int:
        by_batch = self.batch_repeats.get(profile, {})
        if batch_size in by_batch:
            return by_batch[batch_size]
        return self.repeats.get(profile, REPEATS[profile])

    @property
    def description(self):
        """The model's description module (engine.bench.workload.Description), or None."""
        name = self.workload if self.model == "" else self.model
        return workload_contract.describe(name, self.page) if name else None

    def configs(self, profile: str, capabilities: dict | None = None) -> list[tuple[str, str, int, int]]:
        """The profile's configurations the device can run (a bf16 row needs bf16 hardware)."""
        if capabilities is None:
            return list(self.grid[profile])
        return [c for c in self.grid[profile] if supported(c[1], capabilities)]

    def absent(self, profile: str, capabilities: dict) -> list[tuple[tuple[str, str, int, int], str]]:
        """Configurations left out on this device, each with the capability check's reason."""
        return [(c, capabilities[missing]["evidence"]) for c in self.grid[profile]
                if (missing := missing_capability(c[1], capabilities))]


def missing_capability(mode: str, capabilities: dict) -> str | None:
    """The capability ``mode`` needs that the device lacks (None when it can run)."""
    if mode == "-":
        return None
    tier = tiers.parse(mode)
    needs = (["cuda_graphs"] if tier.execution == "cudagraphs" else []) + \
        ([tier.precision] if tier.precision != "fp32" else [])
    return next((need for need in needs if not capabilities.get(need, {}).get("available")), None)


def supported(mode: str, capabilities: dict) -> bool:
    """Whether the device has what ``mode`` needs; capabilities come from environment.capabilities."""
    return missing_capability(mode, capabilities) is None


def grid(modes, batches, widths):
    """Every (framework, mode) at every batch size and width: a profile's configurations."""
    return [(fw, mode, b, w) for w in widths for b in batches for fw, mode in modes]


# The harness serves large blocks from the heap (see timed_env.py); a case with these variants
# runs the same steps under glibc's own defaults and under the harness's setting, each
# configuration back to back, so a page can show what the setting changes.
GLIBC_DEFAULTS, HARNESS_SETTING = "glibc-defaults", "harness-setting"
ALLOCATOR_VARIANTS = {GLIBC_DEFAULTS: {"GLIBC_TUNABLES": None}, HARNESS_SETTING: {}}


def discover() -> dict[str, Case]:
    """Every page's cases by name, each told its page; a name two cases share is refused."""
    from engine import pages  # imports the page modules, which import this one

    found: dict[str, Case] = {}
    for page, case in pages.declared_cases():
        if not isinstance(case, Case):
            raise TypeError(f"snippets/{page}/{page}_cases.py: {case!r} is not a Case")
        if case.name in found:
            raise ValueError(f"benchmark case {case.name!r} is declared by snippets/{found[case.name].page}/ "
                             f"and snippets/{page}/: case names are result file names, they must be unique")
        found[case.name] = replace(case, page=page)
    return found


def __getattr__(name: str):
    # CASES is found on first use, not at import: a page's <page>_cases.py imports this module
    # for Case, so discovering at import time would import it half-built.
    if name == "CASES":
        globals()["CASES"] = discover()
        return globals()["CASES"]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")



def job_spec(case: Case, config: tuple[str, str, int, int], profile: str, threads: int,
             capabilities: dict | None = None) -> dict:
    framework, mode, batch_size, width = config
    warmup, steps = case.steps[profile]
    spec = {
        "case": case.name, "kind": case.kind, "framework": framework, "mode": mode,
        "module": case.module(framework), "batch_size": batch_size, "width": width,
        "warmup": warmup, "steps": steps, "threads": threads,
        "options": dict(case.options),
    }
    if (described := case.description) is not None and case.kind in ("train", "infer"):
        spec["expected_params"] = described.trainable_params(width)
        spec["expected_output_shape"] = list(described.output_shape(batch_size, width))
        spec["train_step_flops"] = described.train_step_flops(batch_size, width)
        spec["items_per_sample"] = described.items_per_sample(width)
    if case.kind == "ceiling":
        spec["matmul_size"] = case.extra["matmul_size"][profile]
        spec["copy_mb"] = case.extra["copy_mb"]
        spec["bf16"] = bool((capabilities or {}).get("bf16", {}).get("available"))
    if case.kind == "accuracy":
        spec["target"] = case.extra["target"]
        spec["max_epochs"] = case.extra["max_epochs"]
    return spec


def interleave(configs: list[tuple]) -> list[tuple]:
    """Order configurations A B A B ... across frameworks, so drift hits both (docs/method.md#noise-processes)."""
    by_fw = {fw: [c for c in configs if c[0] == fw] for fw in FRAMEWORKS}
    ordered = []
    while any(by_fw.values()):
        for fw in FRAMEWORKS:
            if by_fw[fw]:
                ordered.append(by_fw[fw].pop(0))
    return ordered
