"""The two sides of every benchmark workload do the same work (docs/method.md, the same work on both sides)."""

from __future__ import annotations

import importlib

import numpy as np
import pytest

from common import tiers
from engine.bench import workload
from engine.bench.cases import CASES, mode_label, tier_of


@pytest.fixture(scope="module")
def workloads():
    return {fw: importlib.import_module(f"speed.cnn_workload_{fw}") for fw in ("torch", "tf")}


@pytest.mark.parametrize("width", [1, 2, 4])
def test_parameter_counts_are_equal_and_match_the_formula(workloads, width):
    counts = {fw: w.count_trainable_params(w.build(width)) for fw, w in workloads.items()}
    assert counts["torch"] == counts["tf"] == workload.describe("cnn_workload", "speed").trainable_params(width)


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


@pytest.mark.parametrize("fw,mode", [("torch", "eager"), ("tf", "eager"), ("tf", "function"),
                                     ("torch", "eager-cl"), ("torch", "eager-cl-bf16"), ("tf", "function-bf16")])
def test_every_mode_trains(workloads, fw, mode):
    w = workloads[fw]
    model = w.build(1, mode=mode)
    X, y = w.make_batch(16, mode=mode)
    train_step = w.make_train_step(model, mode)
    losses = [w.sync(train_step(X, y)) for _ in range(4)]
    assert losses[-1] < losses[0]


def test_mixed_precision_keeps_fp32_weights_and_an_fp32_loss(workloads):
    """Rule 9: bf16 compute on both sides, master weights and the loss in fp32 on both sides."""
    import tensorflow as tf
    import torch

    w = workloads["torch"]
    model = w.build(1, mode="eager-cl-bf16")
    X, y = w.make_batch(8, mode="eager-cl-bf16")
    loss = w.make_train_step(model, "eager-cl-bf16")(X, y)
    assert loss.dtype == torch.float32 and all(p.dtype == torch.float32 for p in model.parameters())
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert model(X).dtype == torch.bfloat16  # the forward pass really runs in bf16
    w = workloads["tf"]
    model = w.build(1, mode="function-bf16")
    X, y = w.make_batch(8, mode="function-bf16")
    loss = w.make_train_step(model, "function-bf16")(X, y)
    assert loss.dtype == tf.float32 and all(v.dtype == "float32" for v in model.trainable_variables)
    assert model(X).dtype == tf.bfloat16
    w.build(1)  # leave the global Keras policy at fp32 for the other tests


def test_channels_last_is_the_memory_format_not_a_different_model(workloads):
    w = workloads["torch"]
    import torch

    a, b = w.build(1), w.build(1, mode="eager-cl")
    X, _ = w.make_batch(4)
    X_cl, _ = w.make_batch(4, mode="eager-cl")
    # With one input channel NCHW and NHWC are the same bytes; the layout shows in the weights
    # and in every activation after the first convolution.
    assert b[3].weight.is_contiguous(memory_format=torch.channels_last)
    assert not a[3].weight.is_contiguous(memory_format=torch.channels_last)
    assert b[:4](X_cl).is_contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(a(X), b(X_cl), rtol=1e-5, atol=1e-5)  # same weights, same function


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
            "expected_params": 34826, "expected_output_shape": [8, 10], "train_step_flops": 1,
            "items_per_sample": 1}
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
                    assert mode_label(fw, mode) and tier_of(fw, mode) in ("out-of-the-box", "tuned")
                    module = importlib.import_module(f"speed.cnn_workload_{fw}")
                    execution = tiers.parse(mode).execution
                    assert execution in module.MODES, (case.name, fw, mode)
                    if execution in getattr(module, "LOOP_MODES", ()):  # only the train child times a fit loop
                        assert case.kind == "train", (case.name, mode)


def test_out_of_the_box_means_defaults_only():
    assert tier_of("torch", "eager") == tier_of("tf", "fit") == "out-of-the-box"
    for fw, mode in (("torch", "eager-cl"), ("torch", "compile"), ("tf", "fit-bf16"), ("tf", "function")):
        assert tier_of(fw, mode) == "tuned", mode
