"""Analytic FLOPs and parameter counts against PyTorch's own counters."""

from __future__ import annotations

import pytest

from engine.bench import flops


@pytest.mark.parametrize("width,batch_size", [(1, 1), (1, 16), (2, 8), (4, 4)])
def test_analytic_step_flops_match_torch_flop_counter(width, batch_size):
    torch = pytest.importorskip("torch")
    from torch.utils.flop_counter import FlopCounterMode

    from common.cnn_torch import build_model

    model = build_model(width)
    X = torch.randn(batch_size, 1, 28, 28)
    y = torch.randint(0, 10, (batch_size,))
    with FlopCounterMode(display=False) as counter:
        torch.nn.functional.cross_entropy(model(X), y).backward()
    assert counter.get_total_flops() == flops.train_step_flops(batch_size, width)


def test_forward_flops_match_torch_flop_counter():
    torch = pytest.importorskip("torch")
    from torch.utils.flop_counter import FlopCounterMode

    from common.cnn_torch import build_model

    with FlopCounterMode(display=False) as counter, torch.no_grad():
        build_model(1)(torch.randn(3, 1, 28, 28))
    assert counter.get_total_flops() == flops.forward_flops(3, 1)


def test_step_is_about_three_forward_passes():
    ratio = flops.train_step_flops(64) / flops.forward_flops(64)
    assert 2.5 < ratio < 3.0  # the first conv needs no input gradient


def test_param_formula_matches_the_guide_model():
    assert flops.trainable_params(1) == 34826
    assert flops.trainable_params(2) > flops.trainable_params(1)
