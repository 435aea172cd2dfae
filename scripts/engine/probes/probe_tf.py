"""What TensorFlow sees in this interpreter: one JSON line (see engine/probes/__init__.py).

Run by the engine as ``<tf env python> scripts/engine/probes/probe_tf.py``.
It imports TensorFlow only, turns on memory growth before any op (so the probe
never reserves the whole card), and on a GPU runs one small convolution so
cuDNN shows up among the loaded libraries.
"""

from __future__ import annotations

import os

if __package__:  # imported as engine.probes.* (the test suite collects its doctests)
    from engine.probes import _common
else:  # run as a script by the engine: its own folder is on sys.path
    import _common

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ["TF_FORCE_GPU_ALLOW_GROWTH"] = "true"


def probe() -> dict:
    report = _common.base("tf")
    try:
        import tensorflow as tf
    except BaseException as error:  # noqa: BLE001
        return _common.failed(report, error)
    report["version"] = tf.__version__
    info = dict(tf.sysconfig.get_build_info())
    report["cuda_build"] = info.get("cuda_version") if info.get("is_cuda_build") else None
    report["cudnn"] = info.get("cudnn_version") if info.get("is_cuda_build") else None
    # TensorFlow does not expose NCCL's version; the doctor reads it from the wheel and the loaded library.
    report["nccl"] = next((v for k, v in report["cuda_wheels"].items() if k.startswith("nvidia-nccl")), None)
    report["threads"] = tf.config.threading.get_intra_op_parallelism_threads()
    try:
        gpus = tf.config.list_physical_devices("GPU")
        for gpu in gpus:
            tf.config.experimental.set_memory_growth(gpu, True)
    except BaseException as error:  # noqa: BLE001
        gpus = []
        report["cuda_error"] = f"{type(error).__name__}: {error}"
    report["device"] = "cuda" if gpus else "cpu"
    report["devices"] = []
    report["tf32_default"] = {"matmul": tf.config.experimental.tensor_float_32_execution_enabled()}
    if not gpus:
        report["bf16"] = None
        report["tf32"] = False
        return report
    try:
        for gpu in gpus:
            details = tf.config.experimental.get_device_details(gpu)
            report["devices"].append({"name": details.get("device_name", gpu.name),
                                      "compute_capability": list(details.get("compute_capability", (0, 0)))})
        cc = tuple(report["devices"][0]["compute_capability"])
        report["bf16"] = report["tf32"] = cc >= (8, 0)
        with tf.device("/GPU:0"):
            tf.nn.conv2d(tf.random.normal((2, 8, 8, 3)), tf.random.normal((3, 3, 3, 4)), 1, "SAME").numpy()
    except BaseException as error:  # noqa: BLE001
        _common.failed(report, error)
    return report


if __name__ == "__main__":
    _common.finish(probe(), "torch")
