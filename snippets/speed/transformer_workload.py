"""What the Transformer workload is, for the engine: sizes, parameters, FLOPs, data (no framework).

The engine reads this beside ``transformer_workload_torch.py`` / ``_tf.py`` (the
contract is ``engine.bench.workload``). A size is a number: 2 is the default
model, 1 and 3 the smaller and larger points of the size sweep.

FLOPs count the matrix multiplications, 2 per multiply-add, as
``torch.utils.flop_counter`` does (the tests check this count against it):
per token and layer the four attention projections and the two MLP layers,
plus the two attention products over the whole ``seq_len x seq_len`` score
matrix (the causal mask skips no work in the count, as in the counter), plus
the output head. Embedding lookups, LayerNorm, softmax, GELU and AdamW are
left out. Backward is two forward passes for every matmul: the embedding is
trained, so even the first block needs its input gradient.

>>> trainable_params(DEFAULT_SIZE)
5289472
>>> trainable_params(3) >= 25_000_000  # the sweep's largest point
True
>>> train_step_flops(8) == 3 * forward_flops(8)
True
"""

from __future__ import annotations

from typing import NamedTuple


class Shape(NamedTuple):
    layers: int
    d_model: int
    heads: int


TITLE = "decoder-only Transformer language model (pre-norm blocks, causal attention)"
VOCAB_SIZE = 4096  # holds every token of the real text (common/text.py)
SEQ_LEN = 128
SIZES = {1: Shape(2, 128, 4), 2: Shape(4, 256, 4), 3: Shape(8, 512, 8)}
DEFAULT_SIZE = 2
UNIT = "tokens"
DATA = {
    "text": "real text: windows of 128 tokens of CPython's pydoc help topics (common/text.py)",
    "synthetic": "synthetic token ids, uniform over the 4,096-token vocabulary: throughput only",
}


def size_label(size: int) -> str:
    shape = SIZES[size]
    return f"{shape.layers} layers, width {shape.d_model}, {shape.heads} heads"


def model_kwargs(size: int) -> dict:
    shape = SIZES[size]
    return {"vocab_size": VOCAB_SIZE, "seq_len": SEQ_LEN, "d_model": shape.d_model, "heads": shape.heads,
            "layers": shape.layers}


def trainable_params(size: int = DEFAULT_SIZE) -> int:
    layers, d, _ = SIZES[size]
    block = 4 * (d * d + d) + 2 * (2 * d) + (d * 4 * d + 4 * d) + (4 * d * d + d)
    return (VOCAB_SIZE + SEQ_LEN) * d + layers * block + 2 * d + d * VOCAB_SIZE


def forward_flops(batch_size: int, size: int = DEFAULT_SIZE) -> int:
    layers, d, _ = SIZES[size]
    T = SEQ_LEN
    per_layer = 4 * T * d * d + 2 * T * d * 4 * d + 2 * T * T * d  # projections, MLP, QK^T and AV
    return 2 * batch_size * (layers * per_layer + T * d * VOCAB_SIZE)


def train_step_flops(batch_size: int, size: int = DEFAULT_SIZE) -> int:
    return 3 * forward_flops(batch_size, size)


def output_shape(batch_size: int, size: int = DEFAULT_SIZE) -> tuple[int, ...]:
    return (batch_size, SEQ_LEN, VOCAB_SIZE)


def items_per_sample(size: int = DEFAULT_SIZE) -> int:
    return SEQ_LEN  # throughput is reported in tokens per second
