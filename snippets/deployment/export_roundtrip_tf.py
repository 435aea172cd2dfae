"""Export the guide's CNN from TensorFlow, load each artifact back, and compare it with eager.

Four artifacts: a native Keras file (``.keras``, needs Keras to load), a
SavedModel (what TF Serving loads), and LiteRT (formerly TF Lite) flatbuffers,
float32 and with dynamic-range int8 weights, run by the ``ai-edge-litert``
interpreter. For each: size on disk, load time, warm latency for one image,
and the largest difference from the eager model's logits. Then the request a
TF Serving client sends (``tensorflow-serving-api``'s ``PredictRequest``),
built and checked against the SavedModel's signature. The doctest runs the
round trip with few repeats:

>>> import tempfile
>>> model, X = trained_model_and_batch(train_steps=2)
>>> rows, notes = round_trip(model, X, Path(tempfile.mkdtemp()), repeats=3)
>>> [row.artifact for row in rows]
['Keras (.keras)', 'SavedModel (dir)', 'LiteRT fp32 (.tflite)', 'LiteRT int8 weights (.tflite)']
>>> all(row.max_abs_diff < 1e-4 and row.top1_agreement == 1.0 for row in rows[:3])
True
>>> rows[3].size_bytes < rows[2].size_bytes / 2  # int8 weights: about a quarter of fp32
True
>>> request, problems, _ = serving_request(Path(tempfile.mkdtemp()), model, X[:3])
>>> problems, request.model_spec.signature_name
([], 'serving_default')
>>> [p.split(": ", 1)[1] for p in serving_request(Path(tempfile.mkdtemp()), model, X[:3, :14])[1]]  # a wrong shape
["shape (3, 14, 28, 1) does not fit the signature's (None, 28, 28, 1)"]
"""

from __future__ import annotations

import os
import statistics
import time
import warnings
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from ai_edge_litert.interpreter import Interpreter
from tensorflow_serving.apis import predict_pb2

from common.artifacts import Row, load_and_time, print_table
from common.cnn_tf import build_model
from common.data import load_dataset
from common.outputs import output_dir

device = "gpu" if tf.config.list_physical_devices("GPU") else "cpu"  # TF places ops itself
batch_size = 64  # images compared for parity; latency is timed on one image
seed = 0
threads = 1  # one request, one core, in every runtime: equal, and steady on a busy machine


def trained_model_and_batch(train_steps: int = 60) -> tuple[keras.Model, np.ndarray]:
    """The shared CNN after a short training run, and a batch of real test images."""
    keras.utils.set_random_seed(seed)
    data = load_dataset()
    X_train = data.x_train[..., None]
    y_train = data.y_train
    model = build_model()
    optimizer = keras.optimizers.Adam(learning_rate=1e-3, epsilon=1e-7)
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    order = np.random.default_rng(seed).permutation(len(X_train))
    for step in range(train_steps):
        idx = order[(step * batch_size) % len(order) :][:batch_size]
        with tf.GradientTape() as tape:
            loss = loss_fn(y_train[idx], model(X_train[idx], training=True))
        optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables, strict=True))
    X = data.x_test[:batch_size, ..., None]  # (64, 28, 28, 1) float32, channels last
    return model, X


# --8<-- [start:measure]
def sync(result) -> None:
    if isinstance(result, tf.Tensor):
        result.numpy()  # materialize: TF may still be running the op asynchronously


def median_ms(fn, repeats: int) -> float:
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        sync(fn())
        samples.append((time.perf_counter() - start) * 1e3)
    return statistics.median(samples)


def size_on_disk(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) if path.is_dir() else path.stat().st_size
# --8<-- [end:measure]


def litert_runner(interpreter: Interpreter, X: np.ndarray) -> np.ndarray:
    """Run a LiteRT interpreter on a batch, resizing its input when the batch size changes."""
    source = interpreter.get_input_details()[0]
    if tuple(source["shape"]) != X.shape:
        interpreter.resize_tensor_input(source["index"], X.shape)
        interpreter.allocate_tensors()
    interpreter.set_tensor(source["index"], X)
    interpreter.invoke()
    return interpreter.get_tensor(interpreter.get_output_details()[0]["index"])


def round_trip(model: keras.Model, X: np.ndarray, folder: Path, repeats: int = 50) -> tuple[list[Row], list[str]]:
    folder.mkdir(parents=True, exist_ok=True)
    expected = model(X, training=False).numpy()
    paths = {name: folder / name for name in ("cnn.keras", "cnn_savedmodel", "cnn.tflite", "cnn_int8.tflite")}

    # --8<-- [start:export]
    model.save(paths["cnn.keras"])  # Keras' own format: architecture + weights, needs Keras to load

    model.export(paths["cnn_savedmodel"], format="tf_saved_model", verbose=False)  # TF Serving's format

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        converter = tf.lite.TFLiteConverter.from_saved_model(str(paths["cnn_savedmodel"]))
        paths["cnn.tflite"].write_bytes(converter.convert())
        converter.optimizations = [tf.lite.Optimize.DEFAULT]  # int8 weights, float activations
        paths["cnn_int8.tflite"].write_bytes(converter.convert())
    # --8<-- [end:export]
    deprecations = sorted({str(w.message).splitlines()[0] for w in caught if issubclass(w.category, (DeprecationWarning, FutureWarning, UserWarning))})
    signatures = sorted(tf.saved_model.load(str(paths["cnn_savedmodel"])).signatures)
    notes = [
        "tf.lite.TFLiteConverter warned: " + (deprecations[0] if deprecations else "nothing"),
        "SavedModel signatures (what TF Serving can call): " + ", ".join(signatures),
    ]

    # --8<-- [start:load]
    def load_litert(file):
        interpreter = Interpreter(model_path=str(paths[file]), num_threads=threads)  # ai-edge-litert
        interpreter.allocate_tensors()
        return interpreter

    loaders = {  # artifact -> (file, load it, run it on a numpy batch)
        "Keras (.keras)": ("cnn.keras", lambda: keras.models.load_model(paths["cnn.keras"]), None),
        "SavedModel (dir)": (
            "cnn_savedmodel",
            lambda: tf.saved_model.load(str(paths["cnn_savedmodel"])),
            lambda loaded, X: loaded.serve(X).numpy(),  # the endpoint model.export() wrote
        ),
        "LiteRT fp32 (.tflite)": ("cnn.tflite", lambda: load_litert("cnn.tflite"), litert_runner),
        "LiteRT int8 weights (.tflite)": ("cnn_int8.tflite", lambda: load_litert("cnn_int8.tflite"), litert_runner),
    }
    # --8<-- [end:load]

    def run_keras(loaded, X):
        return loaded(X, training=False).numpy()

    rows = []
    for artifact, (file, load, run) in loaders.items():
        run = run or run_keras
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


def eager_latency_ms(model: keras.Model, X: np.ndarray, repeats: int = 50) -> float:
    one_image = tf.constant(X[:1])
    for _ in range(10):
        model(one_image, training=False)
    return median_ms(lambda: model(one_image, training=False), repeats)


# --8<-- [start:serving]
def build_request(X: np.ndarray, input_name: str) -> predict_pb2.PredictRequest:
    request = predict_pb2.PredictRequest()  # what a gRPC client sends to TF Serving's Predict
    request.model_spec.name = "cnn"  # the server's --model_name
    request.model_spec.signature_name = "serving_default"
    request.inputs[input_name].CopyFrom(tf.make_tensor_proto(X))
    return request


def check_request(request: predict_pb2.PredictRequest, signature) -> list[str]:
    """What the server would reject: unknown inputs, missing ones, wrong dtype or shape."""
    _, expected = signature.structured_input_signature  # {name: tf.TensorSpec}
    problems = [f"input {name!r} is not in the signature" for name in request.inputs if name not in expected]
    for name, spec in expected.items():
        if name not in request.inputs:
            problems.append(f"input {name!r} is missing")
            continue
        proto = request.inputs[name]
        shape = tuple(dim.size for dim in proto.tensor_shape.dim)
        if tf.dtypes.as_dtype(proto.dtype) != spec.dtype:
            problems.append(f"input {name!r}: dtype {tf.dtypes.as_dtype(proto.dtype).name}, signature wants {spec.dtype.name}")
        if not spec.shape.is_compatible_with(shape):
            problems.append(f"input {name!r}: shape {shape} does not fit the signature's {tuple(spec.shape)}")
    return problems
# --8<-- [end:serving]


def serving_request(folder: Path, model: keras.Model, X: np.ndarray):
    """Lay out a TF Serving model folder, build a request for it and check it against the signature."""
    base = folder / "serving" / "cnn"
    model.export(base / "1", format="tf_saved_model", verbose=False)  # one numbered folder per version
    loaded = tf.saved_model.load(str(base / "1"))
    signature = loaded.signatures["serving_default"]
    input_name = next(iter(signature.structured_input_signature[1]))
    request = build_request(X, input_name)
    problems = check_request(request, signature)
    if not problems:  # what the server would compute from this request, run here in-process
        inputs = {name: tf.make_ndarray(proto) for name, proto in request.inputs.items()}
        got = next(iter(signature(**inputs).values())).numpy()
        if np.max(np.abs(got - model(X, training=False).numpy())) > 1e-4:
            problems.append("the signature's outputs differ from the model's")
    return request, problems, base


if __name__ == "__main__":
    repeats = 50
    tf.config.threading.set_intra_op_parallelism_threads(threads)  # before TF runs any op
    tf.config.threading.set_inter_op_parallelism_threads(threads)
    print(f"tensorflow {tf.__version__}, keras {keras.__version__} on {device}; "
          f"{threads} CPU thread per runtime ({os.cpu_count()} visible)")
    model, X = trained_model_and_batch()
    rows, notes = round_trip(model, X, output_dir() / "artifacts", repeats=repeats)
    print("\n".join(notes))
    print(f"parity on {len(X)} real test images; load = median of 3 loads; latency = median of {repeats} calls")
    print_table(rows, eager_latency_ms(model, X, repeats), repeats, name_width=31)
    request, problems, base = serving_request(output_dir(), model, X[:8])
    spec = request.inputs[next(iter(request.inputs))]
    print(f"\nTF Serving PredictRequest for model {request.model_spec.name!r}, "
          f"signature {request.model_spec.signature_name!r}: input {next(iter(request.inputs))!r}, "
          f"{tf.dtypes.as_dtype(spec.dtype).name}, shape {[d.size for d in spec.tensor_shape.dim]}, "
          f"{request.ByteSize():,} bytes serialized")
    print("checked against the exported signature: " + ("accepted, outputs match the model" if not problems else "; ".join(problems)))
    print("server (not run here: a separate C++ binary, or the tensorflow/serving Docker image):")
    print(f"  tensorflow_model_server --port=8500 --rest_api_port=8501 --model_name=cnn "
          f"--model_base_path=$PWD/{base.relative_to(output_dir()).as_posix()}")
    assert not problems, problems
