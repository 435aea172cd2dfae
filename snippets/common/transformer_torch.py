"""A decoder-only Transformer language model in PyTorch, the twin of ``transformer_tf.py``.

Token and position embeddings, ``layers`` pre-norm blocks (causal multi-head
self-attention through ``scaled_dot_product_attention``, then a GELU MLP four
times as wide), a final LayerNorm and an untied output head. Every weight is
drawn from N(0, 0.02) with zero biases, the same initializers as the Keras
twin, and LayerNorm uses epsilon 1e-5 on both sides.

>>> model = build_model(vocab_size=64, seq_len=8, d_model=16, heads=2, layers=1)
>>> count_trainable_params(model)  # embeddings 1,152 + block 3,280 + norm 32 + head 1,024
5488
>>> tuple(model(torch.zeros(2, 8, dtype=torch.long)).shape)
(2, 8, 64)
"""

from __future__ import annotations

# --8<-- [start:model]
import torch
import torch.nn.functional as F
from torch import nn


class Block(nn.Module):
    def __init__(self, d_model: int, heads: int):
        super().__init__()
        self.heads = heads
        self.norm1 = nn.LayerNorm(d_model, eps=1e-5)
        self.query = nn.Linear(d_model, d_model)
        self.key = nn.Linear(d_model, d_model)
        self.value = nn.Linear(d_model, d_model)
        self.out = nn.Linear(d_model, d_model)
        self.norm2 = nn.LayerNorm(d_model, eps=1e-5)
        self.fc1 = nn.Linear(d_model, 4 * d_model)
        self.fc2 = nn.Linear(4 * d_model, d_model)

    def forward(self, x):
        B, T, D = x.shape
        h = self.norm1(x)
        # (B, T, D) -> (B, heads, T, head_dim), the layout scaled_dot_product_attention takes
        q, k, v = (proj(h).view(B, T, self.heads, D // self.heads).transpose(1, 2)
                   for proj in (self.query, self.key, self.value))
        attended = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.out(attended.transpose(1, 2).reshape(B, T, D))
        return x + self.fc2(F.gelu(self.fc1(self.norm2(x))))


class TransformerLM(nn.Module):
    def __init__(self, vocab_size: int, seq_len: int, d_model: int, heads: int, layers: int):
        super().__init__()
        self.tokens = nn.Embedding(vocab_size, d_model)
        self.positions = nn.Embedding(seq_len, d_model)
        self.blocks = nn.ModuleList(Block(d_model, heads) for _ in range(layers))
        self.norm = nn.LayerNorm(d_model, eps=1e-5)
        self.head = nn.Linear(d_model, vocab_size, bias=False)  # untied from the token embedding

    def forward(self, ids):
        positions = torch.arange(ids.shape[1], device=ids.device)
        x = self.tokens(ids) + self.positions(positions)
        for block in self.blocks:
            x = block(x)
        return self.head(self.norm(x))  # next-token logits, (B, T, vocab)


def build_model(vocab_size: int, seq_len: int, d_model: int, heads: int, layers: int) -> TransformerLM:
    model = TransformerLM(vocab_size, seq_len, d_model, heads, layers)
    for module in model.modules():  # N(0, 0.02) weights, zero biases: the Keras twin's initializers
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, std=0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)
    return model
# --8<-- [end:model]


def count_trainable_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


if __name__ == "__main__":
    model = build_model(vocab_size=4096, seq_len=128, d_model=256, heads=4, layers=4)
    print(f"trainable parameters: {count_trainable_params(model):,}")
    print("logits shape:", tuple(model(torch.zeros(1, 128, dtype=torch.long)).shape))
