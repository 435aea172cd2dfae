"""Blocks, order checks, adaptive allocation and the fidelity check (docs/method.md#noise-blocks, #noise-adaptive).

The statistics and the allocation are tested on recorded-style samples (no
timing here: these machines are noisy); one tiny real block per framework
checks that the child restores what a tier changes.
"""

from __future__ import annotations

import dataclasses
from collections import Counter

import numpy as np
import pytest

from engine import environment
from engine.bench import adaptive, child, harness, stats, summarize
from engine.bench.cases import CASES


@pytest.fixture(autouse=True)
def no_waiting_for_a_quiet_machine(monkeypatch):
    monkeypatch.setattr(harness, "QUIET_WAIT_S", 0.0)


BF16 = environment.capabilities("cpu", flags=frozenset({"amx_bf16"}))


# ---------------------------------------------------------------- the plan
def test_a_block_plan_runs_each_framework_and_batch_once_per_round_with_every_tier():
    case = CASES["headline"]
    jobs = harness.plan(case, "default", capabilities=BF16)
    configs = case.configs("default", BF16)
    rounds = case.processes("default")
    assert rounds >= stats.MIN_PAIRED_ROUNDS  # screening alone can pair
    for r in range(rounds):
        in_round = [j for j in jobs if j.repeat == r]
        assert Counter((j.config[0], j.config[2]) for j in in_round) == Counter(
            {(fw, b): 1 for fw, _, b, _ in configs})  # one process per framework and batch
        assert sorted(c for j in in_round for c in j.configs) == sorted(configs)  # every tier once per round
        assert all(j.spec["block"] == list(j.block) and not j.spec.get("variant") for j in in_round)
    first, second = ([(j.config[0], j.config[2]) for j in jobs if j.repeat == r] for r in (0, 1))
    assert second == first[::-1]  # odd rounds run in reverse order
    assert [g[0] for g in first] == ["torch", "tf", "torch", "tf"]  # frameworks alternate
    orders = {j.block for j in jobs if j.config[0] == "torch" and j.config[2] == 128}
    assert len(orders) > 1  # the order is drawn per process...
    assert [j.block for j in harness.plan(case, "default", capabilities=BF16)] == [j.block for j in jobs]  # ...seeded


def test_variants_cannot_share_a_process():
    case = dataclasses.replace(CASES["allocator"], block=True)
    with pytest.raises(ValueError, match="variants"):
        harness.plan(case, "default", capabilities=BF16)


def test_the_bar_counts_the_most_processes_a_case_can_take():
    case = CASES["headline"]
    jobs = harness.plan(case, "default")
    groups = len({(j.config[0], j.config[2]) for j in jobs})
    extra = (case.adaptive_cap["default"] - case.processes("default")) * groups
    assert harness.most_processes(case, "default") == len(jobs) + extra + 2 * case.extra["fidelity_rounds"]["default"]


# ---------------------------------------------------------------- the child: state restored around every tier
class _FakeWork:
    """A workload whose tiers set a process-wide 'policy', as Keras' mixed precision does."""

    def __init__(self, restores=True):
        self.policy = "float32"
        self.restores = restores

    def global_state(self):
        return {"policy": self.policy}

    def restore_state(self, state):
        if self.restores:
            self.policy = state["policy"]

    def configure(self, threads, mode="eager"):
        self.policy = "mixed_bfloat16" if mode.endswith("bf16") else "float32"
        return {"precision": self.policy}


def _fake_kind(spec, work):
    if spec["mode"] == "broken":
        raise AssertionError("loss did not fall")
    return {"samples_ns": [1, 2, 3], "policy_seen": work.policy}


def test_each_tier_starts_from_the_first_ones_state_and_the_record_shows_it(monkeypatch):
    monkeypatch.setitem(child.KINDS, "fake", _fake_kind)
    saved = []
    spec = {"kind": "fake", "block": ["function-bf16", "broken", "function"], "threads": 1, "module": "fake"}
    out = child.run_block(spec, _FakeWork(), lambda so_far: saved.append(len(so_far["block"])))
    first, broken, last = out["block"]
    assert first["result"]["policy_seen"] == "mixed_bfloat16" and first["state_during"] == {"policy": "mixed_bfloat16"}
    assert not broken["ok"] and "loss did not fall" in broken["reason"]  # a failed gate does not sink the block
    assert last["result"]["policy_seen"] == "float32"  # not the bf16 tier's policy
    assert all(e["state_before"] == e["state_after"] == out["baseline_state"] for e in out["block"])
    assert saved == [1, 2, 3]  # saved after every tier


def test_a_tier_that_leaves_state_behind_stops_the_block(monkeypatch):
    monkeypatch.setitem(child.KINDS, "fake", _fake_kind)
    saved = []
    spec = {"kind": "fake", "block": ["function-bf16", "function"], "threads": 1, "module": "fake"}
    with pytest.raises(RuntimeError, match="left the process changed"):
        child.run_block(spec, _FakeWork(restores=False), lambda so_far: saved.append([e["mode"] for e in so_far["block"]]))
    assert saved == [["function-bf16"]]  # what was measured is kept


def test_a_workload_without_state_functions_is_refused_in_a_block(monkeypatch):
    class NoState:
        pass

    with pytest.raises(TypeError, match="global_state"):
        child.run_block({"kind": "fake", "block": ["eager"], "threads": 1, "module": "x"}, NoState(), print)


def test_a_block_that_dies_midway_keeps_the_tiers_it_finished():
    case = CASES["headline"]
    job = harness.Job(case, ("torch", "eager", 128, 1), 3, {}, block=("eager", "compile-cl", "eager-cl"))
    entry = {"mode": "eager", "position": 0, "ok": True, "settings": {}, "tier_ns": 2_000_000_000,
             "result": {"samples_ns": [5, 6]}, "state_before": {}, "state_after": {}}
    record = {"ok": False, "reason": "timed out after 600 s", "wall_s": 600.0, "peak_rss_bytes": 2**30,
              "partial": {"import_ns": 7, "block": [entry], "baseline_state": {}}}
    tiers = harness.tier_records(job, record)
    assert [(t["mode"], t["ok"]) for t in tiers] == [("eager", True), ("compile-cl", False), ("eager-cl", False)]
    assert tiers[0]["result"]["import_ns"] == 7 and tiers[0]["wall_s"] == 2.0 and tiers[0]["repeat"] == 3
    assert "timed out after 600 s" in tiers[1]["reason"]
    assert all(t["peak_rss_bytes"] is None and t["block"]["process_peak_rss_bytes"] == 2**30 for t in tiers)
    assert [t["block"]["position"] for t in tiers] == [0, 1, 2]


@pytest.mark.parametrize("framework, modes", [("torch", ["eager-bf16", "eager"]), ("tf", ["function-bf16", "function"])])
def test_a_real_block_restores_precision_between_tiers(tmp_path, framework, modes):
    """The real workloads: the bf16 tier's policy or autocast setting does not reach the fp32 tier."""
    case = dataclasses.replace(CASES["transformer"], grid={"quick": [(framework, m, 2, 1) for m in modes]},
                               steps={"quick": (1, 2)}, options={"data": "synthetic"})
    job = harness.plan(case, "quick", capabilities=BF16)[0]
    job = dataclasses.replace(job, block=tuple(modes), spec={**job.spec, "block": modes})
    record = harness.run_job(job, "cpu", timeout_s=300)
    assert record["ok"], record.get("reason")
    tiers = harness.tier_records(job, record)
    assert all(t["ok"] for t in tiers)
    baseline = tiers[0]["block"]["baseline_state"]
    assert baseline and all(t["block"]["state_after"] == baseline for t in tiers)
    assert tiers[1]["result"]["settings"]["precision"] == "float32"
    if framework == "tf":
        assert tiers[0]["block"]["state_during"]["keras_policy"] == "mixed_bfloat16"
        assert tiers[1]["block"]["state_during"]["keras_policy"] == "float32"
    assert all(t["block"]["before"].get("child_processes", 0) == 0 for t in tiers)  # no worker pool left behind


# ---------------------------------------------------------------- order effects
def _blocks(n_blocks, modes, effect_per_place, noise, seed=0):
    """Recorded-style block medians: each tier's level, times (1 + effect) per place, times noise."""
    rng = np.random.default_rng(seed)
    levels = {m: 10.0 * (i + 1) for i, m in enumerate(modes)}
    by_tier = {m: [] for m in modes}
    for _ in range(n_blocks):
        order = list(rng.permutation(modes))
        for position, mode in enumerate(order):
            by_tier[mode].append((position, levels[mode] * (1 + effect_per_place) ** position
                                  * float(np.exp(rng.normal(0, noise)))))
    return by_tier


MODES7 = ["a", "b", "c", "d", "e", "f", "g"]


def test_no_order_effect_is_not_flagged():
    check = stats.order_effect(_blocks(8, MODES7, 0.0, 0.05), 7, band=0.05)
    assert not check.flagged and abs(check.effect) < 0.1


def test_a_tier_slowing_with_its_place_is_flagged():
    check = stats.order_effect(_blocks(8, MODES7, 0.04, 0.03), 7, band=0.05)
    assert check.flagged and check.rho > 0 and 0.15 < check.effect < 0.35  # 1.04**6 - 1 = 0.27


def test_an_order_effect_inside_the_noise_band_is_not_flagged():
    check = stats.order_effect(_blocks(30, MODES7, 0.01, 0.01), 7, band=0.10)
    assert check.p_value < 0.05 and not check.flagged  # real, but smaller than the rows' own noise


# ---------------------------------------------------------------- adaptive allocation
def _run(fw, mode, r, median_ms, position=0, size=1, batch=128):
    samples = [int(median_ms * 1e6 * f) for f in (0.99, 1.0, 1.01)]
    return {"framework": fw, "mode": mode, "batch_size": batch, "width": 1, "repeat": r, "ok": True,
            "peak_rss_bytes": None, "block": {"position": position, "size": size},
            "result": {"samples_ns": samples, "first_step_ns": 10**9, "params": 1, "train_step_flops": 1}}


def _measure(levels, rng, noise, own=0.01):
    """A fake round: every configuration asked for, at its level times a round-wide slow spell
    (``noise``, shared: pairing cancels it) times its own noise (``own``: pairing cannot)."""
    def next_round(ordered, r, runs):
        spell = float(np.exp(rng.normal(0, noise)))
        for fw, mode, _, _ in ordered:
            runs.append(_run(fw, mode, r, levels[(fw, mode)] * spell * float(np.exp(rng.normal(0, own)))))
    return next_round


def _screen(levels, rounds, rng, noise, own=0.01):
    runs = []
    for r in range(rounds):
        _measure(levels, rng, noise, own)([(fw, m, 128, 1) for fw, m in levels], r, runs)
    return runs


def test_tight_pairs_are_settled_by_screening_alone():
    levels = {("torch", "eager"): 10.0, ("torch", "compile"): 10.2, ("tf", "function"): 10.1, ("tf", "fit"): 30.0}
    rng = np.random.default_rng(0)
    runs = _screen(levels, 6, rng, noise=0.3)  # a noisy host, but every round shares its spell
    case = dataclasses.replace(CASES["headline"], adaptive_cap={"default": 12})
    record = adaptive.allocate(case, "default", runs, 6, lambda ordered, r: pytest.fail("no round was needed"))
    assert record["stopped"] == "settled" and record["rounds"] == []


def test_clear_differences_stop_early_and_only_contenders_get_more_rounds():
    levels = {("torch", "eager"): 10.0, ("torch", "compile"): 20.0, ("torch", "eager-cl"): 40.0,
              ("tf", "function"): 30.0, ("tf", "fit"): 15.0, ("tf", "eager"): 60.0}
    rng = np.random.default_rng(1)
    runs = _screen(levels, 6, rng, noise=0.2, own=0.1)  # intervals wider than 5 %, differences clear
    case = dataclasses.replace(CASES["headline"], adaptive_cap={"default": 12})
    fake = _measure(levels, rng, noise=0.2, own=0.1)
    record = adaptive.allocate(case, "default", runs, 6, lambda ordered, r: fake(ordered, r, runs))
    assert record["stopped"] == "settled"
    # Six rounds cannot reach the interim p < 0.01 of the signed-rank test; eight can.
    assert [entry["round"] for entry in record["rounds"]] == [6, 7]
    given = {tuple(c[:2]) for entry in record["rounds"] for c in entry["configs"]}
    assert given == {("torch", "eager"), ("torch", "compile"), ("tf", "fit"), ("tf", "function")}  # not the slowest


def test_a_close_call_in_a_noisy_machine_runs_to_the_cap():
    levels = {("torch", "eager"): 10.0, ("torch", "compile"): 10.3, ("tf", "function"): 10.1, ("tf", "fit"): 10.4}
    rng = np.random.default_rng(2)
    runs = _screen(levels, 6, rng, noise=0.3)
    for run in runs:  # each side's own noise: pairing cannot tighten what the round does not share
        run["result"]["samples_ns"] = [int(s * float(np.exp(rng.normal(0, 0.15)))) for s in run["result"]["samples_ns"]]
    case = dataclasses.replace(CASES["headline"], adaptive_cap={"default": 9})

    def noisy(ordered, r):
        for fw, mode, _, _ in ordered:
            runs.append(_run(fw, mode, r, levels[(fw, mode)] * float(np.exp(rng.normal(0, 0.15)))))

    record = adaptive.allocate(case, "default", runs, 6, noisy)
    assert record["stopped"] == "cap" and [e["round"] for e in record["rounds"]] == [6, 7, 8]


def test_settled_needs_enough_rounds_and_a_tight_or_interim_clear_interval():
    tight = stats.Ratio(1.01, 0.99, 1.03, p_value=0.4, processes=(6, 6), paired=True)
    clear_but_early = stats.Ratio(0.5, 0.45, 0.55, p_value=0.031, processes=(6, 6), paired=True)
    clear = stats.Ratio(0.5, 0.45, 0.55, p_value=0.008, processes=(8, 8), paired=True)
    few = stats.Ratio(1.0, 0.99, 1.01, p_value=0.5, processes=(5, 5), paired=True)
    assert adaptive.settled(tight) and adaptive.settled(clear)
    assert not adaptive.settled(clear_but_early) and not adaptive.settled(few)


# ---------------------------------------------------------------- fidelity and the order fallback
def test_fidelity_measures_each_frameworks_fastest_fp32_row_one_tier_per_process():
    runs = [_run("torch", "eager", r, 10.0) for r in range(6)] + [_run("torch", "compile", r, 12.0) for r in range(6)] \
        + [_run("tf", "fit", r, 9.0) for r in range(6)] + [_run("tf", "function-bf16", r, 5.0) for r in range(6)]
    case = CASES["headline"]
    jobs = adaptive.solo_jobs(case, "default", runs, 10, 2, BF16)
    assert {j.config[:2] for j in jobs} == {("torch", "eager"), ("tf", "fit")}  # fp32 only: not the bf16 row
    assert all(j.variant == adaptive.ONE_TIER and not j.block and j.env_overrides is None for j in jobs)
    assert sorted({j.repeat for j in jobs}) == list(range(10, 10 + case.extra["fidelity_rounds"]["default"]))


def test_a_flagged_order_check_re_measures_its_group_one_tier_per_process():
    runs = []
    for r in range(8):
        order = list(np.random.default_rng(r).permutation(MODES7))
        for position, mode in enumerate(order):
            runs.append(_run("torch", mode, r, 10.0 * (1.06 ** position), position, 7))
    case = dataclasses.replace(CASES["headline"], extra={})
    jobs = adaptive.solo_jobs(case, "default", runs, 8, 2, BF16)
    assert {j.config[1] for j in jobs} == set(MODES7) and not any(j.block for j in jobs)
    assert all(run["superseded"].startswith("order effect") for run in runs)
    assert summarize.ok_runs({"runs": runs}) == []  # the figures come from the re-measurement
    assert summarize.order_checks({"runs": runs})[0]["re_measured"]


# ---------------------------------------------------------------- Method's block evidence
def _stored_manifest():
    from engine.bench import store

    for path in sorted(store.results_root().glob("*/headline.json")):
        return store.load(path)["manifest"]
    pytest.skip("no stored headline result to borrow a manifest from")


def _fidelity_result(solo_factor):
    rng = np.random.default_rng(5)
    runs = []
    for r in range(6):
        spell = float(np.exp(rng.normal(0, 0.1)))
        for fw, mode, level in (("torch", "eager", 10.0), ("torch", "compile", 14.0), ("tf", "fit", 20.0),
                                ("tf", "function", 21.0)):
            runs.append(_run(fw, mode, r, level * spell * float(np.exp(rng.normal(0, 0.02))), position=r % 2, size=2))
    for r in range(6, 10):
        for fw, mode, level in (("torch", "eager", 10.0), ("tf", "fit", 20.0)):
            solo = _run(fw, mode, r, level * solo_factor * float(np.exp(rng.normal(0, 0.02))))
            del solo["block"]
            runs.append({**solo, "variant": adaptive.ONE_TIER})
    return {"case": "headline", "profile": "default", "manifest": _stored_manifest(), "runs": runs,
            "allocation": {"screen_rounds": 6, "cap": 10, "rounds": [], "stopped": "settled"}}


def test_method_shows_the_decided_count_the_allocation_and_fidelity():
    from engine.bench.render.blocks import blocks_md

    text = blocks_md({"m": {"headline": _fidelity_result(1.0)}})
    assert "decides 1 of 1 best-vs-best" in text  # PyTorch eager vs TF fit, 2x apart, paired over 6 rounds
    assert "| CNN | 6 | 10 | 0 | every comparison settled | 6–6 |" in text
    fidelity = [line for line in text.splitlines() if line.startswith("| CNN | ") and "(4)" in line]
    assert len(fidelity) == 2 and all(line.endswith("| yes |") for line in fidelity)


def test_fidelity_that_disagrees_says_so():
    from engine.bench.render.blocks import blocks_md

    text = blocks_md({"m": {"headline": _fidelity_result(1.3)}})  # one-tier processes 30 % slower
    fidelity = [line for line in text.splitlines() if line.startswith("| CNN | ") and "(4)" in line]
    assert fidelity and all(line.endswith("| **no** |") for line in fidelity)
