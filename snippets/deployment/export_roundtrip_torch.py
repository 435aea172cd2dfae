"""Export the guide's CNN from PyTorch, load each artifact back, and compare it with eager.

Five artifacts: a ``state_dict`` checkpoint (needs the Python class to load),
a ``torch.export`` program (``.pt2``), ONNX run by ONNX Runtime, TorchScript
(deprecated in favour of ``torch.export``), and an ExecuTorch program
(``.pte``, PyTorch's on-device format, lowered to the XNNPACK backend) run by
the ExecuTorch runtime's Python bindings. For each: size on disk,
load time, warm latency for one image, and the largest difference from the
eager model's logits. The doctest runs the round trip with few repeats:

>>> import tempfile
>>> model, X = trained_model_and_batch(train_steps=2)
>>> folder = Path(tempfile.mkdtemp())
>>> rows, notes = round_trip(model, X, folder, repeats=3)
>>> [row.artifact for row in rows]
['state_dict (.pt)', 'torch.export (.pt2)', 'ONNX (.onnx)', 'TorchScript (.pt)', 'ExecuTorch (.pte)']
>>> all(row.max_abs_diff < 1e-4 and row.top1_agreement == 1.0 for row in rows)
True
>>> all(row.size_bytes > 34_826 * 4 for row in rows)  # every artifact holds the fp32 weights
True
>>> check_request({"images": X[:3]}, folder / "cnn.onnx")
[]
>>> check_request({"images": X[:3, :, :14]}, folder / "cnn.onnx")  # a wrong shape
["input 'images': shape (3, 1, 14, 28) does not fit the model's ['batch', 1, 28, 28]"]
"""

from __future__ import annotations

import copy
import os
import statistics
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner
from executorch.exir import to_edge_transform_and_lower
from executorch.extension.pybindings.portable_lib import _unsafe_reset_threadpool
from executorch.runtime import Runtime
from torch import nn

from common.artifacts import Row, load_and_time, print_table
from common.cnn_torch import build_model
from common.data import load_dataset
from common.outputs import output_dir

device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
batch_size = 64  # images compared for parity; latency is timed on one image
seed = 0
threads = 1  # one request, one core, in every runtime: equal, and steady on a busy machine


def trained_model_and_batch(train_steps: int = 60) -> tuple[nn.Module, np.ndarray]:
    """The shared CNN after a short training run, and a batch of real test images."""
    torch.manual_seed(seed)
    data = load_dataset()
    X_train = torch.from_numpy(data.x_train).unsqueeze(1)
    y_train = torch.from_numpy(data.y_train)
    model = build_model()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    order = np.random.default_rng(seed).permutation(len(X_train))
    for step in range(train_steps):
        idx = order[(step * batch_size) % len(order) :][:batch_size]
        loss = nn.functional.cross_entropy(model(X_train[idx]), y_train[idx])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    X = data.x_test[:batch_size, None]  # (64, 1, 28, 28) float32, channels first
    return model.eval().to(device), X


# --8<-- [start:measure]
def sync() -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()  # CUDA calls return before the work is done


def median_ms(fn, repeats: int) -> float:
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        sync()
        samples.append((time.perf_counter() - start) * 1e3)
    return statistics.median(samples)


def size_on_disk(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) if path.is_dir() else path.stat().st_size
# --8<-- [end:measure]


def onnx_export(model: nn.Module, example: torch.Tensor, path: Path) -> str:
    """ONNX export; the torch.export-based exporter needs the onnxscript package."""
    try:
        import onnxscript  # noqa: F401
    except ImportError:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the legacy exporter warns that it is legacy
            torch.onnx.export(
                model, (example,), str(path), dynamo=False,
                input_names=["images"], output_names=["logits"],
                dynamic_axes={"images": {0: "batch"}, "logits": {0: "batch"}},
            )
        return "legacy TorchScript-based exporter (dynamo=False): onnxscript is not installed"
    torch.onnx.export(
        model, (example,), str(path), dynamo=True,
        input_names=["images"], output_names=["logits"],
        dynamic_shapes=({0: torch.export.Dim("batch", max=4096)},),
        external_data=False,  # weights inside the .onnx file, not in a side file
        verbose=False,
    )
    return "torch.export-based exporter (dynamo=True)"


def round_trip(model: nn.Module, X: np.ndarray, folder: Path, repeats: int = 50) -> tuple[list[Row], list[str]]:
    import onnxruntime as ort

    folder.mkdir(parents=True, exist_ok=True)
    X_tensor = torch.from_numpy(X).to(device)
    example = X_tensor[:2]
    with torch.no_grad():
        expected = model(X_tensor).cpu().numpy()
    paths = {name: folder / name for name in ("cnn_state.pt", "cnn.pt2", "cnn.onnx", "cnn_scripted.pt", "cnn.pte")}

    # --8<-- [start:export]
    torch.save(model.state_dict(), paths["cnn_state.pt"])  # weights only: needs build_model() to load

    batch = torch.export.Dim("batch", max=4096)  # any batch size, not just the example's
    exported = torch.export.export(model, (example,), dynamic_shapes=({0: batch},))
    torch.export.save(exported, paths["cnn.pt2"])

    onnx_exporter = onnx_export(model, example, paths["cnn.onnx"])

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        scripted = torch.jit.script(model)  # compiles the Python code to TorchScript
        scripted.save(paths["cnn_scripted.pt"])

    # ExecuTorch: the same torch.export graph, lowered for a device runtime, which plans
    # its memory ahead of time: here for one image per call, as an app on a phone sends.
    one_image = example[:1].cpu().clone(memory_format=torch.contiguous_format)  # numpy's new axis has stride 0
    on_device = torch.export.export(copy.deepcopy(model).cpu(), (one_image,))
    lowered = to_edge_transform_and_lower(on_device, partitioner=[XnnpackPartitioner()])
    paths["cnn.pte"].write_bytes(lowered.to_executorch().buffer)
    # --8<-- [end:export]
    deprecations = sorted({str(w.message) for w in caught if issubclass(w.category, (DeprecationWarning, FutureWarning, UserWarning))})
    delegated = sum(1 for node in lowered.exported_program().graph.nodes if "executorch_call_delegate" in str(node.target))
    notes = [
        f"ONNX: {onnx_exporter}",
        "torch.jit.script warned: " + (deprecations[0] if deprecations else "nothing"),
        f"ExecuTorch: {delegated} subgraph(s) delegated to XNNPACK; planned for 1 image a call (parity: {len(X)} calls)",
    ]

    # --8<-- [start:load]
    providers = [p for p in ("CUDAExecutionProvider", "CPUExecutionProvider") if p in ort.get_available_providers()]
    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = threads

    def load_state_dict():
        fresh = build_model().to(device).eval()
        fresh.load_state_dict(torch.load(paths["cnn_state.pt"], map_location=device, weights_only=True))
        return fresh

    loaders = {  # artifact -> (file, load it, run it on a numpy batch)
        "state_dict (.pt)": ("cnn_state.pt", load_state_dict, None),
        "torch.export (.pt2)": ("cnn.pt2", lambda: torch.export.load(paths["cnn.pt2"]).module(), None),
        "ONNX (.onnx)": (
            "cnn.onnx",
            lambda: ort.InferenceSession(str(paths["cnn.onnx"]), options, providers=providers),
            lambda session, X: session.run(["logits"], {"images": X})[0],
        ),
        "TorchScript (.pt)": ("cnn_scripted.pt", lambda: torch.jit.load(paths["cnn_scripted.pt"], map_location=device), None),
        "ExecuTorch (.pte)": (  # the ExecuTorch runtime: C++, on the CPU, with Python bindings
            "cnn.pte",
            lambda: Runtime.get().load_program(paths["cnn.pte"]).load_method("forward"),
            lambda method, X: np.concatenate([method.execute([torch.tensor(x[None])])[0].numpy() for x in X]),
        ),
    }
    # --8<-- [end:load]

    def run_torch(module, X):
        with torch.no_grad():
            return module(torch.from_numpy(X).to(device)).cpu().numpy()

    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.jit.load repeats its deprecation warning
        for artifact, (file, load, run) in loaders.items():
            run = run or run_torch
            got, load_ms, latency_ms = load_and_time(load, run, X, repeats, median_ms)
            rows.append(Row(
                artifact=artifact,
                size_bytes=size_on_disk(paths[file]),
                load_ms=load_ms,
                latency_ms=latency_ms,
                max_abs_diff=float(np.max(np.abs(got - expected))),
                top1_agreement=float(np.mean(got.argmax(1) == expected.argmax(1))),
            ))
    return rows, notes


# --8<-- [start:serving]
def check_request(inputs: dict[str, np.ndarray], onnx_path: Path) -> list[str]:
    """What a server loading this ONNX file would reject: unknown or missing inputs, dtype, shape."""
    import onnxruntime as ort

    declared = {i.name: i for i in ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"]).get_inputs()}
    problems = [f"input {name!r} is not in the model" for name in inputs if name not in declared]
    for name, spec in declared.items():
        if name not in inputs:
            problems.append(f"input {name!r} is missing")
            continue
        array = inputs[name]
        if spec.type != "tensor(float)" or array.dtype != np.float32:
            problems.append(f"input {name!r}: dtype {array.dtype}, the model wants {spec.type}")
        fits = len(spec.shape) == array.ndim and all(
            isinstance(want, str) or want == got for want, got in zip(spec.shape, array.shape, strict=True))  # str: a free dim
        if not fits:
            problems.append(f"input {name!r}: shape {array.shape} does not fit the model's {spec.shape}")
    return problems
# --8<-- [end:serving]


def eager_latency_ms(model: nn.Module, X: np.ndarray, repeats: int = 50) -> float:
    one_image = torch.from_numpy(X[:1]).to(device)
    with torch.no_grad():
        for _ in range(10):
            model(one_image)
        return median_ms(lambda: model(one_image), repeats)


if __name__ == "__main__":
    repeats = 50
    torch.set_num_threads(threads)
    _unsafe_reset_threadpool(threads)  # ExecuTorch's XNNPACK threadpool, one thread like the rest
    print(f"torch {torch.__version__} on {device}; {threads} CPU thread per runtime ({os.cpu_count()} visible)")
    model, X = trained_model_and_batch()
    rows, notes = round_trip(model, X, output_dir() / "artifacts", repeats=repeats)
    print("\n".join(notes))
    print(f"parity on {len(X)} real test images; load = median of 3 loads; latency = median of {repeats} calls")
    print_table(rows, eager_latency_ms(model, X, repeats), repeats, name_width=22)
    problems = check_request({"images": X[:8]}, output_dir() / "artifacts" / "cnn.onnx")
    print("\nA request of 8 images checked against the ONNX model's declared inputs: "
          + ("accepted" if not problems else "; ".join(problems)))
    print("PyTorch has no maintained first-party server (TorchServe is archived); an ONNX file like this one "
          "is what general-purpose model servers load")
    assert not problems, problems
