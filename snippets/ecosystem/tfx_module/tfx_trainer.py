"""The TFX Trainer's module file: the guide's CNN trained on the tf.Examples that CsvExampleGen wrote.

TFX's Trainer imports this file and calls ``run_fn`` with the paths it chose
(``fn_args``): the train and eval splits' gzipped TFRecord files, and the
folder the SavedModel must be written to. The model is the guide's shared
CNN (``snippets/common/cnn_tf.py``), unchanged.

The exported SavedModel's ``serving_default`` signature takes serialized
``tf.Example`` strings, because that is what TFMA (the Evaluator) and
TF Serving feed it:

>>> import numpy as np, tensorflow as tf
>>> pixels = np.arange(IMAGE_PIXELS) % 256
>>> example = tf.train.Example(features=tf.train.Features(feature={
...     **{name: tf.train.Feature(int64_list=tf.train.Int64List(value=[int(v)]))
...        for name, v in zip(PIXELS, pixels)},
...     LABEL: tf.train.Feature(int64_list=tf.train.Int64List(value=[7]))}))
>>> images = to_images(tf.constant([example.SerializeToString()]))
>>> tuple(images.shape), abs(float(images[0, 0, 1, 0]) - 1 / 255) < 1e-7
((1, 28, 28, 1), True)
"""

from __future__ import annotations

import keras
import tensorflow as tf

from common.cnn_tf import build_model

IMAGE_SIDE = 28
IMAGE_PIXELS = IMAGE_SIDE * IMAGE_SIDE
PIXELS = [f"pixel{i}" for i in range(IMAGE_PIXELS)]  # the CSV's columns, row by row
LABEL = "label"
FEATURES = {name: tf.io.FixedLenFeature([], tf.int64) for name in [*PIXELS, LABEL]}


# --8<-- [start:trainer]
def to_images(serialized: tf.Tensor) -> tf.Tensor:
    """Serialized tf.Examples to the (N, 28, 28, 1) floats in [0, 1] the CNN takes."""
    parsed = tf.io.parse_example(serialized, {name: FEATURES[name] for name in PIXELS})
    pixels = tf.cast(tf.stack([parsed[name] for name in PIXELS], axis=-1), tf.float32) / 255.0
    return tf.reshape(pixels, [-1, IMAGE_SIDE, IMAGE_SIDE, 1])


def dataset(patterns: list[str], batch_size: int) -> tf.data.Dataset:
    """(images, labels) batches from the split's files (TFX passes glob patterns)."""
    files = sorted(name for pattern in patterns for name in tf.io.gfile.glob(pattern))
    records = tf.data.TFRecordDataset(files, compression_type="GZIP").batch(batch_size)
    return records.map(lambda s: (to_images(s), tf.io.parse_example(s, {LABEL: FEATURES[LABEL]})[LABEL]))


def run_fn(fn_args) -> None:
    """Called by TFX's Trainer: train, then write a SavedModel to ``fn_args.serving_model_dir``."""
    epochs, batch_size = fn_args.custom_config["epochs"], fn_args.custom_config["batch_size"]
    keras.utils.set_random_seed(0)
    model = build_model()  # the guide's CNN, from snippets/common/cnn_tf.py
    model.compile(optimizer=keras.optimizers.Adam(1e-3),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    train = dataset(fn_args.train_files, batch_size)
    model.fit(train, validation_data=dataset(fn_args.eval_files, batch_size), epochs=epochs, verbose=2)

    # A serving signature on serialized tf.Examples, what the Evaluator and TF Serving send.
    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint(
        "serving_default",
        lambda serialized: {"probabilities": keras.ops.softmax(model(to_images(serialized), training=False))},
        input_signature=[tf.TensorSpec([None], tf.string, name="examples")],
    )
    archive.write_out(fn_args.serving_model_dir)
# --8<-- [end:trainer]
