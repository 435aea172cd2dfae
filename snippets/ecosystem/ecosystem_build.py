"""The Ecosystem page's build steps (the engine finds them here: ``engine.pages``).

The first two read what this folder's snippets wrote, after they ran: the
TensorBoard chart and tag table, then the library training loops beside the
hand-written ones. The third runs the TFX pipeline in TFX's own environment
(``.venv-tfx``) and renders what its ML Metadata store recorded.

>>> [step.__module__.rsplit(".", 1)[-1] for step in BUILD_STEPS]
['tensorboard_curves', 'trainer_runs', 'tfx_runs']
"""

from __future__ import annotations

from ecosystem import tensorboard_curves, tfx_runs, trainer_runs

BUILD_STEPS = [tensorboard_curves.refresh, trainer_runs.refresh, tfx_runs.refresh]
