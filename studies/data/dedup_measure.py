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


_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc mallopt parameters
_FIXED = [False]


def _fix_malloc_thresholds() -> None:
    """Serve every allocation of 64 KiB or more by its own mmap, returned to the OS when freed. By
    default glibc raises its mmap threshold after the first large free, so later arrays come from the
    heap and freed memory stays resident: the baseline and the peak then depend on what ran before,
    and the dedup-memory fit swung between 0.44 and 2.8 GB from run to run (2026-12-02). Fixing the
    thresholds makes the resident set follow the live arrays; it changes no result, only where
    memory comes from."""
    if _FIXED[0]:
        return
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(_M_MMAP_THRESHOLD, 64 * 1024)
        libc.mallopt(_M_TRIM_THRESHOLD, 64 * 1024)
    except (OSError, AttributeError):
        pass  # not glibc: RSS is still measured, with the allocator's own habits
    _FIXED[0] = True


def _trim() -> None:
    """Hand freed heap memory back to the OS (glibc), so memory freed by an earlier call and kept by
    the allocator neither hides this call's growth nor inflates its baseline."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def measure(fn: Callable[[], Any], *, interval: float = 0.002) -> Measured:
    _fix_malloc_thresholds()
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
