"""The Transformer and ResNet workloads keep the contract and do the same work on both sides."""

from __future__ import annotations

import importlib

import numpy as np
import pytest

from common import tiers
from engine.bench import child, workload
from engine.bench.cases import CASES, job_spec

MODELS = ("transformer_workload", "resnet_workload")


def _pair(name):
    return {fw: importlib.import_module(f"speed.{name}_{fw}") for fw in ("torch", "tf")}


def test_every_timed_case_keeps_the_contract():
    for case in CASES.values():
        if case.kind not in ("train", "infer"):
            continue
        assert case.description is not None, case.name
        for fw in ("torch", "tf"):
            module = importlib.import_module(case.module(fw))
            assert workload.missing(module) == [], (case.name, fw)
            for config in case.configs("default") + case.configs("full"):
                if config[0] == fw:
                    assert tiers.parse(config[1]).execution in module.MODES, (case.name, config)


def test_a_workload_missing_a_function_is_named():
    module = importlib.import_module("speed.resnet_workload_torch")
    stand_in = type(module)("stand_in")
    stand_in.__dict__.update({k: v for k, v in vars(module).items() if k != "make_predict"})
    assert workload.missing(stand_in) == ["make_predict"]


@pytest.mark.parametrize("name,size", [("transformer_workload", 1), ("resnet_workload", 1), ("resnet_workload", 2)])
def test_both_twins_build_the_described_parameter_count(name, size):
    described = workload.describe(name, "speed")
    counts = {fw: w.count_trainable_params(w.build(size)) for fw, w in _pair(name).items()}
    assert counts["torch"] == counts["tf"] == described.trainable_params(size)


@pytest.mark.parametrize("data", ["text", "synthetic"])
def test_transformer_batches_are_the_same_ids_on_both_sides(data):
    pair = _pair("transformer_workload")
    (xt, yt), (xf, yf) = (pair[fw].make_batch(3, size=1, data=data) for fw in ("torch", "tf"))
    np.testing.assert_array_equal(xt.numpy(), np.asarray(xf))
    np.testing.assert_array_equal(yt.numpy(), np.asarray(yf))
    assert (xt.numpy()[:, 1:] == yt.numpy()[:, :-1]).all()  # next-token targets


def test_resnet_batches_are_the_same_images_in_each_layout():
    pair = _pair("resnet_workload")
    (xt, yt), (xf, yf) = pair["torch"].make_batch(3), pair["tf"].make_batch(3)
    np.testing.assert_array_equal(xt.permute(0, 2, 3, 1).numpy(), np.asarray(xf))  # NCHW vs NHWC
    np.testing.assert_array_equal(yt.numpy(), np.asarray(yf))


# One of each kind of loop (the harness's and Keras'), each precision and layout; every timed run of a
# regen asserts the same for every tier, so the tests keep to the few that cover the child's paths.
@pytest.mark.parametrize("name,fw,mode", [
    ("transformer_workload", "torch", "eager-bf16"), ("transformer_workload", "tf", "fit"),
    ("resnet_workload", "torch", "eager-cl"), ("resnet_workload", "tf", "function-bf16"),
])
def test_the_child_times_each_tier_and_the_loss_falls(name, fw, mode):
    """The timed child, end to end in this process, with the spec the harness would write."""
    case = CASES[name.removesuffix("_workload")]
    spec = {**job_spec(case, (fw, mode, 4, 1), "quick", 1), "warmup": 2, "steps": 3}
    work = importlib.import_module(case.module(fw))
    tiers.call(work.configure, mode, 1)
    result = child.run_train(spec, work)
    assert result["params"] == workload.describe(name, "speed").trainable_params(1)
    assert result["output_shape"] == spec["expected_output_shape"]
    assert len(result["samples_ns"]) == 3 and result["loss_last"] < result["loss_first"]
    tiers.call(work.configure, "eager", 1)  # leave Keras' global policy at fp32 for the other tests


def test_the_child_refuses_a_model_of_another_size():
    case = CASES["transformer"]
    spec = {**job_spec(case, ("torch", "eager", 2, 1), "quick", 1), "warmup": 1, "steps": 1}
    spec["expected_params"] += 1
    with pytest.raises(AssertionError, match="trainable parameters"):
        child.run_train(spec, importlib.import_module(case.module("torch")))


def test_job_specs_carry_the_description_not_the_cnn():
    spec = job_spec(CASES["transformer"], ("torch", "eager", 8, 2), "default", 2)
    described = workload.describe("transformer_workload", "speed")
    assert spec["expected_params"] == described.trainable_params(2) > 5_000_000
    assert spec["expected_output_shape"] == [8, 128, 4096] and spec["items_per_sample"] == 128
    assert spec["options"] == {"data": "text"}
    assert job_spec(CASES["size_sweep"], ("tf", "eager", 8, 3), "default", 2)["options"] == {"data": "synthetic"}
