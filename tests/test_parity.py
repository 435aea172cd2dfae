"""Cross-framework parity: every paired model computes the same function once the weights are copied.

The two sides run exactly as the build runs them (``engine.parity.run_pairs``):
the PyTorch side in one process writes each pair's weights, fixed batch,
logits, loss, gradients and post-step weights to an .npz; the TensorFlow side
in another maps the weights into the Keras twin and compares. Then, in a third
(TensorFlow-only) process, deliberately wrong mappings from
``tests/parity_mutations.py`` must each fail, which proves the check can.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from common import parity
from engine import parity as engine_parity
from engine import paths
from parity_mutations import MUTATIONS

ROOT = Path(__file__).resolve().parents[1]
STAGE_ORDER = ["outputs", "loss", "gradients", "weights after one step"]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("parity")


@pytest.fixture(scope="module")
def reports(workdir) -> dict[str, dict]:
    return engine_parity.run_pairs(list(parity.PAIRS), workdir)


@pytest.mark.parametrize("name", list(parity.PAIRS))
def test_same_weights_compute_the_same_function(reports, name):
    report = reports[name]
    stages = {s["stage"]: s for s in report["stages"]}
    assert list(stages) == STAGE_ORDER
    # In order: a wrong forward makes everything after it meaningless.
    for stage in STAGE_ORDER:
        s = stages[stage]
        assert s["passed"], f"{name}: {stage} differ by {s['max_abs_diff']:.3g} ({s['worst_ratio']:.3g} x tolerance)"
    assert report["passed"]


@pytest.mark.parametrize("name", list(parity.PAIRS))
def test_every_trainable_weight_is_compared(reports, workdir, name):
    data = np.load(workdir / f"{name}.npz")
    torch_params = sum(data[f"grad/{n}"].size for n in data["param_names"])
    assert reports[name]["parameters"] == torch_params
    stages = {s["stage"]: s for s in reports[name]["stages"]}
    assert stages["gradients"]["tensors"] == stages["weights after one step"]["tensors"] == len(data["param_names"])


def test_passing_the_same_epsilon_to_both_adams_is_not_the_same_step(reports):
    """Keras adds epsilon before the bias correction: the weights stage is sharp enough to see it."""
    for report in reports.values():
        assert report["same_epsilon_step_max_abs_diff"] > 10 * parity.WEIGHTS.atol


def test_wrong_mappings_fail(workdir, reports):
    code = textwrap.dedent(f"""
        import json, sys
        from common import parity_tf
        from parity_mutations import MUTATIONS
        results = {{}}
        for pair, mutations in MUTATIONS.items():
            for mutation in mutations:
                try:
                    report = parity_tf.compare({str(workdir)!r} + f"/{{pair}}.npz", mapping=mutation)
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
    for report in reports.values():
        assert report["title"] in summary
        sentence = engine_parity.render_sentence(report)
        assert "Same weights, same outputs: max |diff| = " in sentence
        assert f"{report['stages'][0]['max_abs_diff']:.1e}" in sentence or report["stages"][0]["max_abs_diff"] == 0


def test_mapping_helpers_are_layout_conversions():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3, 5, 5)).astype("float32")  # NCHW activations before the flatten
    w = rng.standard_normal((4, 3 * 5 * 5)).astype("float32")  # the Linear after it
    nchw = x.reshape(2, -1) @ w.T
    nhwc = parity.nchw_to_nhwc(x).reshape(2, -1) @ parity.dense_after_flatten(w, 3, 5, 5)
    np.testing.assert_allclose(nhwc, nchw, rtol=1e-5)
    assert parity.torch_epsilon_for_keras(1e-7, 0.999) == pytest.approx(1e-7 / np.sqrt(1e-3))
