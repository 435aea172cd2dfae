"""The "Flexibility and debugging" page's claims, checked against the snippets it shows.

Errors must be captured with the expected type in each setting, print and
tf.print must fire the number of times the page says, and a breakpoint must
stop where (and as often as) the page says.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from conftest import load_module

ROOT = Path(__file__).resolve().parents[1]
DEBUGGING = ROOT / "snippets" / "debugging"


def load(name: str):
    return load_module(DEBUGGING / f"{name}.py")


@pytest.fixture
def restore_breakpointhook():
    saved = sys.breakpointhook
    yield
    sys.breakpointhook = saved


# --- the planted shape bug -------------------------------------------------------------------


def test_torch_eager_raises_runtime_error_naming_both_shapes(capsys):
    import torch

    bug = load("shape_bug_torch")
    model = bug.build_buggy_model()
    error = bug.capture(lambda: model(torch.zeros(2, 1, 28, 28)))
    assert type(error) is RuntimeError
    assert "2x1600 and 1024x10" in str(error)
    bug.describe(error)
    out = capsys.readouterr().out
    assert out.startswith("builtins.RuntimeError\n")
    assert "torch/nn/modules/linear.py" in out  # the frame that raised, path made relative
    assert "/work/" not in out and str(ROOT) not in out


def test_torch_compile_raises_while_capturing():
    import torch

    bug = load("shape_bug_torch")
    model = bug.build_buggy_model()
    error = bug.capture(lambda: torch.compile(model, backend="eager")(torch.zeros(2, 1, 28, 28)))
    assert isinstance(error, torch._dynamo.exc.TorchRuntimeError)
    assert "[2, 1600] X [1024, 10]" in str(error)


def test_tf_eager_and_tf_function_raise_value_error(capsys):
    import tensorflow as tf

    bug = load("shape_bug_tf")
    model = bug.build_buggy_model()
    X = tf.zeros((2, 28, 28, 1))
    eager = bug.capture(lambda: model(X))
    assert type(eager) is ValueError
    assert "expected axis -1 of input shape to have value 1024" in str(eager)
    assert "(2, 1600)" in str(eager)

    traced = bug.capture(lambda: tf.function(model)(X))
    assert type(traced) is ValueError
    assert str(traced).lstrip().startswith("in user code:")  # tf.function's extra section
    assert "(2, 1600)" in str(traced)
    bug.describe(traced, max_lines=30)
    out = capsys.readouterr().out
    assert "shape_bug_tf.py" not in out.split("traceback:")[0]  # the message does not name our file
    assert "__autograph_generated_file" not in out  # random temp names are normalised


def test_working_model_raises_nothing():
    """The capture helper really distinguishes: a correct call returns None."""
    bug = load("shape_bug_torch")
    assert bug.capture(lambda: 1 + 1) is None


# --- print vs tf.print ---------------------------------------------------------------------------


def test_print_fires_once_and_tf_print_every_call_inside_tf_function(tmp_path):
    import tensorflow as tf

    printing = load("print_tf")
    log = tmp_path / "tf_print.log"
    printed, tf_printed = printing.count_prints(printing.make_step(log), calls=4, log_path=log)
    assert len(printed) == 1 and "Tensor(" in printed[0]  # symbolic tensor, printed at trace time
    assert tf_printed == [f"tf.print: y = {2 * i}" for i in range(4)]

    tf.config.run_functions_eagerly(True)
    try:
        printed, tf_printed = printing.count_prints(printing.make_step(log), calls=4, log_path=log)
    finally:
        tf.config.run_functions_eagerly(False)
    assert len(printed) == 4 and len(tf_printed) == 4


def test_print_fires_every_call_in_torch_eager_and_compiled():
    printing = load("print_torch")
    printed, traces = printing.count_prints(printing.make_step(), calls=4, compiled=False)
    assert printed == [f"print:    y = tensor({2 * i}.)" for i in range(4)]
    assert traces == []
    printed, traces = printing.count_prints(printing.make_step(), calls=4, compiled=True)
    assert len(printed) == 4
    assert len(traces) == 2  # graph break: one graph before the print, one after


# --- breakpoints -------------------------------------------------------------------------------


def test_tf_breakpoint_stops_once_when_traced_and_every_call_when_run_eagerly(restore_breakpointhook):
    import tensorflow as tf

    bp = load("breakpoint_tf")
    hits = bp.install_scripted_debugger(["p tuple(x.shape)"], quiet=True)
    model = bp.Doubler()
    for _ in range(3):
        model(tf.ones((2, 3)))
    assert len(hits) == 3 and all(h.endswith("breakpoint_tf.py:call") for h in hits)

    hits.clear()
    compiled = tf.function(model)
    for _ in range(3):
        compiled(tf.ones((2, 3)))
    assert len(hits) == 1 and hits[0].endswith("breakpoint_tf.py:call")

    hits.clear()
    tf.config.run_functions_eagerly(True)
    try:
        for _ in range(3):
            compiled(tf.ones((2, 3)))
    finally:
        tf.config.run_functions_eagerly(False)
    assert len(hits) == 3


def test_scripted_pdb_sees_symbolic_tensor_when_traced(restore_breakpointhook, capsys):
    import tensorflow as tf

    bp = load("breakpoint_tf")
    bp.install_scripted_debugger(["p type(x).__name__", "p x.numpy().sum()"])
    tf.function(bp.Doubler())(tf.ones((2, 3)))
    out = capsys.readouterr().out
    assert "'SymbolicTensor'" in out
    assert "AttributeError" in out  # no value to read while tracing


def test_torch_breakpoint_stops_in_forward_eagerly_but_not_under_compile(restore_breakpointhook, capsys):
    import torch

    bp = load("breakpoint_torch")
    hits = bp.install_scripted_debugger(["p x.sum().item()"])
    model = bp.Doubler()
    for _ in range(2):
        model(torch.ones(2, 3))
    assert len(hits) == 2 and all(h.endswith(":forward") for h in hits)
    assert capsys.readouterr().out.count("\n6.0\n") == 2  # the debugger printed a real value

    hits.clear()
    torch._dynamo.reset()
    compiled = torch.compile(model, backend="eager")
    for _ in range(2):
        compiled(torch.ones(2, 3))
    assert hits and not any(h.endswith(":forward") for h in hits)

    hits.clear()
    torch.compiler.set_stance("force_eager")
    try:
        for _ in range(2):
            compiled(torch.ones(2, 3))
    finally:
        torch.compiler.set_stance("default")
    assert len(hits) == 2 and all(h.endswith(":forward") for h in hits)
