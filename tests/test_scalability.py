"""The scalability page's helpers, and a real two-process DDP run.

The helpers are duplicated on purpose in both snippets of the pair (each file
must read on its own), so every helper test runs against both copies.
"""

from __future__ import annotations

import os
import socket
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

from conftest import load_module

ROOT = Path(__file__).resolve().parents[1]
SNIPPET_DIR = ROOT / "snippets" / "scalability"
for extra in (ROOT / "snippets", ROOT / "scripts"):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))


def _load(stem: str):
    return load_module(SNIPPET_DIR / f"{stem}.py")


@pytest.fixture(scope="module", params=["data_parallel_torch", "data_parallel_tf"])
def snippet(request):
    return _load(request.param)


def test_pair_shares_its_section_names():
    import re

    names = {
        stem: re.findall(r"# --8<-- \[start:(\w+)\]", (SNIPPET_DIR / f"{stem}.py").read_text())
        for stem in ("data_parallel_torch", "data_parallel_tf")
    }
    shared = {"setup", "model", "data", "train_step", "launch"}
    assert shared <= set(names["data_parallel_torch"])
    assert shared <= set(names["data_parallel_tf"])


def test_scaling_efficiency_is_relative_to_n_times_one_worker(snippet):
    assert snippet.scaling_efficiency({1: 200.0, 2: 400.0, 4: 400.0}) == {1: 1.0, 2: 1.0, 4: 0.5}
    # Slower with more workers is allowed, and shows as efficiency below 1/N.
    assert snippet.scaling_efficiency({1: 100.0, 2: 40.0})[2] == pytest.approx(0.2)
    with pytest.raises(KeyError):
        snippet.scaling_efficiency({2: 100.0})  # no single-worker baseline


def test_free_ports_are_distinct_and_bindable(snippet):
    ports = snippet.free_ports(4)
    assert len(set(ports)) == 4
    held = []
    try:
        for port in ports:  # every one can be bound right away (raises if taken)
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", port))
            sock.listen()
            held.append(sock)
        # With those ports held, the OS must hand out different ones.
        assert not set(snippet.free_ports(2)) & set(ports)
    finally:
        for sock in held:
            sock.close()


def test_threads_per_worker_never_oversubscribes(snippet):
    cores = len(os.sched_getaffinity(0))
    threads = snippet.threads_per_worker(max(snippet.WORKER_COUNTS))
    assert threads >= 1
    assert threads * max(snippet.WORKER_COUNTS) <= max(cores, max(snippet.WORKER_COUNTS))


def test_weight_difference_finds_the_one_changed_entry():
    torch_snippet = _load("data_parallel_torch")
    tf_snippet = _load("data_parallel_tf")
    import torch

    base = {"a": torch.zeros(2, 3), "b": torch.ones(4)}
    changed = {"a": torch.zeros(2, 3), "b": torch.tensor([1.0, 1.0, 1.0, 0.75])}
    assert torch_snippet.max_weight_difference([base, dict(base), dict(base)]) == 0.0
    assert torch_snippet.max_weight_difference([base, dict(base), changed]) == 0.25
    as_numpy = [{k: v.numpy() for k, v in s.items()} for s in (base, changed)]
    assert tf_snippet.max_weight_difference(as_numpy) == 0.25
    assert tf_snippet.max_weight_difference(as_numpy[:1]) == 0.0  # one replica: nothing to compare


# --- a real two-process DDP run on a tiny model --------------------------------

LR = 0.1
STEPS = 3


def _tiny_batch(rank: int):
    import torch

    generator = torch.Generator().manual_seed(100 + rank)  # each rank sees different data
    return torch.randn(8, 4, generator=generator), torch.randn(8, 1, generator=generator)


def _tiny_ddp_worker(rank: int, world_size: int, port: int, result_dir: str) -> None:
    import torch
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel as DDP

    torch.set_num_threads(1)
    os.environ["MASTER_ADDR"] = "127.0.0.1"
    os.environ["MASTER_PORT"] = str(port)
    dist.init_process_group("gloo", rank=rank, world_size=world_size)
    torch.manual_seed(rank)  # different initial weights per rank: DDP must broadcast rank 0's
    model = DDP(torch.nn.Linear(4, 1))
    optimizer = torch.optim.SGD(model.parameters(), lr=LR)
    X, y = _tiny_batch(rank)
    for _ in range(STEPS):
        optimizer.zero_grad()
        torch.nn.functional.mse_loss(model(X), y).backward()
        optimizer.step()
    torch.save(model.module.state_dict(), Path(result_dir) / f"rank{rank}.pt")
    dist.barrier()  # leave together, as the snippet does (gloo aborts a peer otherwise)
    dist.destroy_process_group()


def test_two_process_ddp_equals_one_process_on_the_joined_batch():
    import torch
    import torch.multiprocessing as mp

    torch_snippet = _load("data_parallel_torch")
    with tempfile.TemporaryDirectory() as result_dir:
        mp.spawn(_tiny_ddp_worker, args=(2, torch_snippet.free_ports(1)[0], result_dir), nprocs=2, join=True)
        states = [torch.load(Path(result_dir) / f"rank{r}.pt", weights_only=True) for r in range(2)]

    # Replicas agree bit for bit.
    assert torch_snippet.max_weight_difference(states) == 0.0

    # And they equal plain SGD from rank 0's initial weights on both ranks' data:
    # averaging the two shards' mean-loss gradients is the gradient of the joined batch.
    torch.manual_seed(0)
    reference = torch.nn.Linear(4, 1)
    optimizer = torch.optim.SGD(reference.parameters(), lr=LR)
    batches = [_tiny_batch(rank) for rank in range(2)]
    X = torch.cat([b[0] for b in batches])
    y = torch.cat([b[1] for b in batches])
    for _ in range(STEPS):
        optimizer.zero_grad()
        torch.nn.functional.mse_loss(reference(X), y).backward()
        optimizer.step()
    for name, tensor in reference.state_dict().items():
        np.testing.assert_allclose(states[0][name].numpy(), tensor.numpy(), rtol=1e-5, atol=1e-6)



def test_timing_lock_is_shared_by_both_snippets():
    import fcntl

    torch_snippet = _load("data_parallel_torch")
    tf_snippet = _load("data_parallel_tf")
    lock_file = Path(tempfile.gettempdir()) / "guide-distributed-examples.lock"
    with torch_snippet.timing_lock():
        # While one example measures, the other cannot take the lock.
        with open(lock_file, "w") as other, pytest.raises(BlockingIOError):
            fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
    with tf_snippet.timing_lock():  # released on exit, so the twin gets it
        pass


def test_summary_table_renders_both_frameworks_and_flags_divergence():
    from scalability import scalability_build as scalability_summary

    def run(rates, diff=0.0):
        results = [
            {"workers": n, "backend": "gloo", "device": "cpu", "threads_per_worker": 1,
             "global_batch": 64 * n, "median_step_ms": 64 * n / rate * 1e3, "samples_per_s": rate,
             "max_weight_difference": diff if n > 1 else 0.0}
            for n, rate in rates.items()
        ]
        efficiency = {str(n): e for n, e in _load("data_parallel_torch").scaling_efficiency(rates).items()}
        return {"results": results, "efficiency": efficiency}

    text = scalability_summary.render({"A": run({1: 1000.0, 2: 1500.0}), "B": run({1: 500.0, 2: 1000.0}, 0.5)})
    assert text.startswith("<!-- generated by the build")
    rows = [line for line in text.splitlines() if line.startswith("| A") or line.startswith("| B")]
    assert len(rows) == 4
    assert rows[1].split("|")[7].strip() == "0.75"  # A, 2 workers: 1500 / (2 * 1000)
    assert rows[3].split("|")[7].strip() == "1.00"  # B, 2 workers: 1000 / (2 * 500)
    assert rows[1].rstrip().endswith("| yes |")
    assert "no (5.0e-01)" in rows[3]
    assert "| 1,500 |" in rows[1]


def test_summary_step_fails_clearly_without_results(tmp_path, monkeypatch):
    from scalability import scalability_build as scalability_summary

    monkeypatch.setattr(scalability_summary, "result_file", lambda stem: tmp_path / f"{stem}.json")
    with pytest.raises(FileNotFoundError, match="data_parallel_torch.py has not run yet"):
        scalability_summary.refresh("none", __import__("logging").getLogger("t"))
