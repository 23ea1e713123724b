"""Time and peak memory of one call, for the dedup CLI, benchmarks and the dedup-memory claim.

Peak memory is the process's resident set sampled every ``interval`` seconds by a thread, minus the
resident set just before the call: what the call added on top of its inputs (torch's CPU allocations
are invisible to tracemalloc, so RSS is the honest measure). Allocations that live shorter than the
interval can be missed; 2 ms is far below the life of any N x N or block x block matrix here. On CUDA
the device's peak allocation is reported too."""

from __future__ import annotations

import ctypes
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

import psutil
import torch


@dataclass(frozen=True)
class Measured:
    value: Any
    seconds: float
    peak_bytes: int  # resident set above the baseline at the call's start
    cuda_peak_bytes: int | None = None


def _trim() -> None:
    """Hand freed heap memory back to the OS (glibc), so memory freed by an earlier call and kept by
    the allocator neither hides this call's growth nor inflates its baseline."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def measure(fn: Callable[[], Any], *, interval: float = 0.002) -> Measured:
    _trim()
    proc = psutil.Process()
    base = proc.memory_info().rss
    peak = [base]
    stop = threading.Event()

    def poll() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], proc.memory_info().rss)
            stop.wait(interval)

    cuda = torch.cuda.is_available()
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    thread = threading.Thread(target=poll, daemon=True)
    thread.start()
    t0 = time.perf_counter()
    try:
        value = fn()
    finally:
        seconds = time.perf_counter() - t0
        stop.set()
        thread.join()
    peak[0] = max(peak[0], proc.memory_info().rss)
    return Measured(value, seconds, max(0, peak[0] - base), torch.cuda.max_memory_allocated() if cuda else None)
