"""The two sides of every benchmark workload do the same work (BENCHMARKING.md rule 7)."""

from __future__ import annotations

import importlib

import numpy as np
import pytest

from engine.bench import flops
from engine.bench.cases import CASES, MODE_LABELS, TIERS


@pytest.fixture(scope="module")
def workloads():
    return {fw: importlib.import_module(f"speed.cnn_workload_{fw}") for fw in ("torch", "tf")}


@pytest.mark.parametrize("width", [1, 2, 4])
def test_parameter_counts_are_equal_and_match_the_formula(workloads, width):
    counts = {fw: w.count_trainable_params(w.build(width)) for fw, w in workloads.items()}
    assert counts["torch"] == counts["tf"] == flops.trainable_params(width)


def test_output_shapes_match(workloads):
    shapes = {}
    for fw, w in workloads.items():
        model = w.build(1)
        X, y = w.make_batch(5)
        shapes[fw] = w.to_numpy(model(X)).shape
        assert tuple(y.shape) == (5,)
    assert shapes["torch"] == shapes["tf"] == (5, 10)


def test_same_batch_values_on_both_sides(workloads):
    X_torch, y_torch = workloads["torch"].make_batch(4)
    X_tf, y_tf = workloads["tf"].make_batch(4)
    # Same data, each framework's native layout: NCHW vs NHWC.
    np.testing.assert_array_equal(X_torch.numpy()[:, 0], np.asarray(X_tf)[..., 0])
    np.testing.assert_array_equal(y_torch.numpy(), np.asarray(y_tf))


@pytest.mark.parametrize("fw,mode", [("torch", "eager"), ("tf", "eager"), ("tf", "function")])
def test_every_mode_trains(workloads, fw, mode):
    w = workloads[fw]
    model = w.build(1)
    X, y = w.make_batch(16)
    train_step = w.make_train_step(model, mode)
    losses = [w.sync(train_step(X, y)) for _ in range(4)]
    assert losses[-1] < losses[0]


@pytest.mark.parametrize("module", ["speed.cnn_workload_tf", "speed.input_pipeline_tf"])
def test_keras_fit_runs_the_batches_asked_for_and_learns(module):
    w = importlib.import_module(module)
    X, y = w.make_batch(16)
    begun, losses = [], []
    w.make_fit(w.build(1), X, y)(5, lambda: begun.append(1), losses.append)
    assert len(begun) == len(losses) == 5
    assert all(isinstance(loss, float) for loss in losses) and losses[-1] < losses[0]


def test_the_child_times_keras_fit_batch_by_batch():
    from engine.bench import child

    work = importlib.import_module("speed.cnn_workload_tf")
    spec = {"width": 1, "batch_size": 8, "mode": "fit", "warmup": 3, "steps": 4,
            "expected_params": 34826}
    result = child.run_train(spec, work)
    assert len(result["samples_ns"]) == 4 and result["warmup_steps"] == 3
    assert result["first_step_ns"] > max(result["samples_ns"])  # tracing happens in batch 0
    assert result["loss_last"] < result["loss_first"]


def test_unknown_mode_is_refused():
    w = importlib.import_module("speed.cnn_workload_tf")
    with pytest.raises(ValueError, match="make_fit"):
        w.make_train_step(w.build(1), "fit")


def test_optimizers_use_the_same_epsilon():
    source = {fw: (importlib.import_module(f"speed.cnn_workload_{fw}").__file__) for fw in ("torch", "tf")}
    for path in source.values():
        assert "1e-7" in open(path).read()


def test_every_case_mode_has_a_label_and_tier_and_exists_in_its_workload():
    for case in CASES.values():
        for profile in ("quick", "default", "full"):
            for fw, mode, _, _ in case.configs(profile):
                if case.kind in ("train", "infer", "accuracy"):
                    assert (fw, mode) in MODE_LABELS and (fw, mode) in TIERS
                    module = importlib.import_module(f"speed.cnn_workload_{fw}")
                    assert mode in module.MODES
                    if mode in getattr(module, "LOOP_MODES", ()):  # only the train child times a fit loop
                        assert case.kind == "train", (case.name, mode)
