"""The Ecosystem page's build steps (the engine finds them here: ``engine.pages``).

Both read what this folder's snippets wrote, after they ran: the TensorBoard
chart and tag table, then the library training loops beside the hand-written
ones.

>>> [step.__module__.rsplit(".", 1)[-1] for step in BUILD_STEPS]
['tensorboard_curves', 'trainer_runs']
"""

from __future__ import annotations

from ecosystem import tensorboard_curves, trainer_runs

BUILD_STEPS = [tensorboard_curves.refresh, trainer_runs.refresh]
