"""Deliberately wrong weight mappings: each must make its pair's parity check fail.

Framework-free like ``common.parity``; ``tests/test_parity.py`` hands each to
``common.parity_tf.compare(..., mapping=...)`` in a TensorFlow-only process.
Each is a mistake a person porting weights by hand makes.
"""

from __future__ import annotations

import numpy as np

from common import parity


def cnn_flatten_order_ignored(state):
    """The Linear after the flatten only transposed, as if PyTorch flattened NHWC."""
    weights = parity.map_cnn(state)
    weights[4] = parity.dense_oi_to_io(state["7.weight"])
    return weights


def cnn_kernel_height_width_swapped(state):
    """OIHW -> WHIO: every 3x3 kernel transposed, shapes still fit."""
    weights = parity.map_cnn(state)
    weights[0], weights[2] = state["0.weight"].transpose(3, 2, 1, 0), state["3.weight"].transpose(3, 2, 1, 0)
    return weights


def custom_layer_transposed_like_linear(state):
    """SimpleDense treated as nn.Linear, whose weight is (out, in): transposed for nothing."""
    return [w.T if w.ndim == 2 else w for w in parity.map_custom_layer(state)]


def model_zoo_batch_norm_epsilon_not_folded(state):
    """Statistics copied as they are, ignoring Keras' epsilon 1e-3 against PyTorch's 1e-5."""
    eps = parity.MOBILENET_BN_EPS
    return [w - np.float32(eps["torch"] - eps["keras"]) if name.endswith("running_var") else w
            for name, w in zip(_mobilenet_names(state), parity.map_mobilenet_v2(state), strict=True)]


def model_zoo_depthwise_as_regular_conv(state):
    """A depthwise kernel (C, 1, 3, 3) laid out like a full conv's: (3, 3, 1, C)."""
    weights = parity.map_mobilenet_v2(state)
    names = _mobilenet_names(state)
    return [parity.conv_oihw_to_hwio(state[n]) if state.get(n) is not None and state[n].ndim == 4
            and state[n].shape[1] == 1 else w for n, w in zip(names, weights, strict=True)]


def _mobilenet_names(state):
    """The PyTorch name behind each Keras weight of map_mobilenet_v2, in the same order."""
    names = []
    for name, value in state.items():
        if not name.endswith(".weight"):
            continue
        prefix = name[: -len(".weight")]
        if value.ndim == 4:
            names.append(name)
        elif f"{prefix}.running_mean" in state:
            names += [name, f"{prefix}.bias", f"{prefix}.running_mean", f"{prefix}.running_var"]
        else:
            names += [name, f"{prefix}.bias"]
    return names


def transformer_heads_not_split(state):
    """Query/key/value kernels reshaped without the transpose: (out, in) read as (in, out)."""
    weights = parity.map_transformer(state, parity._transformer_heads())
    d = state["tokens.weight"].shape[1]
    weights[4] = state["blocks.0.query.weight"].reshape(d, -1, weights[4].shape[-1])
    return weights


def resnet_kernel_height_width_swapped(state):
    """OIHW -> WHIO for every 3x3 kernel: shapes still fit."""
    return {k: (v.transpose(1, 0, 2, 3) if k.endswith("kernel") and v.ndim == 4 and v.shape[0] == 3 else v)
            for k, v in parity.map_resnet(state).items()}


MUTATIONS = {
    "transformer": [transformer_heads_not_split],
    "resnet": [resnet_kernel_height_width_swapped],
    "cnn": [cnn_flatten_order_ignored, cnn_kernel_height_width_swapped],
    "custom_layer": [custom_layer_transposed_like_linear],
    "model_zoo": [model_zoo_batch_norm_epsilon_not_folded, model_zoo_depthwise_as_regular_conv],
}
