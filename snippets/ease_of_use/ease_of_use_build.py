"""What the Ease-of-use page adds to the build (the engine reads it: ``engine.pages``).

The page shows the shared models (the CNN, the Transformer) beside its own
examples, so its code counts table (``engine.codestats``) counts them first.

>>> from pathlib import Path
>>> all((Path(__file__).parents[1] / f"{pair}_{fw}.py").is_file() for pair in COUNTED_PAIRS for fw in ("torch", "tf"))
True
"""

COUNTED_PAIRS = ("common/cnn", "common/transformer")
