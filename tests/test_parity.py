"""Cross-framework parity: every paired model computes the same function once the weights are copied.

The two sides run exactly as the build runs them (``engine.parity.run_pairs``):
the PyTorch side in one process writes each pair's weights, fixed batch,
logits, loss, gradients and post-step weights to an .npz (float64 on the CPU
for the proof, fp32 for the report); the TensorFlow side in another maps the
weights into the Keras twin and compares. The float64 proof must pass with
oneDNN on and with it off; in a TensorFlow-only process, deliberately wrong
mappings from ``tests/parity_mutations.py`` must each fail the float64 proof,
which proves the check can. The fp32 report is measured, never enforced: the
tests check its figures are consistent, not that they are small.
"""

from __future__ import annotations

import copy
import json
import logging
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from common import parity
from engine import environment, paths
from engine import parity as engine_parity
from parity_mutations import MUTATIONS

ROOT = Path(__file__).resolve().parents[1]
STAGE_ORDER = ["outputs", "loss", "gradients", "weights after one step"]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("parity")


@pytest.fixture(scope="module")
def reports(workdir) -> dict[str, dict]:
    return engine_parity.run_pairs(list(parity.PAIRS), workdir)


PROVEN = [name for name, pair in parity.PAIRS.items() if not pair.float64_blocker]


def assert_proven(name: str, proof: dict) -> None:
    stages = {s["stage"]: s for s in proof["stages"]}
    assert list(stages) == STAGE_ORDER
    # In order: a wrong forward makes everything after it meaningless.
    for stage in STAGE_ORDER:
        s = stages[stage]
        assert s["passed"], f"{name}: {stage} differ by {s['max_abs_diff']:.3g} ({s['worst_ratio']:.3g} x tolerance)"
    assert proof["passed"]


@pytest.mark.parametrize("name", list(parity.PAIRS))
def test_same_weights_compute_the_same_function(reports, name):
    assert parity.PAIRS[name].float64_blocker or reports[name]["proof"] is not None
    if reports[name]["proof"] is not None:
        assert_proven(name, reports[name]["proof"])
    assert not engine_parity.failures(reports[name])


@pytest.mark.parametrize("name", PROVEN)
def test_the_proof_runs_in_float64_on_the_cpu(reports, workdir, name):
    data = np.load(workdir / f"{name}.proof.npz")
    assert str(data["dtype"]) == "float64" and str(data["device"]) == "cpu"
    assert {data[f"grad/{n}"].dtype for n in data["param_names"]} == {np.dtype("float64")}
    assert data["logits"].dtype == np.float64
    proof = reports[name]["proof"]
    assert proof["dtype"] == "float64" and proof["devices"] == {"torch": "cpu", "tf": "CPU"}
    for stage in proof["stages"]:
        assert (stage["rtol"], stage["atol"]) == (parity.FLOAT64[stage["stage"]].rtol,
                                                  parity.FLOAT64[stage["stage"]].atol)
        assert stage["rtol"] < parity.FLOAT32[stage["stage"]].rtol  # tighter than the fp32 expectation


@pytest.mark.parametrize("onednn", ["1", "0"])
def test_the_float64_proof_passes_with_onednn_on_and_off(reports, workdir, onednn):
    """The proof must not depend on the backend the builder's CPU selects: the same verdict either way."""
    proofs = engine_parity.run_proof(PROVEN, workdir, {engine_parity.ONEDNN: onednn})
    for name, proof in proofs.items():
        assert proof["backends"]["TF_ENABLE_ONEDNN_OPTS"] == onednn
        if proof["backends"]["tf_onednn"] is not None:  # what TensorFlow itself says it runs
            assert proof["backends"]["tf_onednn"] is (onednn == "1")
        assert_proven(name, proof)


@pytest.mark.parametrize("name", list(parity.PAIRS))
def test_every_trainable_weight_is_compared(reports, workdir, name):
    data = np.load(workdir / f"{name}.fp32.npz")
    torch_params = sum(data[f"grad/{n}"].size for n in data["param_names"])
    assert reports[name]["parameters"] == torch_params
    runs = [reports[name]["fp32"]] + ([reports[name]["proof"]] if reports[name]["proof"] else [])
    for run in runs:
        stages = {s["stage"]: s for s in run["stages"]}
        assert stages["gradients"]["tensors"] == stages["weights after one step"]["tensors"] == len(data["param_names"])
        assert stages["gradients"]["entries"] == torch_params


@pytest.mark.parametrize("name", list(parity.PAIRS))
def test_fp32_is_measured_with_the_default_backends(reports, name):
    report = reports[name]
    fp32 = report["fp32"]
    assert fp32["dtype"] == "float32"
    assert fp32["backends"]["TF_ENABLE_ONEDNN_OPTS"] is None  # unset: what a user gets
    for stage in fp32["stages"]:
        assert stage["entries"] > 0 and 0 <= stage["beyond"] <= stage["entries"]
        assert stage["fraction_beyond"] == pytest.approx(stage["beyond"] / stage["entries"])
        assert (stage["beyond"] == 0) == stage["passed"]  # beyond the expectation is what "not passed" means
        assert stage["relative_l2"] >= 0 and (stage["relative_l2"] > 0) == (stage["max_abs_diff"] > 0)
    # Every closing setting is measured exactly where fp32 is beyond the expectation, in its own environment.
    if fp32["passed"]:
        assert report["closing"] == []
    else:
        assert [c["setting"] for c in report["closing"]] == [s for s, _ in engine_parity.CLOSING.values()]
        for closing, (_, env) in zip(report["closing"], engine_parity.CLOSING.values(), strict=True):
            for variable, value in env.items():
                assert closing["run"]["backends"][variable] == value
            assert closing["run"]["dtype"] == "float32"


def test_passing_the_same_epsilon_to_both_adams_is_not_the_same_step(reports):
    """Keras adds epsilon before the bias correction: the float64 weights stage is sharp enough to see it."""
    for report in reports.values():
        if report["proof"] is None:
            continue
        weights = report["proof"]["stages"][-1]
        assert report["proof"]["same_epsilon_step_max_abs_diff"] > 1e3 * (weights["rtol"] * weights["scale"]
                                                                          + weights["atol"])


def test_wrong_mappings_fail(workdir, reports):
    code = textwrap.dedent(f"""
        import json, sys
        from common import parity_tf
        from parity_mutations import MUTATIONS
        results = {{}}
        for pair, mutations in MUTATIONS.items():
            for mutation in mutations:
                try:
                    report = parity_tf.compare({str(workdir)!r} + f"/{{pair}}.proof.npz", mapping=mutation)
                    assert report["dtype"] == "float64", report["dtype"]
                    results[mutation.__name__] = [s["stage"] for s in report["stages"] if not s["passed"]]
                except ValueError as error:  # Keras refuses a weight of the wrong shape
                    results[mutation.__name__] = ["set_weights: " + str(error).splitlines()[0]]
        print(json.dumps(results))
    """)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(paths.SNIPPETS_DIR), str(paths.SCRIPTS_DIR),
                                                       str(ROOT / "tests")]),
               KERAS_BACKEND="tensorflow", TF_CPP_MIN_LOG_LEVEL="2")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    failed = json.loads(done.stdout.strip().splitlines()[-1])
    expected = {m.__name__ for mutations in MUTATIONS.values() for m in mutations}
    assert set(failed) == expected
    passed_anyway = [name for name, stages in failed.items() if not stages]
    assert not passed_anyway, f"wrong mappings that the parity check did not catch: {passed_anyway}"


def test_rendered_fragments_are_deterministic_and_state_the_figures(reports):
    summary = engine_parity.render_summary(reports)
    assert summary == engine_parity.render_summary(json.loads(json.dumps(reports)))
    assert summary.startswith(engine_parity.BANNER)
    assert "proven in float64" in summary and environment.cpu_model() in summary
    for report in reports.values():
        assert report["title"] in summary
        sentence = engine_parity.render_sentence(report)
        assert "proven in float64 on the CPU, max |diff| = " in sentence
        assert engine_parity._diff(report["proof"]["stages"][0]["max_abs_diff"]) in sentence
        assert f"In fp32 on this builder's {environment.cpu_model()}" in sentence
        for stage in report["fp32"]["stages"]:
            assert engine_parity._fp32_cell(stage) in summary


# --- The build step on recorded reports (no framework runs) -----------------

def _stage(name: str, diff: float, limit: float, entries: int = 100, beyond: int = 0, tolerance=None) -> dict:
    tolerance = tolerance or parity.FLOAT64[name]
    return {"stage": name, "max_abs_diff": diff, "worst_ratio": diff / limit, "scale": 1.0, "tensors": 1,
            "passed": diff <= limit, "relative_l2": diff / 10, "entries": entries, "beyond": beyond,
            "fraction_beyond": beyond / entries, "rtol": tolerance.rtol, "atol": tolerance.atol,
            "why": tolerance.why}


def _run(dtype: str, gradients: float, beyond: int = 0, onednn: str | None = None) -> dict:
    limit = 1e-9 if dtype == "float64" else 1e-5
    tolerances = parity.TOLERANCES[dtype]
    stages = [_stage(s, gradients if s == "gradients" else limit / 100, limit,
                     beyond=beyond if s == "gradients" else 0, tolerance=tolerances[s]) for s in STAGE_ORDER]
    return {"dtype": dtype, "passed": all(s["passed"] for s in stages), "stages": stages,
            "backends": {"tf_onednn": onednn != "0", "TF_ENABLE_ONEDNN_OPTS": onednn, "torch_mkldnn": True},
            "devices": {"torch": "cpu", "tf": "CPU"}, "parameters": 100,
            "versions": {"torch": "t", "tensorflow": "tf", "keras": "k"}, "adam": dict(parity.ADAM),
            "torch_eps": 3e-6, "same_epsilon_step_max_abs_diff": 7e-4, "own_gradients_step_max_abs_diff": 1e-3}


def recorded(proof_gradients: float = 1e-14, fp32_gradients: float = 1e-7, closed_gradients: float = 3e-7,
             blocker: str = "", cpu: str = "Recorded CPU 9000") -> dict:
    """A pair's report as run_pairs assembles it, with chosen gradient differences."""
    fp32 = _run("float32", fp32_gradients, beyond=7 if fp32_gradients > 1e-5 else 0)
    closing = [] if fp32["passed"] else [
        {"setting": "TF_ENABLE_ONEDNN_OPTS=0", "run": _run("float32", closed_gradients, onednn="0",
                                                           beyond=3 if closed_gradients > 1e-5 else 0)}]
    return {"pair": "resnet", "title": "The ResNet", "note": "mapped", "float64_blocker": blocker,
            "parameters": 100, "cpu": cpu, "proof": None if blocker else _run("float64", proof_gradients),
            "fp32": fp32, "closing": closing}


def test_only_the_float64_proof_fails_the_build():
    assert engine_parity.failures(recorded(fp32_gradients=0.02)) == []  # fp32 beyond: reported, not enforced
    assert engine_parity.failures(recorded(blocker="no float64 kernel")) == []
    failed = engine_parity.failures(recorded(proof_gradients=1e-3))
    assert len(failed) == 1 and failed[0].startswith("gradients:") and "float64 tolerance" in failed[0]


@pytest.fixture
def isolated_cache(tmp_path, monkeypatch):
    monkeypatch.setattr(engine_parity, "CACHE", tmp_path / "cache")
    monkeypatch.setattr(engine_parity, "OUTPUT", tmp_path / "generated")
    monkeypatch.setattr(engine_parity, "registry", lambda: {"resnet": parity.PAIRS["resnet"]})
    return tmp_path


def test_refresh_fails_on_the_proof_and_caches_only_a_passing_one(isolated_cache, monkeypatch):
    runs = []

    def fake_run_pairs(names, workdir, report=None):
        runs.append(list(names))
        return {name: copy.deepcopy(fake_run_pairs.report) for name in names}

    monkeypatch.setattr(engine_parity, "run_pairs", fake_run_pairs)
    log = logging.getLogger("test")
    fake_run_pairs.report = recorded(proof_gradients=1e-3)
    with pytest.raises(engine_parity.ParityFailure, match="resnet: gradients"):
        engine_parity.refresh("stale", log)
    assert not (isolated_cache / "cache" / "resnet.json").exists()  # a failure is never cached
    fake_run_pairs.report = recorded(fp32_gradients=0.02)  # fp32 beyond the expectation: the build goes on
    engine_parity.refresh("stale", log)
    record = json.loads((isolated_cache / "cache" / "resnet.json").read_text())
    assert record["schema"] == engine_parity.RECORD_SCHEMA
    engine_parity.refresh("stale", log)  # cached: nothing runs
    engine_parity.refresh("none", log)
    assert len(runs) == 2
    engine_parity.refresh("all", log)
    assert len(runs) == 3
    record["schema"] = engine_parity.RECORD_SCHEMA - 1  # an older shape is never read as this one
    (isolated_cache / "cache" / "resnet.json").write_text(json.dumps(record))
    with pytest.raises(engine_parity.ParityFailure, match="no stored parity report"):
        engine_parity.refresh("none", log)
    page = (isolated_cache / "generated" / "resnet.md").read_text()
    assert "TF_ENABLE_ONEDNN_OPTS=0" in page and "Recorded CPU 9000" in page


def test_the_page_names_the_measured_setting_and_this_machine():
    beyond = recorded(fp32_gradients=0.02, closed_gradients=3.3e-6, cpu="Recorded CPU 9000")
    sentence = engine_parity.render_sentence(beyond)
    assert "proven in float64 on the CPU" in sentence
    assert "on this builder's Recorded CPU 9000" in sentence
    assert "the gradients go beyond the fp32 expectation in 7 % of their entries" in sentence
    assert "with `TF_ENABLE_ONEDNN_OPTS=0`: gradients 3.3e-06, within the fp32 expectation" in sentence
    summary = engine_parity.render_summary({"resnet": beyond})
    assert "2.0e-02 · 2.0e-03 · 7 %" in summary  # max |diff| · relative L2 · share beyond
    assert "with `TF_ENABLE_ONEDNN_OPTS=0`: gradients 3.3e-06, within the fp32 expectation" in summary
    assert "the gap is that backend's rounding on this machine" in summary and "Recorded CPU 9000" in summary

    still = engine_parity.render_sentence(recorded(fp32_gradients=0.02, closed_gradients=0.01))
    assert "gradients 1.0e-02, still beyond it in 3 % of the gradients" in still
    assert "backend's rounding" not in engine_parity.render_summary(
        {"resnet": recorded(fp32_gradients=0.02, closed_gradients=0.01)})

    within = recorded()
    assert "beyond" not in engine_parity.render_sentence(within)
    assert "every pair agrees within the fp32 expectation" in engine_parity.render_summary({"resnet": within})


def test_a_pair_without_a_float64_proof_says_why_on_the_page():
    report = recorded(blocker="a layer without a float64 CPU kernel in Keras")
    assert "Not proven in float64: a layer without a float64 CPU kernel in Keras." in \
        engine_parity.render_sentence(report)
    summary = engine_parity.render_summary({"resnet": report, "cnn": {**recorded(), "title": "The CNN"}})
    assert "not proven in float64: a layer without a float64 CPU kernel in Keras" in summary


def test_fp32_figures_per_stage():
    reference = [np.array([1.0, -2.0, 0.0]), np.array([[4.0]])]
    ours = [np.array([1.0, -2.0, 3e-4]), np.array([[4.0]])]
    c = parity.check_all("gradients", ours, reference, parity.GRADS)
    limit = parity.GRADS.rtol * 2.0 + parity.GRADS.atol
    assert (c.entries, c.beyond, c.passed) == (4, 1, False) and c.fraction_beyond == 0.25
    assert c.worst_ratio == pytest.approx(3e-4 / limit)
    assert c.relative_l2 == pytest.approx(3e-4 / np.sqrt(1 + 4 + 16))
    same = parity.check_all("gradients", reference, reference, parity.GRADS)
    assert (same.beyond, same.relative_l2, same.passed) == (0, 0.0, True)


def test_float64_optimizer_hyper_parameters_are_exact_in_float32():
    for pair in parity.PAIRS.values():
        for value in parity.optimizer_for(pair, "float64").values():
            assert float(np.float32(value)) == value


def test_mapping_helpers_are_layout_conversions():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3, 5, 5)).astype("float32")  # NCHW activations before the flatten
    w = rng.standard_normal((4, 3 * 5 * 5)).astype("float32")  # the Linear after it
    nchw = x.reshape(2, -1) @ w.T
    nhwc = parity.nchw_to_nhwc(x).reshape(2, -1) @ parity.dense_after_flatten(w, 3, 5, 5)
    np.testing.assert_allclose(nhwc, nchw, rtol=1e-5)
    assert parity.torch_epsilon_for_keras(1e-7, 0.999) == pytest.approx(1e-7 / np.sqrt(1e-3))
