"""Real text for the Transformer: Python's own help topics, tokenized by a rule anyone can repeat.

``pydoc_data.topics`` ships with every CPython, so the text is the same on
every builder and needs no download. Tokens are lower-cased words, numbers
and single punctuation marks; the vocabulary is every distinct token, most
frequent first (ties alphabetical), after ``<unk>`` at id 0. Synthetic ids
(uniform over the vocabulary) exist for pure-throughput runs, where the
values do not matter; every page says which one it used.

>>> ids = token_ids()
>>> ids.dtype.name, len(ids) > 100_000, int(ids.min()) >= 0
('int64', True, True)
>>> len(vocabulary()) < 4096  # the model's default vocabulary holds every token
True
>>> x, y = text_batch(2, seq_len=8)
>>> x.shape, bool((x[:, 1:] == y[:, :-1]).all())  # targets are the next tokens
((2, 8), True)
>>> synthetic_token_batch(2, seq_len=8, vocab_size=4096)[0].shape
(2, 8)
"""

from __future__ import annotations

import collections
import functools
import re

import numpy as np

SOURCE = "the English help topics in CPython's pydoc_data.topics"
_TOKEN = re.compile(r"[a-z]+|[0-9]+|[^\sa-z0-9]")


def _tokens() -> list[str]:
    from pydoc_data.topics import topics

    return _TOKEN.findall(" ".join(topics[key] for key in sorted(topics)).lower())


@functools.cache
def vocabulary() -> tuple[str, ...]:
    counts = collections.Counter(_tokens())
    return ("<unk>", *sorted(counts, key=lambda t: (-counts[t], t)))


@functools.cache
def token_ids() -> np.ndarray:
    index = {token: i for i, token in enumerate(vocabulary())}
    return np.array([index[t] for t in _tokens()], dtype=np.int64)


def text_batch(batch_size: int, seq_len: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Windows of the real text at seeded offsets: inputs and next-token targets."""
    ids = token_ids()
    starts = np.random.default_rng(seed).integers(0, len(ids) - seq_len - 1, batch_size)
    windows = np.stack([ids[s:s + seq_len + 1] for s in starts])
    return windows[:, :-1], windows[:, 1:]


def synthetic_token_batch(batch_size: int, seq_len: int, vocab_size: int, seed: int = 0):
    """Uniform random ids: the same shapes and cost, no meaning (throughput only)."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, vocab_size, (batch_size, seq_len + 1), dtype=np.int64)
    return ids[:, :-1], ids[:, 1:]
