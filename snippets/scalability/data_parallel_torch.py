"""Data-parallel training of the shared CNN with ``torch.distributed`` (DDP).

The script launches itself as 1 and then 2 local worker processes. Each worker
trains its own replica of the guide's CNN on its shard of the digits; DDP
averages the gradients across workers after every backward pass (gloo on CPU,
NCCL when every worker gets its own CUDA device). The parent prints time,
samples/s (from the median step time) and scaling efficiency per
configuration, and checks that all replicas finish with bit-identical weights.

Each worker always uses the same number of threads, so the only thing that
changes between configurations is the number of workers. On a 2-core machine
that measures the mechanism (process group, gradient all-reduce), not
multi-GPU scaling.

>>> scaling_efficiency({1: 100.0, 2: 150.0})
{1: 1.0, 2: 0.75}
>>> ports = free_ports(3)
>>> len(set(ports)) == 3 and all(1024 <= port <= 65535 for port in ports)
True
>>> import torch
>>> same = {"w": torch.ones(3)}
>>> max_weight_difference([same, {"w": torch.ones(3)}])
0.0
>>> max_weight_difference([same, {"w": torch.tensor([1.0, 1.0, 1.5])}])
0.5

Run it: ``python snippets/scalability/data_parallel_torch.py``.
"""

# guide: exclusive  (it measures scaling: the build runs it alone, with every core)

from __future__ import annotations

import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import nn
from torch.nn.parallel import DistributedDataParallel as DDP
from torch.utils.data import DataLoader, TensorDataset
from torch.utils.data.distributed import DistributedSampler

from common.cnn_torch import build_model
from common.data import load_dataset
from common.outputs import output_dir
from common.scaling import free_ports, scaling_efficiency, threads_per_worker, timing_lock

WORKER_COUNTS = (1, 2)
batch_size = 64  # per worker: the global batch grows with the workers (weak scaling)
WARMUP_STEPS = 5
TIMED_STEPS = 100


def max_weight_difference(states: list[dict[str, torch.Tensor]]) -> float:
    """Largest absolute difference between any replica's weights and the first's."""
    first = states[0]
    return max(
        (float((state[name] - first[name]).abs().max()) for state in states[1:] for name in first),
        default=0.0,
    )


# --8<-- [start:train_step]
def train_step(model, optimizer, loss_fn, X, y):
    optimizer.zero_grad(set_to_none=True)
    loss = loss_fn(model(X), y)
    loss.backward()  # DDP all-reduces (averages) the gradients here, bucket by bucket
    optimizer.step()  # every replica applies the same averaged gradient
    return loss.detach()
# --8<-- [end:train_step]


def endless(loader, sampler):
    """Batches from the sharded loader, epoch after epoch, reshuffled each epoch."""
    epoch = 0
    while True:
        sampler.set_epoch(epoch)  # same permutation on every worker, different shards
        yield from loader
        epoch += 1


def train_worker(rank: int, world_size: int, port: int, result_dir: str, threads: int) -> None:
    torch.set_num_threads(threads)
    # --8<-- [start:setup]
    os.environ["MASTER_ADDR"] = "127.0.0.1"
    os.environ["MASTER_PORT"] = str(port)
    use_cuda = torch.cuda.is_available() and torch.cuda.device_count() >= world_size
    if use_cuda:  # one GPU per worker; NCCL moves the gradients GPU to GPU
        torch.cuda.set_device(rank)
    device = torch.device(f"cuda:{rank}" if use_cuda else "cpu")
    dist.init_process_group("nccl" if use_cuda else "gloo", rank=rank, world_size=world_size)
    # --8<-- [end:setup]

    data = load_dataset()
    train_set = TensorDataset(torch.from_numpy(data.x_train).unsqueeze(1), torch.from_numpy(data.y_train))
    torch.manual_seed(rank)  # deliberately different start: DDP must fix it

    # --8<-- [start:model]
    model = DDP(build_model().to(device), device_ids=[rank] if use_cuda else None)
    # DDP broadcast rank 0's weights at construction, so all replicas start equal.
    # --8<-- [end:model]
    # --8<-- [start:data]
    sampler = DistributedSampler(train_set, num_replicas=world_size, rank=rank, shuffle=True, seed=0)
    loader = DataLoader(train_set, batch_size=batch_size, sampler=sampler, drop_last=True)
    # --8<-- [end:data]
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)  # Keras' epsilon
    loss_fn = nn.CrossEntropyLoss()
    batches = endless(loader, sampler)

    def run(steps: int) -> tuple[list[float], list[float]]:
        losses, step_seconds = [], []
        for _ in range(steps):
            start = time.perf_counter()
            X, y = next(batches)
            loss = float(train_step(model, optimizer, loss_fn, X.to(device), y.to(device)))  # waits for the step
            step_seconds.append(time.perf_counter() - start)
            losses.append(loss)
        return losses, step_seconds

    first_losses, _ = run(WARMUP_STEPS)
    dist.barrier()  # start together
    last_losses, step_seconds = run(TIMED_STEPS)

    # The mean loss over all workers' last batches.
    final_loss = torch.tensor(last_losses[-1], device=device)
    dist.all_reduce(final_loss, op=dist.ReduceOp.SUM)
    final_loss = float(final_loss) / world_size

    state = {name: tensor.cpu() for name, tensor in model.module.state_dict().items()}
    torch.save(state, Path(result_dir) / f"weights_rank{rank}.pt")
    if rank == 0:
        summary = {
            "workers": world_size,
            "backend": dist.get_backend(),
            "device": device.type,
            "threads_per_worker": threads,
            "global_batch": batch_size * world_size,
            "timed_steps": TIMED_STEPS,
            "seconds": sum(step_seconds),
            "median_step_ms": 1e3 * statistics.median(step_seconds),
            "samples_per_s": batch_size * world_size / statistics.median(step_seconds),
            "first_loss": first_losses[0],
            "final_loss": final_loss,
        }
        (Path(result_dir) / "summary.json").write_text(json.dumps(summary))
    # Leave together: a rank tearing gloo down while its peer still talks to it
    # aborts the peer ("terminate called without an active exception").
    dist.barrier()
    dist.destroy_process_group()


# --8<-- [start:launch]
def launch(world_size: int, threads: int) -> dict:
    (port,) = free_ports(1)
    with tempfile.TemporaryDirectory() as result_dir:
        # One process per worker; each calls train_worker(rank, ...).
        mp.spawn(train_worker, args=(world_size, port, result_dir, threads), nprocs=world_size, join=True)
        # --8<-- [end:launch]
        summary = json.loads((Path(result_dir) / "summary.json").read_text())
        states = [
            torch.load(Path(result_dir) / f"weights_rank{rank}.pt", weights_only=True)
            for rank in range(world_size)
        ]
    summary["max_weight_difference"] = max_weight_difference(states)
    return summary


def main() -> None:
    threads = threads_per_worker(max(WORKER_COUNTS))
    # Child processes inherit this: no OpenMP pool bigger than the worker's share.
    os.environ["OMP_NUM_THREADS"] = str(threads)
    print(load_dataset().summary())
    print(f"torch {torch.__version__}; {threads} thread(s) per worker; "
          f"batch {batch_size} per worker; {WARMUP_STEPS} warm-up + {TIMED_STEPS} timed steps")
    with timing_lock():
        results = [launch(world_size, threads) for world_size in WORKER_COUNTS]
    efficiency = scaling_efficiency({r["workers"]: r["samples_per_s"] for r in results})

    print()
    print(f"{'workers':>7}  {'backend/device':<14} {'batch':>5} {'step ms':>7} {'samples/s':>9} "
          f"{'efficiency':>10}  {'loss first→last':<15} {'max |Δw|':>8}")
    for r in results:
        print(f"{r['workers']:>7}  {r['backend'] + '/' + r['device']:<14} {r['global_batch']:>5} "
              f"{r['median_step_ms']:>7.2f} {r['samples_per_s']:>9.0f} {efficiency[r['workers']]:>10.2f}  "
              f"{r['first_loss']:.3f}→{r['final_loss']:<9.3f} {r['max_weight_difference']:>8.1e}")
    for r in results:
        assert r["max_weight_difference"] == 0.0, f"replicas diverged with {r['workers']} workers"
    print()
    print("Replicas identical after training in every configuration: True")

    out = output_dir() / "data_parallel_torch.json"
    out.write_text(json.dumps({"results": results, "efficiency": efficiency}, indent=2))


if __name__ == "__main__":
    main()
