"""Each workload's analytic FLOPs and parameter counts (its description) against PyTorch's own counters."""

from __future__ import annotations

import importlib

import pytest

from engine.bench import workload

torch = pytest.importorskip("torch")
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402


def _counted(model, X, y, train: bool) -> int:
    # The math backend of scaled_dot_product_attention runs the attention products as matmuls the
    # counter sees; the fused CPU kernel does the same products but is not in the counter's registry.
    from torch.nn.attention import SDPBackend, sdpa_kernel

    with FlopCounterMode(display=False) as counter, sdpa_kernel(SDPBackend.MATH):
        if train:
            logits = model(X)
            torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1)).backward()
        else:
            with torch.no_grad():
                model(X)
    return counter.get_total_flops()


def _model_and_batch(name: str, size: int, batch: int):
    described = workload.describe(name, "speed")
    if name == "cnn_workload":
        from common.cnn_torch import build_model

        return described, build_model(size), torch.randn(batch, 1, 28, 28), torch.randint(0, 10, (batch,))
    if name == "resnet_workload":
        from common.resnet_torch import build_model

        return (described, build_model(described.base_channels(size)), torch.randn(batch, 3, 32, 32),
                torch.randint(0, 10, (batch,)))
    from common.transformer_torch import build_model

    ids = torch.randint(0, described.VOCAB_SIZE, (batch, described.SEQ_LEN))
    return described, build_model(**described.model_kwargs(size)), ids, ids


CASES = [("cnn_workload", 1, 1), ("cnn_workload", 1, 16), ("cnn_workload", 2, 8), ("cnn_workload", 4, 4),
         ("resnet_workload", 1, 2), ("resnet_workload", 2, 2), ("transformer_workload", 1, 2),
         ("transformer_workload", 2, 1)]


@pytest.mark.parametrize("name,size,batch", CASES)
def test_analytic_step_flops_match_torch_flop_counter(name, size, batch):
    described, model, X, y = _model_and_batch(name, size, batch)
    assert _counted(model, X, y, train=True) == described.train_step_flops(batch, size)


@pytest.mark.parametrize("name,size,batch", CASES)
def test_forward_flops_match_torch_flop_counter(name, size, batch):
    described, model, X, y = _model_and_batch(name, size, batch)
    assert _counted(model, X, y, train=False) == described.forward_flops(batch, size)


@pytest.mark.parametrize("name,size", [("cnn_workload", 1), ("cnn_workload", 2), ("resnet_workload", 1),
                                       ("resnet_workload", 2), ("transformer_workload", 1),
                                       ("transformer_workload", 3)])
def test_param_formula_matches_the_model(name, size):
    described, model, _, _ = _model_and_batch(name, size, 1)
    assert described.trainable_params(size) == sum(p.numel() for p in model.parameters() if p.requires_grad)


def test_a_description_missing_a_name_is_refused(monkeypatch):
    module = importlib.import_module("speed.cnn_workload")
    monkeypatch.delattr(module, "train_step_flops")
    with pytest.raises(TypeError, match="missing train_step_flops"):
        workload.describe("cnn_workload", "speed")
