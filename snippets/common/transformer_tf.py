"""A decoder-only Transformer language model in Keras, the twin of ``transformer_torch.py``.

Token and position embeddings, ``layers`` pre-norm blocks (causal
``keras.layers.MultiHeadAttention``, then a GELU MLP four times as wide), a
final LayerNorm and an untied output head. Every weight is drawn from
N(0, 0.02) with zero biases, the same initializers as the PyTorch twin, and
LayerNorm uses epsilon 1e-5 on both sides (Keras' default is 1e-3).

>>> model = build_model(vocab_size=64, seq_len=8, d_model=16, heads=2, layers=1)
>>> count_trainable_params(model)  # embeddings 1,152 + block 3,280 + norm 32 + head 1,024
5488
>>> import numpy as np
>>> tuple(model(np.zeros((2, 8), "int64")).shape)
(2, 8, 64)
"""

from __future__ import annotations

# --8<-- [start:model]
import keras
from keras import layers as L


def _init():
    return keras.initializers.RandomNormal(stddev=0.02, seed=None)


class Block(keras.layers.Layer):
    def __init__(self, d_model: int, heads: int, **kwargs):
        super().__init__(**kwargs)
        self.norm1 = L.LayerNormalization(epsilon=1e-5)
        # query/key/value/output projections with biases, as the PyTorch twin's four Linears
        self.attention = L.MultiHeadAttention(heads, key_dim=d_model // heads, kernel_initializer=_init())
        self.norm2 = L.LayerNormalization(epsilon=1e-5)
        self.fc1 = L.Dense(4 * d_model, kernel_initializer=_init())
        self.fc2 = L.Dense(d_model, kernel_initializer=_init())

    def call(self, x, training=False):
        h = self.norm1(x)
        x = x + self.attention(h, h, h, use_causal_mask=True, training=training)
        return x + self.fc2(keras.activations.gelu(self.fc1(self.norm2(x)), approximate=False))


class TransformerLM(keras.Model):
    def __init__(self, vocab_size: int, seq_len: int, d_model: int, heads: int, layers: int, **kwargs):
        super().__init__(**kwargs)
        self.tokens = L.Embedding(vocab_size, d_model, embeddings_initializer=_init())
        self.positions = L.Embedding(seq_len, d_model, embeddings_initializer=_init())
        self.blocks = [Block(d_model, heads) for _ in range(layers)]
        self.norm = L.LayerNormalization(epsilon=1e-5)
        self.head = L.Dense(vocab_size, use_bias=False, kernel_initializer=_init())  # untied

    def call(self, ids, training=False):
        positions = keras.ops.arange(keras.ops.shape(ids)[1])
        x = self.tokens(ids) + self.positions(positions)
        for block in self.blocks:
            x = block(x, training=training)
        return self.head(self.norm(x))  # next-token logits, (B, T, vocab)


def build_model(vocab_size: int, seq_len: int, d_model: int, heads: int, layers: int) -> TransformerLM:
    model = TransformerLM(vocab_size, seq_len, d_model, heads, layers)
    model(keras.ops.zeros((1, seq_len), "int32"))  # create the weights
    return model
# --8<-- [end:model]


def count_trainable_params(model: keras.Model) -> int:
    return sum(int(w.numpy().size) for w in model.trainable_weights)


if __name__ == "__main__":
    model = build_model(vocab_size=4096, seq_len=128, d_model=256, heads=4, layers=4)
    print(f"trainable parameters: {count_trainable_params(model):,}")
    print("logits shape:", tuple(model(keras.ops.zeros((1, 128), "int32")).shape))
