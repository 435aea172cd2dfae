"""Data-parallel training of the shared CNN with ``tf.distribute.MultiWorkerMirroredStrategy``.

The script launches itself as 1 and then 2 local worker processes, each with
its own ``TF_CONFIG`` naming every worker's ``localhost`` port. Each worker
trains a replica of the guide's CNN on its shard of the digits; the strategy
all-reduces the gradients across workers at every step (ring collectives over
gRPC on CPU, NCCL when every worker has a GPU). The parent prints time,
samples/s (from the median step time) and scaling efficiency per
configuration, and checks that all replicas finish with bit-identical weights.

Each worker always uses the same number of threads, so the only thing that
changes between configurations is the number of workers. On a 2-core machine
that measures the mechanism (cluster setup, gradient all-reduce), not
multi-GPU scaling.

>>> scaling_efficiency({1: 100.0, 2: 150.0})
{1: 1.0, 2: 0.75}
>>> ports = free_ports(3)
>>> len(set(ports)) == 3 and all(1024 <= port <= 65535 for port in ports)
True
>>> import numpy as np
>>> same = {"w": np.ones(3)}
>>> max_weight_difference([same, {"w": np.ones(3)}])
0.0
>>> max_weight_difference([same, {"w": np.array([1.0, 1.0, 1.5])}])
0.5

Run it: ``python snippets/scalability/data_parallel_tf.py``.
"""

# guide: exclusive  (it measures scaling: the build runs it alone, with every core)

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from common.scaling import free_ports, scaling_efficiency, threads_per_worker, timing_lock

WORKER_COUNTS = (1, 2)
batch_size = 64  # per worker: the global batch grows with the workers (weak scaling)
WARMUP_STEPS = 5
TIMED_STEPS = 100
WORKER_TIMEOUT_S = 300


def max_weight_difference(states: list[dict[str, np.ndarray]]) -> float:
    """Largest absolute difference between any replica's weights and the first's."""
    first = states[0]
    return max(
        (float(np.abs(state[name] - first[name]).max()) for state in states[1:] for name in first),
        default=0.0,
    )


def train_worker(rank: int, workers: list[str], result_dir: str, threads: int) -> None:
    # Only worker processes load TensorFlow.
    import keras
    import tensorflow as tf

    from common.cnn_tf import build_model
    from common.data import load_dataset

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)
    world_size = len(workers)
    # --8<-- [start:setup]
    os.environ["TF_CONFIG"] = json.dumps({
        "cluster": {"worker": workers},  # every worker's host:port, the same list everywhere
        "task": {"type": "worker", "index": rank},  # which of them this process is
    })
    gpus = tf.config.list_physical_devices("GPU")
    use_nccl = len(gpus) >= world_size
    if use_nccl:  # one GPU per worker, memory grown on demand instead of grabbed whole
        tf.config.set_visible_devices(gpus[rank], "GPU")
        tf.config.experimental.set_memory_growth(gpus[rank], True)
    communication = tf.distribute.experimental.CommunicationImplementation
    strategy = tf.distribute.MultiWorkerMirroredStrategy(
        communication_options=tf.distribute.experimental.CommunicationOptions(
            implementation=communication.NCCL if use_nccl else communication.RING
        )
    )
    # --8<-- [end:setup]

    data = load_dataset()
    X_train, y_train = data.x_train[..., None], data.y_train
    keras.utils.set_random_seed(rank)  # deliberately different start: the strategy must fix it

    # --8<-- [start:model]
    with strategy.scope():  # variables created here are mirrored on every worker
        model = build_model()
        optimizer = keras.optimizers.Adam(learning_rate=1e-3, epsilon=1e-7)
    # The strategy broadcast worker 0's initial values, so all replicas start equal.
    # --8<-- [end:model]
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction=None)
    global_batch = batch_size * strategy.num_replicas_in_sync

    # --8<-- [start:data]
    def dataset_fn(input_context):
        shard = tf.data.Dataset.from_tensor_slices((X_train, y_train)).shard(
            input_context.num_input_pipelines, input_context.input_pipeline_id
        )
        return shard.shuffle(len(X_train), seed=0).repeat().batch(batch_size, drop_remainder=True)

    batches = iter(strategy.distribute_datasets_from_function(dataset_fn))
    # --8<-- [end:data]

    # --8<-- [start:train_step]
    @tf.function
    def train_step(X, y):
        def replica_step(X, y):
            with tf.GradientTape() as tape:
                per_example = loss_fn(y, model(X, training=True))
                # Divide by the global batch: the all-reduce below sums the replicas.
                loss = tf.nn.compute_average_loss(per_example, global_batch_size=global_batch)
            grads = tape.gradient(loss, model.trainable_variables)
            optimizer.apply_gradients(zip(grads, model.trainable_variables, strict=True))  # all-reduce here
            return loss

        per_replica_loss = strategy.run(replica_step, args=(X, y))
        return strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica_loss, axis=None)
    # --8<-- [end:train_step]

    def run(steps: int) -> tuple[list[float], list[float]]:
        losses, step_seconds = [], []
        for _ in range(steps):
            start = time.perf_counter()
            loss = float(train_step(*next(batches)))  # reading the value waits for the step
            step_seconds.append(time.perf_counter() - start)
            losses.append(loss)
        return losses, step_seconds

    @tf.function
    def all_reduce_one():
        ones = strategy.run(lambda: tf.constant(1.0))
        return strategy.reduce(tf.distribute.ReduceOp.SUM, ones, axis=None)

    first_losses, _ = run(WARMUP_STEPS)
    float(all_reduce_one())  # a tiny all-reduce as a barrier: start together
    last_losses, step_seconds = run(TIMED_STEPS)

    np.savez(Path(result_dir) / f"weights_rank{rank}.npz",
             **{f"{i}:{w.path}": w.numpy() for i, w in enumerate(model.weights)})
    if rank == 0:
        summary = {
            "workers": world_size,
            "versions": f"tensorflow {tf.__version__}, keras {keras.__version__}",
            "backend": "nccl" if use_nccl else "ring (gRPC)",
            "device": "gpu" if use_nccl else "cpu",
            "threads_per_worker": threads,
            "global_batch": global_batch,
            "timed_steps": TIMED_STEPS,
            "seconds": sum(step_seconds),
            "median_step_ms": 1e3 * statistics.median(step_seconds),
            "samples_per_s": global_batch / statistics.median(step_seconds),
            "first_loss": first_losses[0],
            "final_loss": last_losses[-1],  # already the mean over all workers' batches
        }
        (Path(result_dir) / "summary.json").write_text(json.dumps(summary))


# --8<-- [start:launch]
def launch(world_size: int, threads: int) -> dict:
    workers = [f"localhost:{port}" for port in free_ports(world_size)]
    with tempfile.TemporaryDirectory() as result_dir:
        # One process per worker: this same file, told which worker it is.
        procs = [
            subprocess.Popen([sys.executable, __file__, "--worker", str(rank), ",".join(workers),
                              result_dir, str(threads)])
            for rank in range(world_size)
        ]
        # --8<-- [end:launch]
        try:
            codes = [proc.wait(timeout=WORKER_TIMEOUT_S) for proc in procs]
        finally:
            for proc in procs:
                if proc.poll() is None:
                    proc.kill()
        if any(codes):
            raise SystemExit(f"a worker failed with {world_size} workers: exit codes {codes}")
        summary = json.loads((Path(result_dir) / "summary.json").read_text())
        states = []
        for rank in range(world_size):
            with np.load(Path(result_dir) / f"weights_rank{rank}.npz") as npz:
                states.append({name: npz[name] for name in npz.files})
    summary["max_weight_difference"] = max_weight_difference(states)
    return summary


def main() -> None:
    from common.data import load_dataset
    from common.outputs import output_dir

    threads = threads_per_worker(max(WORKER_COUNTS))
    # Workers inherit these: no thread pool bigger than the worker's share, quiet C++ logs.
    os.environ["OMP_NUM_THREADS"] = str(threads)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    print(load_dataset().summary())
    with timing_lock():
        results = [launch(world_size, threads) for world_size in WORKER_COUNTS]
    print(f"{results[0]['versions']}; {threads} thread(s) per worker; "
          f"batch {batch_size} per worker; {WARMUP_STEPS} warm-up + {TIMED_STEPS} timed steps")
    efficiency = scaling_efficiency({r["workers"]: r["samples_per_s"] for r in results})

    print()
    print(f"{'workers':>7}  {'backend/device':<16} {'batch':>5} {'step ms':>7} {'samples/s':>9} "
          f"{'efficiency':>10}  {'loss first→last':<15} {'max |Δw|':>8}")
    for r in results:
        print(f"{r['workers']:>7}  {r['backend'] + '/' + r['device']:<16} {r['global_batch']:>5} "
              f"{r['median_step_ms']:>7.2f} {r['samples_per_s']:>9.0f} {efficiency[r['workers']]:>10.2f}  "
              f"{r['first_loss']:.3f}→{r['final_loss']:<9.3f} {r['max_weight_difference']:>8.1e}")
    for r in results:
        assert r["max_weight_difference"] == 0.0, f"replicas diverged with {r['workers']} workers"
    print()
    print("Replicas identical after training in every configuration: True")

    out = output_dir() / "data_parallel_tf.json"
    out.write_text(json.dumps({"results": results, "efficiency": efficiency}, indent=2))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        rank, workers, result_dir, threads = sys.argv[2:6]
        train_worker(int(rank), workers.split(","), result_dir, int(threads))
    else:
        main()
