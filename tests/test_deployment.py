"""Deployment round trips: every exported artifact reloads and reproduces the eager model.

Each framework runs in its own subprocess. A first process trains the shared
CNN briefly, exports every artifact the Deployment page shows and saves the
eager logits; a second, fresh process that never imports the guide's model
code loads the portable artifacts (torch.export, ONNX, TorchScript,
SavedModel, LiteRT) and must reproduce those logits.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
ENV = dict(
    os.environ,
    PYTHONPATH=os.pathsep.join([str(ROOT / "snippets"), str(ROOT / "scripts")]),
    TF_CPP_MIN_LOG_LEVEL="2",
    KERAS_BACKEND="tensorflow",
)
FP32_TOLERANCE = 1e-4

EXPORT = """
    import json, sys
    from pathlib import Path
    import numpy as np
    from deployment.export_roundtrip_{fw} import round_trip, trained_model_and_batch
    folder = Path(sys.argv[1])
    model, X = trained_model_and_batch(train_steps=20)
    rows, notes = round_trip(model, X, folder, repeats=3)
    np.save(folder / "X.npy", X)
    np.save(folder / "expected.npy", {expected})
    print(json.dumps({{"rows": [vars(r) for r in rows], "notes": notes}}))
"""

# Fresh processes that load the artifacts with the runtimes only: no build_model().
RELOAD = {
    "torch": """
        import sys
        from pathlib import Path
        import numpy as np, torch, onnxruntime as ort
        folder = Path(sys.argv[1])
        X = np.load(folder / "X.npy")
        assert "common.cnn_torch" not in sys.modules
        with torch.no_grad():
            outputs = {
                "torch.export": torch.export.load(folder / "cnn.pt2").module()(torch.from_numpy(X)).numpy(),
                "TorchScript": torch.jit.load(folder / "cnn_scripted.pt")(torch.from_numpy(X)).numpy(),
            }
        session = ort.InferenceSession(str(folder / "cnn.onnx"), providers=["CPUExecutionProvider"])
        outputs["ONNX"] = session.run(None, {session.get_inputs()[0].name: X})[0]
        from executorch.runtime import Runtime  # the on-device runtime's Python bindings
        method = Runtime.get().load_program(folder / "cnn.pte").load_method("forward")
        outputs["ExecuTorch"] = np.concatenate([method.execute([torch.tensor(x[None])])[0].numpy() for x in X])
        np.savez(folder / "reloaded.npz", **outputs)
    """,
    "tf": """
        import sys
        from pathlib import Path
        import numpy as np, tensorflow as tf
        from ai_edge_litert.interpreter import Interpreter
        folder = Path(sys.argv[1])
        X = np.load(folder / "X.npy")
        assert "common.cnn_tf" not in sys.modules
        # Keep the loaded object alive: its variables go when it does.
        loaded = tf.saved_model.load(str(folder / "cnn_savedmodel"))
        outputs = {"SavedModel": loaded.serve(X).numpy()}
        for name in ("cnn.tflite", "cnn_int8.tflite"):
            interpreter = Interpreter(model_path=str(folder / name))
            source = interpreter.get_input_details()[0]
            interpreter.resize_tensor_input(source["index"], X.shape)
            interpreter.allocate_tensors()
            interpreter.set_tensor(source["index"], X)
            interpreter.invoke()
            outputs[name] = interpreter.get_tensor(interpreter.get_output_details()[0]["index"])
        np.savez(folder / "reloaded.npz", **outputs)
    """,
}
EXPECTED = {
    "torch": "model(__import__('torch').from_numpy(X)).detach().numpy()",
    "tf": "model(X, training=False).numpy()",
}


def run_python(code: str, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


@pytest.fixture(scope="module", params=["torch", "tf"])
def exported(request, tmp_path_factory):
    framework = request.param
    folder = tmp_path_factory.mktemp(f"export_{framework}")
    stdout = run_python(EXPORT.format(fw=framework, expected=EXPECTED[framework]), str(folder))
    report = json.loads(stdout.strip().splitlines()[-1])
    return framework, folder, report


def test_in_process_round_trip_matches_eager(exported):
    framework, _, report = exported
    rows = {row["artifact"]: row for row in report["rows"]}
    assert len(rows) == (5 if framework == "torch" else 4)
    if framework == "torch":
        assert "ExecuTorch (.pte)" in rows
    for name, row in rows.items():
        assert row["size_bytes"] > 34_826 // 4, name  # at least the weights, even at int8
        assert row["load_ms"] > 0 and row["latency_ms"] > 0, name
        if "int8" in name:
            # Quantizing the weights changes the logits, but not the predictions much.
            assert 0 < row["max_abs_diff"] < 1.0, name
            assert row["top1_agreement"] >= 0.9, name
        else:
            assert row["max_abs_diff"] < FP32_TOLERANCE, name
            assert row["top1_agreement"] == 1.0, name


def test_fresh_process_reload_matches_eager(exported):
    framework, folder, _ = exported
    run_python(RELOAD[framework], str(folder))
    expected = np.load(folder / "expected.npy")
    reloaded = np.load(folder / "reloaded.npz")
    assert len(reloaded.files) == (4 if framework == "torch" else 3)
    for name in reloaded.files:
        got = reloaded[name]
        assert got.shape == expected.shape == (64, 10), name
        tolerance = 1.0 if "int8" in name else FP32_TOLERANCE
        assert np.max(np.abs(got - expected)) < tolerance, name
        assert np.mean(got.argmax(1) == expected.argmax(1)) >= (0.9 if "int8" in name else 1.0), name


def test_notes_report_what_ran(exported):
    framework, _, report = exported
    if framework == "torch":
        assert report["notes"][0].startswith("ONNX: ")
        assert report["notes"][1].startswith("torch.jit.script warned: ")
        assert report["notes"][2].startswith("ExecuTorch: 1 subgraph(s) delegated to XNNPACK")
    else:
        assert report["notes"][0].startswith("tf.lite.TFLiteConverter warned: ")
        assert "serving_default" in report["notes"][1]  # the signature TF Serving calls by default


def test_serving_request_is_checked_against_the_signature(tmp_path):
    """The PredictRequest the page shows is accepted; each kind of mistake is refused."""
    code = """
        import json, sys
        from pathlib import Path
        import tensorflow as tf
        from deployment.export_roundtrip_tf import build_request, check_request, serving_request, trained_model_and_batch
        folder = Path(sys.argv[1])
        model, X = trained_model_and_batch(train_steps=2)
        request, problems, base = serving_request(folder, model, X[:4])
        signature = tf.saved_model.load(str(base / "1")).signatures["serving_default"]
        name = next(iter(request.inputs))
        report = {
            "good": problems,
            "files": sorted(p.name for p in (base / "1").iterdir()),
            "wrong_name": check_request(build_request(X[:4], "images"), signature),
            "wrong_dtype": check_request(build_request(X[:4].astype("float64"), name), signature),
            "wrong_shape": check_request(build_request(X[:4, :, :, 0], name), signature),
        }
        print(json.dumps(report))
    """
    report = json.loads(run_python(code, str(tmp_path)).strip().splitlines()[-1])
    assert report["good"] == []
    assert "saved_model.pb" in report["files"]  # models/<name>/<version>/, the layout the server reads
    assert any("'images' is not in the signature" in p for p in report["wrong_name"])
    assert any("is missing" in p for p in report["wrong_name"])
    assert report["wrong_dtype"] and "dtype float64" in report["wrong_dtype"][0]
    assert report["wrong_shape"] and "does not fit" in report["wrong_shape"][0]
