"""The "Computation graphs" page's claims, checked against the snippets it shows.

Each test imports a snippet by path and calls its functions: trace and graph
counters must really count, and the op counts the page prints must be right.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import load_module

ROOT = Path(__file__).resolve().parents[1]
GRAPHS = ROOT / "snippets" / "graphs"


def load(name: str):
    return load_module(GRAPHS / f"{name}.py")


# --- retracing: the counters count ------------------------------------------------------------


def test_tf_python_scalars_retrace_and_tensors_do_not():
    import tensorflow as tf

    retracing = load("retracing_tf")
    scale, traces = retracing.traced_scale()
    for factor in (1.0, 2.0, 3.0):
        scale(tf.ones(3), factor)
    assert len(traces) == 3 == scale.experimental_get_tracing_count()
    assert traces == [1.0, 2.0, 3.0]  # one trace per distinct Python value, in call order

    scale(tf.ones(3), 2.0)  # a value seen before reuses its graph
    assert len(traces) == 3

    scale, traces = retracing.traced_scale()
    for factor in (1.0, 2.0, 3.0):
        scale(tf.ones(3), tf.constant(factor))
    assert len(traces) == 1


def test_tf_new_shapes_retrace_unless_signature_says_otherwise():
    import tensorflow as tf

    retracing = load("retracing_tf")
    scale, traces = retracing.traced_scale()
    for n in (3, 4, 5, 6):
        scale(tf.ones(n), tf.constant(2.0))
    assert len(traces) == 4

    signature = [tf.TensorSpec([None], tf.float32), tf.TensorSpec([], tf.float32)]
    scale, traces = retracing.traced_scale(input_signature=signature)
    for n in (3, 4, 5, 6):
        out = scale(tf.ones(n), tf.constant(2.0))
        assert out.numpy().tolist() == [2.0] * n  # the one graph still computes the right thing
    assert len(traces) == 1


def test_torch_recompiles_on_new_python_values_and_shapes_but_not_tensors():
    import torch

    retracing = load("retracing_torch")
    scale, traces = retracing.compiled_scale()
    for factor in (1.0, 2.0, 3.0):
        scale(torch.ones(3), factor)
    assert len(traces) >= 2  # the first new value forces a recompile

    scale, traces = retracing.compiled_scale()
    for factor in (1.0, 2.0, 3.0):
        assert scale(torch.ones(3), torch.tensor(factor)).tolist() == [factor] * 3
    assert len(traces) == 1

    scale, traces = retracing.compiled_scale()
    for n in (3, 4, 5, 6):
        scale(torch.ones(n), torch.tensor(2.0))
    assert 2 <= len(traces) < 4  # recompiled once, then dynamic

    scale, traces = retracing.compiled_scale(dynamic=True)
    for n in (3, 4, 5, 6):
        scale(torch.ones(n), torch.tensor(2.0))
    assert len(traces) == 1


# --- graph capture: the op counts are what the page says ------------------------------------


def test_torch_export_graph_of_the_shared_cnn():
    from common.cnn_torch import build_model

    capture = load("capture_torch")
    model = build_model()
    exported = capture.export_model(model)
    ops = capture.count_ops(exported.graph_module)
    assert ops == {
        "aten.conv2d.default": 2,
        "aten.relu.default": 2,
        "aten.max_pool2d.default": 2,
        "aten.flatten.using_ints": 1,
        "aten.linear.default": 1,
    }
    assert capture.count_nodes(exported.graph_module) == 8

    traces = capture.compile_and_call(model, calls=3)
    assert len(traces) == 1
    assert capture.count_nodes(traces[0]) == 8


def test_tf_function_graph_of_the_shared_cnn():
    import tensorflow as tf

    from common.cnn_tf import build_model

    capture = load("capture_tf")
    model = build_model()
    concrete = capture.trace_model(model)
    ops = capture.count_ops(concrete)
    assert (ops["Conv2D"], ops["MaxPool"], ops["Relu"], ops["MatMul"]) == (2, 2, 2, 1)
    assert ops["ReadVariableOp"] == 6  # three layers with weights, kernel and bias each
    assert sum(ops.values()) == len(concrete.graph.get_operations())
    # The traced graph computes what the eager model computes.
    x = tf.random.uniform((3, 28, 28, 1), seed=1)
    assert float(tf.reduce_max(tf.abs(concrete(x) - model(x)))) < 1e-5

    assert capture.call_and_count_traces(model, calls=3) == 1


# --- control flow -------------------------------------------------------------------------------


def test_tf_autograph_turns_python_if_and_while_into_graph_ops():
    import tensorflow as tf

    control = load("control_flow_tf")
    model = control.GatedBlock()
    ops = control.graph_ops(model)
    assert ops["If"] + ops["StatelessIf"] == 1
    assert ops["While"] + ops["StatelessWhile"] == 1
    forward = tf.function(model)
    for scale in (1.0, -10.0):  # the one graph agrees with eager on both branches
        x = tf.fill((1, 4), scale)
        assert forward(x).numpy().tolist() == model(x).numpy().tolist()
    assert forward.experimental_get_tracing_count() == 1


def test_keras_layer_call_is_not_converted_by_autograph():
    import tensorflow as tf

    control = load("control_flow_tf")
    with pytest.raises(tf.errors.OperatorNotAllowedInGraphError):
        tf.function(control.KerasGatedBlock())(tf.ones((1, 4)))


def test_torch_compile_breaks_the_graph_at_data_dependent_control_flow():
    import torch

    control = load("control_flow_torch")
    model = control.GatedBlock()
    report = control.explain(model)
    assert report.graph_break_count >= 1
    lines = {reason.user_stack[-1].lineno for reason in report.break_reasons}
    source = (GRAPHS / "control_flow_torch.py").read_text().splitlines()
    assert {source[n - 1].strip().split()[0] for n in lines} == {"if", "while"}
    with pytest.raises(Exception, match="data-dependent"):
        torch.export.export(model, (torch.ones(2, 4),))
