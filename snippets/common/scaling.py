"""Plumbing for the data-parallel examples that has nothing to do with either framework.

Both ``snippets/scalability`` examples start local worker processes, time them
and compare throughputs; the parts that are plain Python live here once.

>>> scaling_efficiency({1: 100.0, 2: 150.0})
{1: 1.0, 2: 0.75}
>>> ports = free_ports(3)
>>> len(set(ports)) == 3 and all(1024 <= port <= 65535 for port in ports)
True
>>> threads_per_worker(largest_worker_count=2) >= 1
True
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
import tempfile
from pathlib import Path


def free_ports(count: int) -> list[int]:
    """``count`` distinct TCP ports that were free a moment ago (the OS picks them)."""
    sockets = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(count)]
    try:
        for sock in sockets:  # all held open together, so no port is handed out twice
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def scaling_efficiency(samples_per_s: dict[int, float]) -> dict[int, float]:
    """N-worker throughput divided by N times the 1-worker throughput."""
    single = samples_per_s[1]
    return {n: round(rate / (n * single), 4) for n, rate in samples_per_s.items()}


@contextlib.contextmanager
def timing_lock():
    """Held while measuring, so the two distributed examples never run (and time) each other."""
    with open(Path(tempfile.gettempdir()) / "guide-distributed-examples.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def threads_per_worker(largest_worker_count: int) -> int:
    """Cores this process may use, split evenly across the largest worker count."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, cores // largest_worker_count)
