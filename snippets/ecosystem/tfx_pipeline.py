"""A minimal TFX pipeline on the digits: CsvExampleGen, Trainer, Evaluator, Pusher, on TFX's local runner.

TensorFlow-only, so not a pair: PyTorch has no first-party counterpart (the
Ecosystem page says what PyTorch users pair instead). It runs in the TFX
environment, ``.venv-tfx`` (``requirements-tfx.txt``): the build step
``ecosystem.tfx_runs`` writes the digits as CSV and starts

    .venv-tfx/bin/python snippets/ecosystem/tfx_pipeline.py DATA_DIR PIPELINE_ROOT [--accuracy-at-least X]

which runs the four components, every artifact and execution recorded in an
ML Metadata store (SQLite, TFX's embedded default) under ``PIPELINE_ROOT``,
then reads that store back and prints it as one JSON line.

``from tfx import v1`` fails in that environment (see requirements-tfx.txt),
so each component is imported from its own module. TFX is imported inside the
functions, so this file also imports in the guide's main environment, where
the doctests run:

>>> relative("/runs/x/Trainer/model/3", "/runs/x")
'Trainer/model/3'
>>> EPOCHS, BATCH_SIZE, ACCURACY_AT_LEAST
(3, 64, 0.8)
"""

from __future__ import annotations

import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
# In a folder of its own: TFX's Trainer packages every .py file beside its module file into a wheel.
TRAINER_MODULE = os.path.join(HERE, "tfx_module", "tfx_trainer.py")
EPOCHS, BATCH_SIZE = 3, 64  # as the TensorBoard and Lightning runs on the Ecosystem page
ACCURACY_AT_LEAST = 0.8  # the Evaluator blesses the model only at this test accuracy or above


# --8<-- [start:pipeline]
def build_pipeline(data_dir: str, root: str, accuracy_at_least: float = ACCURACY_AT_LEAST):
    import tensorflow_model_analysis as tfma
    from tfx.components.evaluator.component import Evaluator
    from tfx.components.example_gen.csv_example_gen.component import CsvExampleGen
    from tfx.components.pusher.component import Pusher
    from tfx.components.trainer.component import Trainer
    from tfx.orchestration import metadata, pipeline
    from tfx.proto import example_gen_pb2, pusher_pb2, trainer_pb2

    # The guide's own train/test split, one CSV folder each (pixels 0-255, then the label).
    splits = example_gen_pb2.Input(splits=[
        example_gen_pb2.Input.Split(name="train", pattern="train/*"),
        example_gen_pb2.Input.Split(name="eval", pattern="eval/*"),
    ])
    example_gen = CsvExampleGen(input_base=data_dir, input_config=splits)

    # Trains the guide's CNN: run_fn in tfx_module/tfx_trainer.py, on the tf.Examples ExampleGen wrote.
    trainer = Trainer(
        module_file=TRAINER_MODULE,
        examples=example_gen.outputs["examples"],
        train_args=trainer_pb2.TrainArgs(),
        eval_args=trainer_pb2.EvalArgs(),
        custom_config={"epochs": EPOCHS, "batch_size": BATCH_SIZE},
    )

    # TFMA computes the accuracy on the eval split; the threshold decides the blessing.
    accuracy = tfma.MetricConfig(
        class_name="SparseCategoricalAccuracy",
        threshold=tfma.MetricThreshold(value_threshold=tfma.GenericValueThreshold(
            lower_bound={"value": accuracy_at_least})),
    )
    evaluator = Evaluator(
        examples=example_gen.outputs["examples"],
        model=trainer.outputs["model"],
        eval_config=tfma.EvalConfig(
            model_specs=[tfma.ModelSpec(label_key="label", signature_name="serving_default",
                                        prediction_key="probabilities")],
            slicing_specs=[tfma.SlicingSpec()],  # the whole eval split, no slices
            metrics_specs=[tfma.MetricsSpec(metrics=[tfma.MetricConfig(class_name="ExampleCount"), accuracy])],
        ),
    )

    # Copies the SavedModel to a serving folder, but only if the Evaluator blessed it.
    pusher = Pusher(
        model=trainer.outputs["model"],
        model_blessing=evaluator.outputs["blessing"],
        push_destination=pusher_pb2.PushDestination(filesystem=pusher_pb2.PushDestination.Filesystem(
            base_directory=os.path.join(root, "serving_model"))),
    )

    return pipeline.Pipeline(
        pipeline_name="digits",
        pipeline_root=root,
        components=[example_gen, trainer, evaluator, pusher],
        metadata_connection_config=metadata.sqlite_metadata_connection_config(os.path.join(root, "metadata.sqlite")),
        beam_pipeline_args=["--direct_running_mode=in_memory", "--direct_num_workers=1"],
    )
# --8<-- [end:pipeline]


def relative(uri: str, root: str) -> str:
    """An artifact's folder as the page shows it: relative to the pipeline root."""
    return os.path.relpath(uri, root)


# --8<-- [start:metadata]
def read_metadata(root: str) -> dict:
    """What the run recorded, read back from its ML Metadata store with ml-metadata's own client."""
    from ml_metadata.metadata_store import metadata_store
    from ml_metadata.proto import metadata_store_pb2
    from tfx.orchestration import metadata

    store = metadata_store.MetadataStore(
        metadata.sqlite_metadata_connection_config(os.path.join(root, "metadata.sqlite")))
    artifact_types = {t.id: t.name for t in store.get_artifact_types()}
    execution_types = {t.id: t.name for t in store.get_execution_types()}
    executions = store.get_executions()
    events = store.get_events_by_execution_ids([e.id for e in executions])
    inputs = {metadata_store_pb2.Event.INPUT}
    outputs = {metadata_store_pb2.Event.OUTPUT}
    return {
        "artifacts": [{
            "id": a.id, "type": artifact_types[a.type_id], "uri": relative(a.uri, root),
            "state": metadata_store_pb2.Artifact.State.Name(a.state),
            "properties": {k: v.int_value for k, v in a.custom_properties.items() if k in ("blessed", "pushed")},
        } for a in store.get_artifacts()],
        "executions": [{
            "id": e.id, "type": execution_types[e.type_id].rsplit(".", 1)[-1],
            "state": metadata_store_pb2.Execution.State.Name(e.last_known_state),
            "inputs": sorted(ev.artifact_id for ev in events if ev.execution_id == e.id and ev.type in inputs),
            "outputs": sorted(ev.artifact_id for ev in events if ev.execution_id == e.id and ev.type in outputs),
        } for e in executions],
        "contexts": len(store.get_contexts()),
    }
# --8<-- [end:metadata]


def evaluated_accuracy(root: str, artifacts: list[dict]) -> float | None:
    """The accuracy TFMA stored in the ModelEvaluation artifact (the whole eval split)."""
    import tensorflow_model_analysis as tfma

    evaluation = next(a for a in artifacts if a["type"] == "ModelEvaluation")
    for per_slice in tfma.load_metrics(os.path.join(root, evaluation["uri"])):
        for key_and_value in per_slice.metric_keys_and_values:
            if key_and_value.key.name == "sparse_categorical_accuracy":
                return round(key_and_value.value.double_value.value, 4)
    return None


def pushed_files(root: str) -> list[str]:
    serving = os.path.join(root, "serving_model")
    return sorted(relative(os.path.join(folder, name), root)
                  for folder, _, names in os.walk(serving) for name in names)


def main(argv: list[str]) -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir")
    parser.add_argument("root")
    parser.add_argument("--accuracy-at-least", type=float, default=ACCURACY_AT_LEAST)
    args = parser.parse_args(argv)
    try:
        from tfx.orchestration.local.local_dag_runner import LocalDagRunner
    except ImportError as error:  # the parent turns this line into a one-line build error
        print(f"TFX_IMPORT_ERROR {type(error).__name__}: {error}", file=sys.stderr)
        sys.exit(3)
    import tfx

    root = os.path.abspath(args.root)
    # --8<-- [start:run]
    started = time.perf_counter()
    LocalDagRunner().run(build_pipeline(os.path.abspath(args.data_dir), root, args.accuracy_at_least))
    seconds = time.perf_counter() - started
    # --8<-- [end:run]
    recorded = read_metadata(root)
    summary = {"tfx": tfx.__version__, "pipeline_seconds": round(seconds, 2),
               "accuracy_at_least": args.accuracy_at_least, "pushed_files": pushed_files(root),
               "accuracy": evaluated_accuracy(root, recorded["artifacts"]), **recorded}
    print(json.dumps(summary, sort_keys=True))


if __name__ == "__main__":
    main(sys.argv[1:])
