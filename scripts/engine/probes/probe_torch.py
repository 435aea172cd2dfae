"""What PyTorch sees in this interpreter: one JSON line (see engine/probes/__init__.py).

Run by the engine as ``<torch env python> scripts/engine/probes/probe_torch.py``.
It imports torch only; on a GPU it runs one small convolution so cuDNN (loaded
lazily) shows up among the loaded libraries.
"""

from __future__ import annotations

if __package__:  # imported as engine.probes.* (the test suite collects its doctests)
    from engine.probes import _common
else:  # run as a script by the engine: its own folder is on sys.path
    import _common


def probe() -> dict:
    report = _common.base("torch")
    try:
        import torch
    except BaseException as error:  # noqa: BLE001 - report any import failure as data
        return _common.failed(report, error)
    report["version"] = torch.__version__
    report["cuda_build"] = torch.version.cuda  # None for a CPU wheel
    report["threads"] = torch.get_num_threads()
    report["cudnn"] = None
    report["nccl"] = None
    try:
        available = torch.cuda.is_available()
    except BaseException as error:  # noqa: BLE001
        available = False
        report["cuda_error"] = f"{type(error).__name__}: {error}"
    report["device"] = "cuda" if available else "cpu"
    report["devices"] = []
    report["tf32_default"] = {"matmul": torch.backends.cuda.matmul.allow_tf32,
                              "cudnn": torch.backends.cudnn.allow_tf32}
    if not available:
        report["bf16"] = None  # decided from CPU flags by the engine
        report["tf32"] = False
        return report
    try:
        for index in range(torch.cuda.device_count()):
            props = torch.cuda.get_device_properties(index)
            report["devices"].append({"name": props.name, "compute_capability": [props.major, props.minor],
                                      "memory_bytes": props.total_memory})
        report["bf16"] = bool(torch.cuda.is_bf16_supported())
        report["tf32"] = tuple(report["devices"][0]["compute_capability"]) >= (8, 0)
        report["cudnn"] = torch.backends.cudnn.version()
        try:
            report["nccl"] = ".".join(str(x) for x in torch.cuda.nccl.version())
        except Exception as error:  # noqa: BLE001 - a build without NCCL
            report["nccl"] = None
            report["nccl_error"] = str(error)
        x = torch.randn(2, 3, 8, 8, device="cuda")
        torch.nn.functional.conv2d(x, torch.randn(4, 3, 3, 3, device="cuda"))
        torch.cuda.synchronize()
    except BaseException as error:  # noqa: BLE001
        _common.failed(report, error)
    return report


if __name__ == "__main__":
    _common.finish(probe(), "tensorflow")
