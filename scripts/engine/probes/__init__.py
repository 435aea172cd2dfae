"""Device probes: one small script per framework, each run in its own process.

``probe_torch.py`` imports torch and nothing else of note; ``probe_tf.py``
imports TensorFlow and nothing else of note; ``_common.py`` is standard
library only. Each prints one JSON object (schema ``PROBE_SCHEMA``) on its
last stdout line: what that framework sees (device name, CUDA, cuDNN and NCCL
versions, compute capability, bf16/TF32), the CUDA wheels installed in its
environment and which of their files two wheels both claim, and the shared
libraries its process really loaded (``/proc/self/maps``). The engine runs
them under the framework's own interpreter (``engine.environment.probe``).
"""

PROBE_SCHEMA = 1
